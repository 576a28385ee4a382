"""Batched reward wrappers: one classifier call per vector step.

* :class:`FlatnetRewardVecEnv` wraps a Stable-Baselines3 ``VecEnv`` (SB3 resets finished envs
  inside ``step`` and hands the last observation over in ``info["terminal_observation"]``).
* :class:`FlatnetRewardVector` wraps a Gymnasium ``VectorEnv`` (``gymnasium.make_vec``), in
  either autoreset mode: ``next_step`` (default: the step after an episode ends is a reset
  step with no reward) or ``same_step`` (final observation in ``info["final_obs"]``).

Both take the options of :class:`~flatnet_rl.reward.FlatnetReward` (a
:class:`~flatnet_rl.reward.RewardSpec`), report episodes in the same schema
(:mod:`flatnet_rl.reward.episodes`), and give the same rewards as the per-env wrapper on
the same seeds (tested), whatever else is in the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv, VectorWrapper
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from flatnet_rl.classifier import Classifier
from flatnet_rl.reward.batched import BatchedReward
from flatnet_rl.reward.episodes import EPISODE_FIELDS, EPISODE_KEY
from flatnet_rl.reward.render import has_frames, split_frames, without_frames
from flatnet_rl.reward.spec import RewardSpec


class _BatchedRewardVecEnv(VecEnvWrapper):
    """What both SB3 reward wrappers share: the options (one :class:`RewardSpec`), the
    :class:`BatchedReward` state, and a reset that scores the first observations."""

    def __init__(
        self,
        venv: VecEnv,
        classifier: Classifier | str = "flatnet",
        *,
        spec: RewardSpec | None = None,
        **options: Any,
    ) -> None:
        reward_spec = RewardSpec.from_options(spec, options)
        space = venv.observation_space
        self._frames = reward_spec.image == "render"
        if self._frames:
            if not has_frames(space):
                raise ValueError(
                    "image='render' on an SB3 VecEnv needs the frames in the observations "
                    "(SB3 resets a finished env before its last frame could be rendered): "
                    "make each env with flatnet_rl.reward.with_render_frames, e.g. "
                    "make_vec_env(..., wrapper_class=with_render_frames)"
                )
            space = without_frames(space)
        super().__init__(venv, observation_space=space)
        self.reward_spec = reward_spec
        self.batch = BatchedReward(
            space,
            venv.num_envs,
            classifier,
            self.reward_spec,
            venv,
            frames_in_obs=self._frames,
        )

    def _own(self, obs: Any) -> Any:
        """The observations without the frames (what the agent sees)."""
        return split_frames(obs)[1] if self._frames else obs

    def _strip_terminal(self, infos: list[dict[str, Any]], done_idx: np.ndarray) -> None:
        if self._frames:
            for i in done_idx:
                infos[i]["terminal_observation"] = self._own(infos[i]["terminal_observation"])

    def reset(self) -> Any:
        obs = self.venv.reset()
        self.batch.reset(obs, self.num_envs)
        return self._own(obs)

    def step_wait(self) -> Any:
        raise NotImplementedError


class FlatnetRewardVecEnv(_BatchedRewardVecEnv):
    """Stable-Baselines3 ``VecEnvWrapper`` giving every env the :class:`FlatnetReward` reward.

    Same options as :class:`~flatnet_rl.reward.wrappers.FlatnetReward` (images come from
    observations only). Each ``step_wait`` makes one classifier call on the current
    observations plus the terminal observations of the envs that just finished. Wrap it in
    ``VecMonitor`` so that ``rollout/ep_rew_mean``, ``evaluate_policy`` and ``EvalCallback``
    report the learned reward (the env's own is in ``info["env_reward"]`` and the episode
    record). Envs with a ``Monitor`` inside (``make_vec_env``) report it too: the
    ``info["episode"]`` record of an ended episode gets the paid return as ``"r"`` and the
    env's own as ``"env_r"``.

    Example:
        >>> from stable_baselines3.common.env_util import make_vec_env
        >>> from flatnet_rl.envs import PaintEnv
        >>> venv = FlatnetRewardVecEnv(make_vec_env(PaintEnv, n_envs=4, seed=0), "flatnet")
        >>> obs = venv.reset()
        >>> obs, rewards, dones, infos = venv.step(np.zeros(4, dtype=int))
        >>> rewards.shape
        (4,)
    """

    def step_wait(self) -> Any:
        obs, env_rewards, dones, infos = self.venv.step_wait()
        done_idx = np.flatnonzero(dones)
        # Finished envs are rewarded for their last image, not for the reset one.
        starts, last, images = self.batch.score_with_final(
            obs, [infos[i]["terminal_observation"] for i in done_idx], done_idx
        )
        env_rewards = np.asarray(env_rewards, dtype=np.float64)
        rewards, ended = self.batch.advance(starts, last, images, done_idx, env_rewards)
        for info, env_reward, flatnet in zip(infos, env_rewards.tolist(), last.rows(), strict=True):
            info["env_reward"] = env_reward
            info["flatnet"] = flatnet
        for i, record in ended:
            infos[i][EPISODE_KEY] = record
            _monitor_pays_learned(infos[i], record, self.batch.model)
        self._strip_terminal(infos, done_idx)
        total = self.batch.model.total(rewards, env_rewards)
        return self._own(obs), total.astype(np.float32), dones, infos


def _monitor_pays_learned(info: dict[str, Any], record: dict[str, Any], model: Any) -> None:
    """A ``Monitor`` inside the env (SB3's ``make_vec_env`` puts one in each) recorded the
    episode's return of the env's own reward; SB3's ``evaluate_policy`` and
    ``rollout/ep_rew_mean`` read that record, and would report the env's reward (0 on a
    reward-free env) for an agent trained on the learned one. The record becomes the return
    this wrapper paid; the env's own stays as ``"env_r"``."""
    monitor = info.get("episode")
    if isinstance(monitor, dict) and "r" in monitor and "env_r" not in monitor:
        paid = model.total(np.array([record["return"]]), np.array([record["env_return"]]))
        monitor["env_r"], monitor["r"] = monitor["r"], round(float(paid[0]), 6)


class FlatnetRewardVector(VectorWrapper):
    """Gymnasium ``VectorWrapper`` version, for ``gymnasium.make_vec`` and ``gym.vector.*``.

    ``infos`` gain ``"env_reward"`` (the env's own rewards), ``"flatnet"`` (a dict of
    arrays: ``p_target``, ``entropy``, ``predicted``, ``target``, ``probs``) and, for the envs
    whose episode ended this step, ``"flatnet_episode"`` (the record of
    :mod:`flatnet_rl.reward.episodes` as arrays), each with Gymnasium's ``_key`` mask. In
    ``next_step`` autoreset mode, the reset step after an episode's end has reward 0, as the
    env's own.

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
        spec: RewardSpec | None = None,
        **options: Any,
    ) -> None:
        super().__init__(env)
        self.autoreset_mode = env.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
        if self.autoreset_mode not in (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP):
            raise ValueError(
                f"autoreset mode {self.autoreset_mode} is not supported: use next_step or same_step"
            )
        self.reward_spec = RewardSpec.from_options(spec, options)
        self._render = self.reward_spec.image == "render"
        if self._render:
            if self.autoreset_mode != AutoresetMode.NEXT_STEP:
                raise ValueError(
                    "image='render' needs the next_step autoreset mode: in same_step mode "
                    "an env is reset before its last frame could be rendered"
                )
            if env.render_mode != "rgb_array":
                raise ValueError(
                    f"image='render' needs render_mode='rgb_array', got {env.render_mode!r}"
                )
        self.batch = BatchedReward(
            env.single_observation_space, env.num_envs, classifier, self.reward_spec, env
        )
        self._resetting = np.zeros(env.num_envs, dtype=bool)

    def _frames(self) -> np.ndarray | None:
        """The envs' ``render()`` frames, one per env (``image="render"``)."""
        if not self._render:
            return None
        frames = np.asarray(self.env.render())
        if frames.ndim < 3 or len(frames) != self.num_envs:
            raise ValueError(
                f"render() of the vector env returned shape {frames.shape}: expected one "
                f"frame per env ({self.num_envs})"
            )
        return frames

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self.batch.reset(obs, self.num_envs, frames=self._frames())
        self._resetting[:] = False
        return obs, infos

    def step(self, actions: Any):
        obs, env_rewards, terminated, truncated, infos = self.env.step(actions)
        n = self.num_envs
        env_rewards = np.asarray(env_rewards, dtype=np.float64)
        over = np.logical_or(terminated, truncated)
        episodes = self.batch.episodes
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            done_idx = np.flatnonzero(over)
            final = [infos["final_obs"][i] for i in done_idx]
            starts, last, images = self.batch.score_with_final(obs, final, done_idx)
            rewards = self.batch.rewards(last, over, starts)
            running = np.ones(n, dtype=bool)
        else:
            last, images = self.batch.score(obs, n, frames=self._frames())
            starts = last
            rewards = self.batch.rewards(last, over, last)
            # next_step: an env that ended last step was reset by this step: no reward (its
            # new episode's potential starts from the reset observation).
            running = ~self._resetting
            rewards = np.where(running, rewards, 0.0)
            if self._resetting.any():
                episodes.start(self._resetting, last.p_target[self._resetting])
            self._resetting = over.copy()
        episodes.add(rewards, env_rewards, running)
        infos = dict(infos)
        infos["env_reward"] = env_rewards
        infos["_env_reward"] = np.ones(n, dtype=bool)
        infos["flatnet"] = {
            "p_target": last.p_target,
            "entropy": last.entropy,
            "predicted": last.predicted,
            "target": last.targets,
            "probs": last.probs,
        }
        infos["_flatnet"] = np.ones(n, dtype=bool)
        ended = over & running
        if ended.any():
            records = [
                episodes.finish(i, int(last.targets[i]), float(last.p_target[i]), images[i])
                if ended[i]
                else None
                for i in range(n)
            ]
            infos[EPISODE_KEY] = _as_arrays(records, images)
            infos[f"_{EPISODE_KEY}"] = ended
        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            episodes.start(ended, starts.p_target[ended])
        total = self.batch.model.total(rewards, env_rewards)
        return obs, total, terminated, truncated, infos


def _as_arrays(records: list[dict | None], images: np.ndarray) -> dict[str, np.ndarray]:
    """Per-env episode records (None where no episode ended) as Gymnasium info arrays."""
    out: dict[str, np.ndarray] = {}
    for key in EPISODE_FIELDS:
        if key == "image":
            out[key] = np.zeros_like(np.asarray(images))
            for i, r in enumerate(records):
                if r is not None:
                    out[key][i] = r[key]
            continue
        dtype = np.int64 if key in ("length", "target") else np.float64
        out[key] = np.array([0 if r is None else r[key] for r in records], dtype=dtype)
    return out
