"""Batched reward wrappers: one classifier call per vector step.

* :class:`FlatnetRewardVecEnv` wraps a Stable-Baselines3 ``VecEnv`` (SB3 resets finished envs
  inside ``step`` and hands the last observation over in ``info["terminal_observation"]``).
* :class:`FlatnetRewardVector` wraps a Gymnasium ``VectorEnv`` (``gymnasium.make_vec``), in
  either autoreset mode: ``next_step`` (default: the step after an episode ends is a reset
  step with no reward) or ``same_step`` (final observation in ``info["final_obs"]``).

Per-env and vectorized rewards are identical on the same seeds (tested).
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from flatnet_rl.classifier import Classifier
from flatnet_rl.reward.functions import ClassifierRewardModel, Scores
from flatnet_rl.reward.sources import ImageSpec, ObservationReader, TargetSpec


def _stack(observations: list[Any]) -> Any:
    """Batch single observations (arrays or dicts of arrays)."""
    if isinstance(observations[0], dict):
        return {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    return np.stack(observations)


def _concat(a: Any, b: Any) -> Any:
    if isinstance(a, dict):
        return {k: np.concatenate([a[k], b[k]]) for k in a}
    return np.concatenate([a, b])


class _BatchedReward:
    """State shared by both vector wrappers: the model, the reader and the potentials."""

    def __init__(
        self,
        observation_space: gym.Space,
        num_envs: int,
        classifier: Classifier | str,
        target: TargetSpec,
        mode: str,
        image: ImageSpec,
        env_reward_weight: float,
        gamma: float,
        threshold: float,
        invert: bool | Literal["auto"],
        device: str,
    ) -> None:
        if image == "render":
            raise ValueError(
                "vectorized FlatnetReward reads observations; image='render' is not supported"
            )
        self.model = ClassifierRewardModel(
            classifier, mode, gamma=gamma, env_reward_weight=env_reward_weight, device=device
        )
        self.reader = ObservationReader(
            observation_space,
            self.model.canvas_size,
            self.model.num_classes,
            image=image,
            target=target,
            threshold=threshold,
            invert=invert,
        )
        self.previous = np.zeros(num_envs)

    def score(self, obs: Any, n: int) -> tuple[Scores, np.ndarray]:
        """One classifier call on ``n`` observations: (scores, canvases)."""
        canvases = self.reader.canvases(self.reader.image(obs), batched=True)
        return self.model.score(canvases, self.reader.targets(obs, n)), canvases

    def score_with_final(
        self, obs: Any, final: list[Any], done_idx: np.ndarray
    ) -> tuple[Scores, np.ndarray, np.ndarray]:
        """Score this step's observations and, in the same call, the final observations of
        the envs in ``done_idx``. Returns (scores of the reset observations, scores of the
        transitions' last observations, canvases of the latter)."""
        n = len(self.previous)
        if not len(done_idx):
            scores, canvases = self.score(obs, n)
            return scores, scores, canvases
        scores, canvases = self.score(_concat(obs, _stack(final)), n + len(done_idx))
        rows = np.arange(n)
        rows[done_idx] = n + np.arange(len(done_idx))
        return scores.take(np.arange(n)), scores.take(rows), canvases[rows]

    def reset(self, obs: Any, n: int) -> None:
        self.previous = self.model.value(self.score(obs, n)[0])

    def rewards(self, last: Scores, episode_over: np.ndarray, starts: Scores) -> np.ndarray:
        """Rewards of the transitions that ended in ``last``; ``starts`` (the observations the
        envs go on from) gives the next potentials."""
        rewards = self.model.reward(self.model.value(last), self.previous, episode_over)
        self.previous = self.model.value(starts)
        return rewards


class FlatnetRewardVecEnv(VecEnvWrapper):
    """Stable-Baselines3 ``VecEnvWrapper`` giving every env the :class:`FlatnetReward` reward.

    Same arguments as :class:`~flatnet_rl.reward.wrappers.FlatnetReward` (but images come from
    observations only). Each ``step_wait`` makes one classifier call on the current
    observations plus the terminal observations of the envs that just finished.

    Example:
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> from flatnet_rl.envs import PaintEnv
        >>> venv = FlatnetRewardVecEnv(make_vec_env(PaintEnv, n_envs=4, seed=0), "flatnet")
        >>> obs = venv.reset()
        >>> obs, rewards, dones, infos = venv.step(np.zeros(4, dtype=int))
        >>> rewards.shape
        (4,)
    """

    def __init__(
        self,
        venv: VecEnv,
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
        super().__init__(venv)
        self.batch = _BatchedReward(
            venv.observation_space,
            venv.num_envs,
            classifier,
            target,
            mode,
            image,
            env_reward_weight,
            gamma,
            threshold,
            invert,
            device,
        )
        self.returns = np.zeros(venv.num_envs)  # learned return of each running episode

    def reset(self) -> Any:
        obs = self.venv.reset()
        self.batch.reset(obs, self.num_envs)
        self.returns[:] = 0.0
        return obs

    def step_wait(self) -> Any:
        obs, env_rewards, dones, infos = self.venv.step_wait()
        done_idx = np.flatnonzero(dones)
        # Finished envs are rewarded for their last canvas, not for the reset one.
        starts, last, canvases = self.batch.score_with_final(
            obs, [infos[i]["terminal_observation"] for i in done_idx], done_idx
        )
        rewards = self.batch.rewards(last, dones.astype(bool), starts)
        self.returns += rewards
        for info, env_reward, flatnet in zip(infos, env_rewards.tolist(), last.rows(), strict=True):
            info["env_reward"] = env_reward
            info["flatnet"] = flatnet
        for i in done_idx:
            infos[i]["flatnet_episode"] = {
                "return": float(self.returns[i]),
                "p_target_final": infos[i]["flatnet"]["p_target"],
                "canvas": canvases[i],
                "target": infos[i]["flatnet"]["target"],
            }
            self.returns[i] = 0.0
        total = self.batch.model.total(rewards, env_rewards)
        return obs, total.astype(np.float32), dones, infos


class FlatnetRewardVector(VectorWrapper):
    """Gymnasium ``VectorWrapper`` version, for ``gymnasium.make_vec`` and ``gym.vector.*``.

    ``infos`` gain ``"env_reward"`` and ``"flatnet_p_target"`` arrays. In ``next_step``
    autoreset mode, the reset step after an episode's end has reward 0, as the env's own.

    Example:
        >>> import gymnasium, flatnet_rl
        >>> envs = gymnasium.make_vec("FlatnetPaintBare-v0", num_envs=2)
        >>> envs = FlatnetRewardVector(envs, "flatnet")
        >>> obs, infos = envs.reset(seed=0)
    """

    def __init__(
        self,
        env: VectorEnv,
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
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if self.autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(
                f"autoreset mode {self.autoreset_mode} is not supported: use next_step or same_step"
            )
        self.batch = _BatchedReward(
            env.single_observation_space,
            env.num_envs,
            classifier,
            target,
            mode,
            image,
            env_reward_weight,
            gamma,
            threshold,
            invert,
            device,
        )
        self._resetting = np.zeros(env.num_envs, dtype=bool)

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.batch.reset(obs, self.num_envs)
        self._resetting[:] = False
        return obs, infos

    def step(self, actions: Any):
        obs, env_rewards, terminated, truncated, infos = self.env.step(actions)
        n = self.num_envs
        over = np.logical_or(terminated, truncated)
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            done_idx = np.flatnonzero(over)
            final = [infos["final_obs"][i] for i in done_idx]
            starts, last, _ = self.batch.score_with_final(obs, final, done_idx)
            rewards = self.batch.rewards(last, over, starts)
        else:
            last, _ = self.batch.score(obs, n)
            rewards = self.batch.rewards(last, over, last)
            # next_step: an env that ended last step was reset by this step: no reward (its
            # new episode's potential starts from the reset observation).
            rewards = np.where(self._resetting, 0.0, rewards)
            self._resetting = over.copy()
        p_now = last.p_target
        infos = dict(infos)
        infos["env_reward"] = np.asarray(env_rewards, dtype=np.float64)
        infos["flatnet_p_target"] = p_now
        total = self.batch.model.total(rewards, np.asarray(env_rewards, dtype=np.float64))
        return obs, total, terminated, truncated, infos
