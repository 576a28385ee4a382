"""SB3 callback logging the learned reward and the judge's verdict during training."""

from __future__ import annotations

from stable_baselines3.common.callbacks import BaseCallback

from flatnet_rl.agents.metrics import EpisodeRecord, score_episodes, summarize
from flatnet_rl.classifier import Classifier


class RewardHackingCallback(BaseCallback):
    """Logs ``flatnet/*`` metrics of the episodes finished in each rollout.

    SB3's own ``rollout/ep_rew_mean`` stays the env's reward (Monitor sits below the reward
    wrapper); the learned reward is logged as ``flatnet/learned_return``, next to the proxy
    and judge p_target of final canvases, their gap, the fooling rate (proxy >= 0.9 and
    judge < 0.5), the proxy's entropy and the episode length. Needs the env to be wrapped
    in :class:`~flatnet_rl.reward.FlatnetRewardVecEnv`, whose infos carry the final canvas.
    """

    def __init__(
        self, proxy: Classifier, judge: Classifier, min_episodes: int = 20, verbose: int = 0
    ):
        super().__init__(verbose)
        self.proxy, self.judge = proxy, judge
        self.min_episodes = min_episodes
        self.record = EpisodeRecord()
        self.last: dict[str, float] = {}

    def _on_step(self) -> bool:
        for info in self.locals["infos"]:
            episode = info.get("flatnet_episode")
            if episode is None:
                continue
            length = info.get("episode", {}).get("l", 0)
            self.record.add(episode["canvas"], episode["target"], length, episode["return"])
        return True

    def _on_rollout_end(self) -> None:
        if len(self.record) < self.min_episodes:
            return
        self.last = summarize(score_episodes(self.record, self.proxy, self.judge))
        for key, value in self.last.items():
            self.logger.record(f"flatnet/{key}", value)
        self.record.clear()
