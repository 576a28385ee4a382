"""flatnet-rl: turn an image classifier into a reward model for RL, and show when to trust it.

>>> import gymnasium, flatnet_rl
>>> env = gymnasium.make("FlatnetPaint-v0", target=3)
>>> clf = flatnet_rl.load_classifier("flatnet")

The names below are imported on first use (:mod:`flatnet_rl.util.lazy`), so that importing
the package, and the command line's ``--help``, need no torch.
"""

from flatnet_rl._version import __version__
from flatnet_rl.envs.registration import register_envs
from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.classifier": ("Classifier", "load_classifier"),
        "flatnet_rl.data.images": ("InputSpec",),
        "flatnet_rl.ensemble": ("EnsembleClassifier",),
        "flatnet_rl.envs.paint": ("PaintEnv",),
        "flatnet_rl.reward": (
            "ClassifierRewardModel",
            "FlatnetReward",
            "FlatnetRewardVecEnv",
            "FlatnetRewardVector",
            "RewardSpec",
        ),
    },
)
__all__ += ["__version__", "register_envs"]

register_envs()
