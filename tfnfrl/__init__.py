"""tfnfrl: normalizing flows as policies, Q-functions and occupancy densities for RL."""

__version__ = "0.1.0"
