#include "hypbench.h"
int hypbench_placeholder;
