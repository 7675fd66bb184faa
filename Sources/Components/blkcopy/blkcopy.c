#include "husk_component_blkcopy.h"
int husk_blkcopy_placeholder;
