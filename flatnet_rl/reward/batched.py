"""The state of a reward over a batch of envs: the reward model, the observation reader, the
potentials and the episode sums of every env. Every wrapper is one of its views: the
vector wrappers (:mod:`~flatnet_rl.reward.vector`), the per-rollout scoring
(:mod:`~flatnet_rl.reward.rollout`) and the single-env :class:`~flatnet_rl.reward.FlatnetReward`,
a batch of one."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.reward.episodes import EpisodeTracker
from flatnet_rl.reward.functions import ClassifierRewardModel, Scores
from flatnet_rl.reward.observations import ObservationReader
from flatnet_rl.reward.render import split_frames
from flatnet_rl.reward.spec import RewardSpec


def stack_observations(observations: list[Any]) -> Any:
    """Batch single observations (arrays or dicts of arrays)."""
    if isinstance(observations[0], dict):
        return {k: np.stack([o[k] for o in observations]) for k in observations[0]}
    return np.stack(observations)


def one_row(observation: Any) -> Any:
    """One observation (an array or a dict of arrays) as a batch of one: views, no copies."""
    if isinstance(observation, dict):
        return {k: np.asarray(v)[None] for k, v in observation.items()}
    return np.asarray(observation)[None]


def concat_observations(*batches: Any) -> Any:
    """Concatenate batched observations (arrays or dicts of arrays) along the batch axis."""
    if isinstance(batches[0], dict):
        return {k: np.concatenate([b[k] for b in batches]) for k in batches[0]}
    return np.concatenate(batches)


class BatchedReward:
    """The reward state of ``num_envs`` envs: the reward model, the reader, the potentials
    and the episode sums of every env (see the module docstring for who holds one)."""

    def __init__(
        self,
        observation_space: gym.Space,
        num_envs: int,
        classifier: Classifier | str,
        spec: RewardSpec,
        env: Any = None,
        *,
        frames_in_obs: bool = False,
    ) -> None:
        clf = load_classifier(classifier, device=spec.device)
        #: ``image="render"`` frames arrive in the observations (:mod:`.render`), else the
        #: caller passes them to :meth:`score`.
        self.frames_in_obs = frames_in_obs
        self.model = ClassifierRewardModel.from_spec(clf, spec)
        self.reader = ObservationReader(observation_space, clf, spec, env)
        self.previous = np.zeros(num_envs)
        self.episodes = EpisodeTracker(num_envs)

    def score(
        self,
        obs: Any,
        n: int,
        *,
        envs: np.ndarray | None = None,
        distinct: bool = False,
        steps: int = 1,
        frames: np.ndarray | None = None,
    ) -> tuple[Scores, np.ndarray]:
        """One classifier call on ``n`` observations: (scores, images). ``envs``: the env of
        each row (default: row ``i`` is env ``i``); ``distinct``: run the classifier on each
        distinct model input once; ``steps``: env steps the observations cover; ``frames``:
        the envs' ``render()`` frames (``image="render"`` without frames in ``obs``)."""
        if self.frames_in_obs:
            images, obs = split_frames(obs)
        elif self.reader.from_render:
            if frames is None:
                raise ValueError("image='render' needs the frames of the envs")
            images = frames
        else:
            images = self.reader.image(obs, batched=True)
        batch = self.reader.prepare(images, batched=True, envs=envs, steps=steps)
        targets = self.reader.targets(obs, n)
        return self.model.score_input(batch, targets, distinct=distinct), images

    def score_with_final(
        self, obs: Any, final: list[Any], done_idx: np.ndarray
    ) -> tuple[Scores, Scores, np.ndarray]:
        """Score this step's observations and, in the same call, the final observations of
        the envs in ``done_idx``. Returns (scores of the observations the envs go on from,
        scores of the transitions' last observations, images of the latter)."""
        n = len(self.previous)
        if not len(done_idx):
            scores, images = self.score(obs, n)
            return scores, scores, images
        envs = np.concatenate([np.arange(n), done_idx])
        scores, images = self.score(
            concat_observations(obs, stack_observations(final)), n + len(done_idx), envs=envs
        )
        rows = np.arange(n)
        rows[done_idx] = n + np.arange(len(done_idx))
        return scores.take(np.arange(n)), scores.take(rows), images[rows]

    def reset(self, obs: Any, n: int, frames: np.ndarray | None = None) -> Scores:
        """Start every env's episode from its reset observation; returns their scores."""
        own = split_frames(obs)[1] if self.frames_in_obs else obs
        self.reader.check_fixed_target(own, n)
        scores, _ = self.score(obs, n, frames=frames)
        self.previous = self.model.value(scores)
        self.episodes.start(slice(None), scores.p_target)
        return scores

    def rewards(self, last: Scores, episode_over: np.ndarray, starts: Scores) -> np.ndarray:
        """Rewards of the transitions that ended in ``last``; ``starts`` (the observations the
        envs go on from) gives the next potentials."""
        rewards = self.model.reward(self.model.value(last), self.previous, episode_over)
        self.previous = self.model.value(starts)
        return rewards

    def advance(
        self,
        starts: Scores,
        last: Scores,
        images: np.ndarray,
        done_idx: np.ndarray,
        env_rewards: np.ndarray,
    ) -> tuple[np.ndarray, list[tuple[int, dict[str, Any]]]]:
        """One SB3 vector step (finished envs already reset): the learned rewards, and the
        record of every episode that ended, as ``(env index, record)`` pairs.

        ``last`` scores the transitions' last observations (terminal ones for finished envs),
        ``starts`` the observations the envs go on from, ``images`` are the former's images.
        """
        dones = np.zeros(len(self.previous), dtype=bool)
        dones[done_idx] = True
        rewards = self.rewards(last, dones, starts)
        self.episodes.add(rewards, env_rewards)
        ended = [
            (i, self.episodes.finish(i, int(last.targets[i]), float(last.p_target[i]), images[i]))
            for i in done_idx.tolist()
        ]
        if len(done_idx):
            self.episodes.start(done_idx, starts.p_target[done_idx])
        return rewards, ended
