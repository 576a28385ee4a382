"""``FlatnetReward``: a Gymnasium wrapper that rewards what a classifier sees in the image."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from flatnet_rl.classifier import Classifier
from flatnet_rl.reward.batched import BatchedReward, one_row
from flatnet_rl.reward.episodes import EPISODE_KEY
from flatnet_rl.reward.functions import ClassifierRewardModel
from flatnet_rl.reward.observations import ObservationReader
from flatnet_rl.reward.spec import RewardSpec


class FlatnetReward(gym.Wrapper):
    """Replace (or add to) an env's reward with a classifier's opinion of its image.

    The image comes from the observation (``image="auto"``: a Dict's ``"canvas"``/``"image"``
    entry, or the observation itself), an observation key, or ``render()`` frames; grey or
    RGB, any layout and size. It becomes the classifier's input through the classifier's
    own declared preprocessing (:class:`~flatnet_rl.data.images.InputSpec`), with the value
    range the observation space declares.

    Options (keyword arguments, validated once by :class:`~flatnet_rl.reward.RewardSpec`;
    or pass ``spec=RewardSpec(...)``): ``target``, ``mode`` (default ``delta``),
    ``image``, ``env_reward_weight``, ``gamma``, ``threshold``, ``invert``,
    ``value_range``, ``device``.

    Info: ``info["env_reward"]`` always holds the wrapped env's own reward and
    ``info["flatnet"]`` the scores of the current image (``p_target``, ``probs``,
    ``entropy``, ``predicted``, ``target``); when an episode ends,
    ``info["flatnet_episode"]`` holds its record (:mod:`flatnet_rl.reward.episodes`).
    Put ``Monitor`` *above* this wrapper to log the learned return.

    Example:
        >>> from flatnet_rl.envs import PaintEnv
        >>> env = FlatnetReward(PaintEnv(target=3), "flatnet", mode="delta")
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(27)
        >>> round(info["flatnet"]["p_target"] - reward, 6) == round(info["flatnet_previous"], 6)
        True

    Raises:
        ValueError: bad options, a judge as classifier, no image in the observation, or a
            fixed target that disagrees with the observation's target (at reset).
        flatnet_rl.data.CanvasError: at reset/step, an image that cannot be converted
            (wrong rank or channels, NaN, values outside the declared range).
        gymnasium.error.ResetNeeded: ``step`` after the episode ended, before ``reset``.
    """

    def __init__(
        self,
        env: gym.Env,
        classifier: Classifier | str = "flatnet",
        *,
        spec: RewardSpec | None = None,
        **options: Any,
    ) -> None:
        super().__init__(env)
        self.reward_spec = RewardSpec.from_options(spec, options)
        if self.reward_spec.image == "render" and env.render_mode != "rgb_array":
            raise ValueError(
                f"image='render' needs render_mode='rgb_array', got {env.render_mode!r}"
            )
        # One env is a batch of one: the same reader, model, potentials and episode sums as
        # the vector wrappers, so the rewards agree with theirs by construction.
        self.batch = BatchedReward(env.observation_space, 1, classifier, self.reward_spec, env)
        self._needs_reset = True

    @property
    def reward_model(self) -> ClassifierRewardModel:
        return self.batch.model

    @property
    def reader(self) -> ObservationReader:
        return self.batch.reader

    @property
    def classifier(self) -> Classifier:
        return self.batch.model.classifier

    def _frames(self) -> np.ndarray | None:
        return np.asarray(self.env.render())[None] if self.reader.from_render else None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        scores = self.batch.reset(one_row(obs), 1, frames=self._frames())
        self._needs_reset = False
        info["flatnet"] = scores.rows()[0]
        return obs, info

    def step(self, action: Any):
        if self._needs_reset:
            raise gym.error.ResetNeeded(
                "FlatnetReward: the episode ended (or never started): call reset() before step()"
            )
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        scores, images = self.batch.score(one_row(obs), 1, frames=self._frames())
        over = bool(terminated or truncated)
        info["env_reward"] = env_reward
        info["flatnet"] = scores.rows()[0]
        info["flatnet_previous"] = float(self.batch.previous[0])
        # The episode ends here (no autoreset): its last observation also stands for the next
        # start, which reset() scores anew.
        rewards, ended = self.batch.advance(
            scores, scores, images, np.flatnonzero([over]), np.array([float(env_reward)])
        )
        if over:
            self._needs_reset = True
            info[EPISODE_KEY] = ended[0][1]
        reward: SupportsFloat = float(self.reward_model.total(float(rewards[0]), float(env_reward)))
        return obs, reward, terminated, truncated, info
