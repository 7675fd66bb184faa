// Placeholder until the uio backend lands.
import Hypercalls
