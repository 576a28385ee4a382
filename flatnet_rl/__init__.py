"""flatnet-rl: turn an image classifier into a reward model for RL, and show when to trust it.

>>> import gymnasium, flatnet_rl
>>> env = gymnasium.make("FlatnetPaint-v0", target=3)
>>> clf = flatnet_rl.load_classifier("flatnet")
"""

__version__ = "0.1.0"

from flatnet_rl.classifier import Classifier, load_classifier  # noqa: E402
from flatnet_rl.envs import PaintEnv, register_envs  # noqa: E402
from flatnet_rl.reward import (  # noqa: E402
    ClassifierRewardModel,
    FlatnetReward,
    FlatnetRewardVecEnv,
    FlatnetRewardVector,
)

register_envs()

__all__ = [
    "Classifier",
    "ClassifierRewardModel",
    "FlatnetReward",
    "FlatnetRewardVecEnv",
    "FlatnetRewardVector",
    "PaintEnv",
    "__version__",
    "load_classifier",
]
