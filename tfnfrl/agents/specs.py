"""What an agent is built for: the sizes and bounds of observations, goals and actions."""

import dataclasses

# OGBench's continuous actions all live in [-1, 1].
ACTION_LOW, ACTION_HIGH = -1.0, 1.0


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Sizes (flat float vectors) of one environment's data, and its action bounds.

    Attributes:
      observation_dim: size of an observation s.
      action_dim: size of an action a.
      goal_dim: size of a goal g the data or env provides (OGBench's goals are observations,
        so this is observation_dim for goal-conditioned data); 0: no goals.
      action_low, action_high: the action box (the same bound on every dimension).
      reward_abs_max: max |r| over the training data's rewards (0 for reward-free data);
        bounds |Q| <= reward_abs_max / (1 - discount) for divergence checks.
    """

    observation_dim: int
    action_dim: int
    goal_dim: int = 0
    action_low: float = ACTION_LOW
    action_high: float = ACTION_HIGH
    reward_abs_max: float = 0.0

    def __post_init__(self):
        for name in ("observation_dim", "action_dim", "goal_dim"):
            value = getattr(self, name)
            minimum = 0 if name == "goal_dim" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
        if not self.action_low < self.action_high:
            raise ValueError(f"Expected action_low < action_high. Received: {self.action_low}, {self.action_high}")

    @classmethod
    def from_dataset(cls, dataset, goal_conditioned=True):
        """The spec of a loaded OGBench dataset dict (goals are observations when goal-conditioned)."""
        observation_dim = int(dataset["observations"].shape[-1])
        rewards = dataset.get("rewards")
        return cls(
            observation_dim=observation_dim,
            action_dim=int(dataset["actions"].shape[-1]),
            goal_dim=observation_dim if goal_conditioned else 0,
            reward_abs_max=float(abs(rewards).max()) if rewards is not None and len(rewards) else 0.0,
        )

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        """Inverse of `to_dict` (unknown keys are refused)."""
        return cls(**values)
