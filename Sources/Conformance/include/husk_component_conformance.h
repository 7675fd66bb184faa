#include <husk/hypercall.h>
