"""IR-SDE Studio: restore photos with a mean-reverting stochastic differential equation."""

__version__ = "0.1.0"
