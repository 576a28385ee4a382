"""The learned reward of a whole rollout in one classifier call (on-policy training).

A classifier's forward pass on a few dozen images costs several times more per image than
on a thousand (fixed per-call costs, and convolution kernels that only run at full speed on
large batches). On-policy algorithms do not read a step's reward until the rollout is
complete, so the reward can wait: :class:`RolloutRewardVecEnv` records each step's
observations and :meth:`~RolloutRewardVecEnv.score_rollout` scores every recorded image in
one call, as VLM-RMs (Rocamonde et al. 2024) score CLIP rewards over a rollout buffer, and
each distinct image once (a pen that moves with the pen up leaves the canvas unchanged: two
thirds of a trained pen agent's rollout repeat an image).
``flatnet_rl.agents`` writes the result into SB3's rollout buffer at the end of each
rollout (:class:`~flatnet_rl.agents.callbacks.RolloutRewardCallback`).

The rewards and episode records are those :class:`~flatnet_rl.reward.FlatnetRewardVecEnv`
gives on the same steps (tested, up to float rounding: a batch of another size runs other
kernels). Until a rollout is scored, ``step`` returns only the env's own reward times
``env_reward_weight`` and the infos carry no ``flatnet`` keys: anything that needs the
learned reward at each step (off-policy replay, ``evaluate_policy``, ``VecMonitor``) takes
:class:`~flatnet_rl.reward.FlatnetRewardVecEnv` instead. Stepping on past
``MAX_PENDING_STEPS`` unscored steps raises: training without the scoring callback would
otherwise run on no learned reward at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv

from flatnet_rl.classifier import Classifier
from flatnet_rl.reward.batched import concat_observations, stack_observations
from flatnet_rl.reward.functions import Scores
from flatnet_rl.reward.spec import RewardSpec
from flatnet_rl.reward.vector import _BatchedRewardVecEnv

#: Rows prepared and scored together (bounds the memory of the model input).
CHUNK_IMAGES = 4096
#: Unscored steps allowed before ``step`` refuses (SB3's largest default rollout is 2048).
MAX_PENDING_STEPS = 8192


def _copy(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    return np.array(obs, copy=True)


@dataclass
class _Step:
    """What one vector step leaves for scoring."""

    obs: Any  # the observations the envs go on from (reset ones for finished envs)
    done_idx: np.ndarray
    final: list[Any]  # terminal observations of the envs in done_idx
    env_rewards: np.ndarray
    seconds: float  # since the wrapper was made, when the step returned


@dataclass
class ScoredRollout:
    """The learned rewards of the scored steps and the episodes that ended in them.

    Attributes:
        rewards: ``(steps, num_envs)`` learned rewards (without the env's own reward).
        episodes: ``(step, env, record)`` of every finished episode, the record in the
            schema of :mod:`flatnet_rl.reward.episodes`.
        monitor: per finished episode, ``{"r", "l", "t"}`` as SB3's ``VecMonitor`` reports
            it: the return of the reward the agent optimises (learned plus weighted env
            reward), the length, and seconds since the wrapper was made.
    """

    rewards: np.ndarray
    episodes: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)
    monitor: list[dict[str, float]] = field(default_factory=list)


class RolloutRewardVecEnv(_BatchedRewardVecEnv):
    """SB3 ``VecEnvWrapper`` whose learned reward is computed per rollout, not per step.

    Same options as :class:`~flatnet_rl.reward.FlatnetRewardVecEnv`. ``step`` records the
    observations (and terminal observations) and returns ``env_reward_weight`` times the
    env's own reward; :meth:`score_rollout` then scores everything recorded since the last
    call in one classifier call.

    Example:
        >>> from flatnet_rl.envs import PaintVecEnv
        >>> venv = RolloutRewardVecEnv(PaintVecEnv(4), "flatnet")
        >>> obs = venv.reset()
        >>> for _ in range(3):
        ...     obs, env_part, dones, infos = venv.step(np.zeros(4, dtype=int))
        >>> venv.score_rollout().rewards.shape
        (3, 4)
    """

    def __init__(
        self,
        venv: VecEnv,
        classifier: Classifier | str = "flatnet",
        *,
        spec: RewardSpec | None = None,
        **options: Any,
    ) -> None:
        super().__init__(venv, classifier, spec=spec, **options)
        self._pending: list[_Step] = []
        self._made = time.time()
        #: More unscored steps than this is an error: the scoring callback is missing.
        self.max_pending_steps = MAX_PENDING_STEPS

    @property
    def pending_steps(self) -> int:
        """Steps recorded and not yet scored."""
        return len(self._pending)

    def _score_in_chunks(self, obs: Any, envs: np.ndarray, steps: int) -> tuple[Scores, np.ndarray]:
        """Scores of every row, prepared and scored ``CHUNK_IMAGES`` at a time: model input
        (floats, often larger than the frames) never exists for the whole rollout at once."""
        parts, images = [], []
        for start in range(0, len(envs), CHUNK_IMAGES):
            rows = slice(start, start + CHUNK_IMAGES)
            part = {k: v[rows] for k, v in obs.items()} if isinstance(obs, dict) else obs[rows]
            scores, chunk_images = self.batch.score(
                part, len(envs[rows]), envs=envs[rows], distinct=True, steps=steps
            )
            parts.append(scores)
            images.append(chunk_images)
            steps = 0  # the watch counts the rollout's steps once
        return Scores.concat(parts), np.concatenate(images)

    def reset(self) -> Any:
        self._pending.clear()
        return super().reset()  # scores the reset observations now

    def step_wait(self) -> Any:
        if len(self._pending) >= self.max_pending_steps:
            raise RuntimeError(
                f"RolloutRewardVecEnv holds {len(self._pending)} unscored steps: nothing calls "
                "score_rollout(), so the agent gets no learned reward. Train with "
                "flatnet_rl.agents.callbacks.RolloutRewardCallback(env) (train_agent adds it), "
                "or use FlatnetRewardVecEnv, which rewards every step"
            )
        obs, env_rewards, dones, infos = self.venv.step_wait()
        done_idx = np.flatnonzero(dones)
        env_rewards = np.asarray(env_rewards, dtype=np.float64)
        self._pending.append(
            _Step(
                _copy(obs),
                done_idx,
                [_copy(infos[i]["terminal_observation"]) for i in done_idx],
                env_rewards,
                time.time() - self._made,
            )
        )
        for info, env_reward in zip(infos, env_rewards.tolist(), strict=True):
            info["env_reward"] = env_reward
        self._strip_terminal(infos, done_idx)
        pending = self.batch.model.total(np.zeros(self.num_envs), env_rewards)
        return self._own(obs), pending.astype(np.float32), dones, infos

    def score_rollout(self) -> ScoredRollout:
        """Score every step recorded since the last call in one classifier call, in order.

        Returns the learned rewards ``(steps, num_envs)`` and the finished episodes, and
        advances the potentials and episode sums exactly as per-step scoring would.
        """
        steps, self._pending = self._pending, []
        n = self.num_envs
        if not steps:
            return ScoredRollout(np.zeros((0, n)))
        finals = [o for s in steps for o in s.final]
        batch = concat_observations(
            *[s.obs for s in steps], *([stack_observations(finals)] if finals else [])
        )
        envs = np.concatenate([np.tile(np.arange(n), len(steps)), *[s.done_idx for s in steps]])
        scores, images = self._score_in_chunks(batch, envs, len(steps))
        rewards = np.empty((len(steps), n))
        scored = ScoredRollout(rewards)
        next_final = len(steps) * n
        for t, step in enumerate(steps):
            starts_rows = np.arange(t * n, (t + 1) * n)
            last_rows = starts_rows.copy()
            last_rows[step.done_idx] = next_final + np.arange(len(step.done_idx))
            next_final += len(step.done_idx)
            rewards[t], ended = self.batch.advance(
                scores.take(starts_rows),
                scores.take(last_rows),
                images[last_rows],
                step.done_idx,
                step.env_rewards,
            )
            weight = self.batch.model.env_reward_weight
            for i, record in ended:
                scored.episodes.append((t, i, record))
                scored.monitor.append(
                    {
                        "r": record["return"] + weight * record["env_return"],
                        "l": record["length"],
                        "t": round(step.seconds, 6),
                    }
                )
        return scored
