#include "husk/glue.h"
int husk_glue_api_placeholder;
