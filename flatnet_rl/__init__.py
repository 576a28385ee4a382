"""flatnet-rl: turn an image classifier into a reward model for RL, and show when to trust it.

>>> import gymnasium, flatnet_rl
>>> env = gymnasium.make("FlatnetPaint-v0", target=3)
>>> clf = flatnet_rl.load_classifier("flatnet")
"""

from flatnet_rl._version import __version__
from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.data.images import InputSpec
from flatnet_rl.ensemble import EnsembleClassifier
from flatnet_rl.envs import PaintEnv, register_envs
from flatnet_rl.reward import (
    ClassifierRewardModel,
    FlatnetReward,
    FlatnetRewardVecEnv,
    FlatnetRewardVector,
    RewardSpec,
)

register_envs()

__all__ = [
    "Classifier",
    "ClassifierRewardModel",
    "EnsembleClassifier",
    "FlatnetReward",
    "FlatnetRewardVecEnv",
    "FlatnetRewardVector",
    "InputSpec",
    "PaintEnv",
    "RewardSpec",
    "__version__",
    "load_classifier",
]
