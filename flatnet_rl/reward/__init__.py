"""Rewards from a classifier: reward functions, the env wrapper, vectorized wrappers."""

from flatnet_rl.reward.functions import MODES, ClassifierRewardModel, RewardFn, Scores
from flatnet_rl.reward.vector import FlatnetRewardVecEnv, FlatnetRewardVector
from flatnet_rl.reward.wrappers import FlatnetReward

__all__ = [
    "MODES",
    "ClassifierRewardModel",
    "FlatnetReward",
    "FlatnetRewardVecEnv",
    "FlatnetRewardVector",
    "RewardFn",
    "Scores",
]
