"""``FlatnetReward``: a Gymnasium wrapper that rewards what a classifier sees in the image."""

from __future__ import annotations

from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from flatnet_rl.classifier import Classifier
from flatnet_rl.reward.functions import ClassifierRewardModel, Scores
from flatnet_rl.reward.sources import ImageSpec, ObservationReader, TargetSpec


class FlatnetReward(gym.Wrapper):
    """Replace (or add to) an env's reward with a classifier's opinion of its image.

    The image comes from the observation (``image="auto"``: a Dict's ``"canvas"``, or the
    observation itself), an observation key, or ``render()`` frames; RGB or grey, uint8 or
    float, any size. It is converted to the classifier's binary canvas by
    :func:`flatnet_rl.data.frames_to_canvas` (grey, antialiased resize, threshold).

    Reward: see :mod:`flatnet_rl.reward.functions` for the modes (default ``delta``,
    potential-based shaping with ``Phi = p_target``). ``env_reward_weight`` adds the wrapped
    env's own reward. ``info["env_reward"]`` always holds the wrapped env's reward and
    ``info["flatnet"]`` the scores of the current image (``p_target``, ``probs``,
    ``entropy``, ``predicted``, ``target``); at the episode's end
    ``info["flatnet_episode"]`` holds the summed learned reward and the final/initial
    ``p_target``.

    Example:
        >>> import flatnet_rl
        >>> from flatnet_rl.envs import PaintEnv
        >>> env = FlatnetReward(PaintEnv(target=3), "flatnet", mode="delta")
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(27)
        >>> round(info["flatnet"]["p_target"] - reward, 6) == round(info["flatnet_previous"], 6)
        True

    Raises:
        ValueError: unknown mode, bad target, no image in the observation, or a classifier
            whose canvas differs from an env canvas that is not meant to be resized.
        flatnet_rl.data.CanvasError: at reset/step, an image that cannot be converted
            (wrong rank, NaN, out-of-range values): never a silent wrong reward.
    """

    def __init__(
        self,
        env: gym.Env,
        classifier: Classifier | str = "flatnet",
        *,
        target: TargetSpec = None,
        mode: str = "delta",
        image: ImageSpec = "auto",
        env_reward_weight: float = 0.0,
        gamma: float = 1.0,
        threshold: float = 0.5,
        invert: bool | Literal["auto"] = "auto",
        device: str = "auto",
    ) -> None:
        super().__init__(env)
        self.reward_model = ClassifierRewardModel(
            classifier, mode, gamma=gamma, env_reward_weight=env_reward_weight, device=device
        )
        if image == "render" and env.render_mode != "rgb_array":
            raise ValueError(
                f"image='render' needs render_mode='rgb_array', got {env.render_mode!r}"
            )
        self.reader = ObservationReader(
            env.observation_space,
            self.reward_model.canvas_size,
            self.reward_model.num_classes,
            image=image,
            target=target,
            threshold=threshold,
            invert=invert,
        )
        self._previous: float | None = None
        self._initial_p: float = 0.0
        self._episode_return = 0.0

    @property
    def classifier(self) -> Classifier:
        return self.reward_model.classifier

    def _score(self, obs: Any) -> Scores:
        images = self.env.render() if self.reader.from_render else self.reader.image(obs)
        canvases = self.reader.canvases(images, batched=False)
        return self.reward_model.score(canvases, self.reader.targets(obs, 1))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        scores = self._score(obs)
        self._previous = float(self.reward_model.value(scores)[0])
        self._initial_p = float(scores.p_target[0])
        self._episode_return = 0.0
        info["flatnet"] = scores.rows()[0]
        return obs, info

    def step(self, action: Any):
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        scores = self._score(obs)
        value = self.reward_model.value(scores)
        over = bool(terminated or truncated)
        previous = None if self._previous is None else np.array([self._previous])
        learned = float(self.reward_model.reward(value, previous, np.array([over]))[0])
        info["env_reward"] = env_reward
        info["flatnet"] = scores.rows()[0]
        info["flatnet_previous"] = self._previous
        self._previous = float(value[0])
        self._episode_return += learned
        if over:
            info["flatnet_episode"] = {
                "return": self._episode_return,
                "p_target_final": float(scores.p_target[0]),
                "p_target_initial": self._initial_p,
            }
        reward: SupportsFloat = self.reward_model.total(learned, float(env_reward))
        return obs, reward, terminated, truncated, info
