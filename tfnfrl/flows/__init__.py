"""Normalizing flows: the conditional flow layer and its bijector pieces."""

from tfnfrl.flows.conditional_flow import BLOCK_TYPES, ConditionalFlow
from tfnfrl.flows.conditioners import CouplingConditioner, MaskedConditioner
from tfnfrl.flows.linear import LULinear

__all__ = ["BLOCK_TYPES", "ConditionalFlow", "CouplingConditioner", "MaskedConditioner", "LULinear"]
