#include "husk_component_edu.h"
int husk_edu_placeholder;
