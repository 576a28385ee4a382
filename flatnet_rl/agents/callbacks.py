"""SB3 callbacks: the learned reward and the judges' verdict during training.

* :class:`RewardHackingCallback` logs ``flatnet/*`` metrics (:mod:`~flatnet_rl.agents.hacking`
  schema) of the training episodes finished in each rollout.
* :class:`RolloutRewardCallback` scores the learned reward of each rollout in one classifier
  call and writes it into the on-policy rollout buffer.
* :class:`OveroptimizationCallback` evaluates the policy every ``every`` steps on episodes
  that start as the task does, and records proxy and judge ``p_target`` against steps and
  wall seconds: the overoptimization curve (Gao et al. 2022) and the time-to-judge curve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from flatnet_rl.agents.hacking import EpisodeRecord, score_episodes, summarize
from flatnet_rl.classifier import Classifier
from flatnet_rl.reward.episodes import EPISODE_KEY
from flatnet_rl.reward.rollout import RolloutRewardVecEnv, ScoredRollout


class RewardHackingCallback(BaseCallback):
    """Logs ``flatnet/*`` metrics of the training episodes finished in each rollout.

    ``rollout/ep_rew_mean`` (from ``VecMonitor`` above the reward) is the learned return;
    this adds the proxy and judge p_target of final canvases, their gap, the fooling rate,
    the judges' accuracy and agreement, the proxy's entropy and the episode length. Needs the
    reward wrappers' ``info["flatnet_episode"]`` records.
    """

    def __init__(
        self,
        proxy: Classifier,
        judges: Sequence[Classifier],
        value_range: tuple[float, float] = (0.0, 1.0),
        min_episodes: int = 20,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.proxy, self.judges = proxy, list(judges)
        self.min_episodes = min_episodes
        self.record = EpisodeRecord(value_range=value_range)
        self.last: dict[str, float] = {}

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get(EPISODE_KEY)
            if episode is not None:
                self.record.add_episode(episode)
        return True

    def add_episodes(self, records: Sequence[dict[str, Any]]) -> None:
        """Episodes scored after the fact (:class:`RolloutRewardCallback`)."""
        for record in records:
            self.record.add_episode(record)

    def _on_rollout_end(self) -> None:
        if len(self.record) < self.min_episodes:
            return
        self.last = summarize(score_episodes(self.record, self.proxy, self.judges))
        for key, value in self.last.items():
            self.logger.record(f"flatnet/{key}", value)
        self.record.clear()


class RolloutRewardCallback(BaseCallback):
    """Puts the learned reward of each rollout into SB3's rollout buffer (PPO, A2C).

    At the end of a rollout, :meth:`RolloutRewardVecEnv.score_rollout
    <flatnet_rl.reward.rollout.RolloutRewardVecEnv.score_rollout>` scores its steps in one
    classifier call; the rewards are added to the buffer's (which hold the env's weighted
    reward and SB3's bootstrap of truncated episodes), returns and advantages are computed
    again, and the finished episodes go to ``ep_info_buffer`` (``rollout/ep_rew_mean``) and
    to ``on_episodes`` (e.g. :meth:`RewardHackingCallback.add_episodes`). Put it first in the
    callback list: later callbacks' ``_on_rollout_end`` then see the rewards.
    """

    def __init__(
        self,
        venv: RolloutRewardVecEnv,
        on_episodes: Callable[[list[dict[str, Any]]], None] | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.venv, self.on_episodes = venv, on_episodes

    def _on_rollout_start(self) -> None:
        # Steps of a rollout that was cut short (a callback stopped training) were never
        # stored: score them to keep potentials and episode sums in step, and report the
        # episodes that ended in them; their rewards are not trained on.
        if self.venv.pending_steps:
            self._report(self.venv.score_rollout())

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        scored = self.venv.score_rollout()
        buffer = self.model.rollout_buffer
        if scored.rewards.shape != buffer.rewards.shape:
            raise RuntimeError(
                f"scored {scored.rewards.shape} rewards for a rollout buffer of "
                f"{buffer.rewards.shape}: the RolloutRewardVecEnv is not the model's env"
            )
        buffer.rewards += scored.rewards.astype(buffer.rewards.dtype)
        buffer.compute_returns_and_advantage(
            last_values=self.locals["values"], dones=self.locals["dones"]
        )
        self._report(scored)

    def _report(self, scored: ScoredRollout) -> None:
        self.model.ep_info_buffer.extend(scored.monitor)
        if self.on_episodes is not None:
            self.on_episodes([record for _, _, record in scored.episodes])


class OveroptimizationCallback(BaseCallback):
    """Every ``every`` steps (and at the start and end), score ``evaluate()``'s episodes.

    ``evaluate`` is a function of the model returning per-episode scores
    (:func:`~flatnet_rl.agents.hacking.score_episodes`); each point of :attr:`points` holds
    ``timesteps``, ``seconds`` (training wall time so far, evaluation excluded) and the
    summary of :func:`~flatnet_rl.agents.hacking.summarize`. Training stops early once the
    judges reach ``stop_at_judge`` or after ``max_seconds`` of training (time to a painter).
    """

    def __init__(
        self,
        evaluate: Callable[[Any], dict],
        every: int,
        *,
        stop_at_judge: float | None = None,
        max_seconds: float | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.evaluate, self.every = evaluate, every
        self.stop_at_judge, self.max_seconds = stop_at_judge, max_seconds
        self.points: list[dict[str, Any]] = []
        self._next = 0
        self._train_seconds = 0.0
        self._since = 0.0

    def _record(self) -> None:
        self._train_seconds += time.perf_counter() - self._since
        summary = summarize(self.evaluate(self.model))
        point = {"timesteps": int(self.num_timesteps), "seconds": self._train_seconds, **summary}
        self.points.append(point)
        for key in ("proxy_p_target", "judge_p_target", "fooling_rate"):
            self.logger.record(f"curve/{key}", summary[key])
        self._since = time.perf_counter()

    def _on_training_start(self) -> None:
        self._since = time.perf_counter()
        self._record()
        self._next = self.every

    def _on_step(self) -> bool:
        if self.num_timesteps >= self._next:
            self._record()
            self._next += self.every
            judge = self.points[-1]["judge_p_target"]
            if self.stop_at_judge is not None and judge >= self.stop_at_judge:
                return False
        running = self._train_seconds + time.perf_counter() - self._since
        return self.max_seconds is None or running < self.max_seconds

    def _on_training_end(self) -> None:
        if not self.points or self.points[-1]["timesteps"] != self.num_timesteps:
            self._record()
