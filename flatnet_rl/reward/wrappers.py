"""``FlatnetReward``: a Gymnasium wrapper that rewards what a classifier sees in the image."""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.reward.episodes import EPISODE_KEY, EpisodeTracker
from flatnet_rl.reward.functions import ClassifierRewardModel, Scores
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
        clf = load_classifier(classifier, device=self.reward_spec.device)
        self.reward_model = ClassifierRewardModel.from_spec(clf, self.reward_spec)
        if self.reward_spec.image == "render" and env.render_mode != "rgb_array":
            raise ValueError(
                f"image='render' needs render_mode='rgb_array', got {env.render_mode!r}"
            )
        self.reader = ObservationReader(env.observation_space, clf, self.reward_spec, env)
        self._previous: float | None = None
        self._episode = EpisodeTracker(1)
        self._needs_reset = True

    @property
    def classifier(self) -> Classifier:
        return self.reward_model.classifier

    def _score(self, obs: Any) -> tuple[Scores, Any]:
        if self.reader.from_render:
            image = self.env.render()
        else:
            image = self.reader.image(obs, batched=False)
        batch = self.reader.prepare(image, batched=False)
        return self.reward_model.score_input(batch, self.reader.targets(obs, 1)), image

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self.reader.check_fixed_target(obs, 1)
        scores, _ = self._score(obs)
        self._previous = float(self.reward_model.value(scores)[0])
        self._episode.start(slice(None), scores.p_target)
        self._needs_reset = False
        info["flatnet"] = scores.rows()[0]
        return obs, info

    def step(self, action: Any):
        if self._needs_reset:
            raise gym.error.ResetNeeded(
                "FlatnetReward: the episode ended (or never started): call reset() before step()"
            )
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        scores, image = self._score(obs)
        value = self.reward_model.value(scores)
        over = bool(terminated or truncated)
        learned = float(
            self.reward_model.reward(value, np.array([self._previous]), np.array([over]))[0]
        )
        info["env_reward"] = env_reward
        info["flatnet"] = scores.rows()[0]
        info["flatnet_previous"] = self._previous
        self._previous = float(value[0])
        self._episode.add(np.array([learned]), np.array([float(env_reward)]))
        if over:
            self._needs_reset = True
            info[EPISODE_KEY] = self._episode.finish(
                0, int(scores.targets[0]), float(scores.p_target[0]), np.array(image, copy=True)
            )
        reward: SupportsFloat = float(self.reward_model.total(learned, float(env_reward)))
        return obs, reward, terminated, truncated, info
