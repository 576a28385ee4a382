"""Rewards from a classifier: the reward spec, the reward model, the env wrappers.

As in ``imitation``, the pieces are separate: :class:`RewardSpec` (options, validated once),
:class:`ClassifierRewardModel` (classifier + mode: scores images, computes rewards),
:class:`~flatnet_rl.reward.observations.ObservationReader` (images and targets out of
observations), and the wrappers that move data between an env and the model while keeping
the env's own reward in ``info["env_reward"]``.
"""

from flatnet_rl.reward.episodes import EPISODE_FIELDS, EPISODE_KEY
from flatnet_rl.reward.functions import ClassifierRewardModel, Scores
from flatnet_rl.reward.observations import ImageWarning, ObservationReader
from flatnet_rl.reward.render import FRAME_KEY, with_render_frames
from flatnet_rl.reward.rollout import RolloutRewardVecEnv, ScoredRollout
from flatnet_rl.reward.spec import MODES, RewardSpec
from flatnet_rl.reward.vector import FlatnetRewardVecEnv, FlatnetRewardVector
from flatnet_rl.reward.wrappers import FlatnetReward

__all__ = [
    "EPISODE_FIELDS",
    "EPISODE_KEY",
    "FRAME_KEY",
    "MODES",
    "ClassifierRewardModel",
    "FlatnetReward",
    "FlatnetRewardVecEnv",
    "FlatnetRewardVector",
    "ImageWarning",
    "ObservationReader",
    "RewardSpec",
    "RolloutRewardVecEnv",
    "Scores",
    "ScoredRollout",
    "with_render_frames",
]
