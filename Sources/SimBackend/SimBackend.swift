// Placeholder until the sim backend lands.
import Hypercalls
