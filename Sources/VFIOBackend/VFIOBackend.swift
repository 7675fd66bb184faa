// Placeholder until the vfio backend lands.
import Hypercalls
