"""The paint-env policies by name: what presets and ``--hyperparams '{"policy": ...}'`` take."""

from __future__ import annotations

from stable_baselines3.common.policies import ActorCriticPolicy

from flatnet_rl.agents.policies import MaskedMLPPolicy, PenMLPPolicy
from flatnet_rl.agents.spatial import StrokeMapPolicy

POLICIES: dict[str, type[ActorCriticPolicy]] = {
    "masked_mlp": MaskedMLPPolicy,
    "pen_mlp": PenMLPPolicy,
    "stroke_map": StrokeMapPolicy,
}
