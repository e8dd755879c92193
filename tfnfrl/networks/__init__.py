"""Networks: encoders, Q-function ensembles and the interchangeable policy heads.

Every head implements `PolicyHead` (`log_prob`, `sample`, `mode`, `training_loss`), so an
agent swaps a Gaussian, a normalizing flow or a flow-matching policy by name alone.
"""

from tfnfrl.networks.critic import CriticEnsemble
from tfnfrl.networks.encoders import ConditionEncoder
from tfnfrl.networks.flow_head import FlowHead
from tfnfrl.networks.flow_matching_head import FlowMatchingHead, VelocityField
from tfnfrl.networks.gaussian_head import GaussianHead
from tfnfrl.networks.mlp import MLP
from tfnfrl.networks.policy_head import PolicyHead
from tfnfrl.networks.tanh_gaussian import TanhGaussianActor, Temperature

# Head name (an agent config's `head.type`) -> class; every other `head` key is a
# constructor argument of that class.
HEADS = {
    "flow": FlowHead,
    "gaussian": GaussianHead,
    "flow_matching": FlowMatchingHead,
}


def make_head(head_type, action_dim, context_dim, **kwargs):
    """Build the policy head `head_type` ("flow", "gaussian", "flow_matching")."""
    if head_type not in HEADS:
        raise ValueError(f"Unknown policy head {head_type!r}; expected one of {sorted(HEADS)}.")
    return HEADS[head_type](action_dim=action_dim, context_dim=context_dim, **kwargs)


__all__ = [
    "HEADS",
    "MLP",
    "ConditionEncoder",
    "CriticEnsemble",
    "FlowHead",
    "FlowMatchingHead",
    "GaussianHead",
    "PolicyHead",
    "TanhGaussianActor",
    "Temperature",
    "VelocityField",
    "make_head",
]
