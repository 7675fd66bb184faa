/* placeholder */
#ifndef HUSK_GLUE_H
#define HUSK_GLUE_H
#include <husk/hypercall.h>
#endif
