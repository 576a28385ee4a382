"""Rewards from a classifier: the reward spec, the reward model, the env wrappers.

As in ``imitation``, the pieces are separate: :class:`RewardSpec` (options, validated once),
:class:`ClassifierRewardModel` (classifier + mode: scores images, computes rewards),
:class:`~flatnet_rl.reward.observations.ObservationReader` (images and targets out of
observations), and the wrappers that move data between an env and the model while keeping
the env's own reward in ``info["env_reward"]``.

Names are imported on first use (:mod:`flatnet_rl.util.lazy`): the command line reads
the config dataclasses without torch.
"""

from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.reward.episodes": ("EPISODE_FIELDS", "EPISODE_KEY"),
        "flatnet_rl.reward.functions": ("ClassifierRewardModel", "Scores"),
        "flatnet_rl.reward.observations": ("ImageWarning", "ObservationReader"),
        "flatnet_rl.reward.render": ("FRAME_KEY", "with_render_frames"),
        "flatnet_rl.reward.rollout": ("RolloutRewardVecEnv", "ScoredRollout"),
        "flatnet_rl.reward.spec": ("MODES", "RewardSpec"),
        "flatnet_rl.reward.vector": ("FlatnetRewardVecEnv", "FlatnetRewardVector"),
        "flatnet_rl.reward.wrappers": ("FlatnetReward",),
    },
)
