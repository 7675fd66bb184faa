import Hypercalls
