#include "husk_component_conformance.h"
int husk_conformance_placeholder;
