"""Reward functions computed from a classifier's output on canvases.

:class:`ClassifierRewardModel` scores canvases once (:class:`Scores`) and turns the scores
into the reward of any mode, including the stateful ones (``delta`` needs the previous
potential, ``final`` the episode end). As in ``imitation``, the reward model is kept apart
from the env wrappers (:mod:`flatnet_rl.reward.wrappers`, :mod:`flatnet_rl.reward.vector`),
which only move data in and out of it.

Modes (``p = classifier probabilities``, ``t = target``, ``K`` classes):

============  ==============================================  ===========================
mode          reward at step ``s -> s'``                      note
============  ==============================================  ===========================
``prob``      ``p_t(s')``                                     dense, in [0, 1]
``log_prob``  ``log p_t(s')``                                 dense, <= 0
``pmi``       ``log p_t(s') + log K``                         0 when the output is flat
``delta``     ``gamma * Phi(s') - Phi(s)``, ``Phi = p_t``     potential-based (Ng et al.
                                                              1999); default; sums to
                                                              ``Phi(end) - Phi(start)``
``delta_log`` ``gamma * Phi(s') - Phi(s)``, ``Phi = log p_t``  potential-based; sums to
                                                              ``log p_t(end) - log p_t(start)``;
                                                              larger steps where ``p`` is small
``final``     ``p_t(s')`` at the episode's last step, else 0  sparse
``entropy``   ``-H(p(s'))``                                   rewards confidence, any class
``goal_``     ``1 - |(x - g_t) P|^2 / 2`` (VLM-RMs)               CLIP classifiers only
``baseline``                                                  (:mod:`flatnet_rl.clip.goal`)
============  ==============================================  ===========================

``delta`` never forces ``Phi(terminal) = 0``: with the final reward kept, the episode return
is ``Phi(final) - Phi(start)``, which is exactly what the agent should maximise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.numerics import entropy, log_clipped
from flatnet_rl.reward.spec import GOAL_BASELINE_ALPHA, RewardSpec


@dataclass(frozen=True)
class Scores:
    """One classifier call on a batch, reduced once: what rewards and ``info["flatnet"]`` are
    made of. Build it with :meth:`from_probs`; every field has one row per canvas."""

    probs: np.ndarray  # (N, K) float64
    targets: np.ndarray  # (N,) int64
    p_target: np.ndarray  # (N,)
    entropy: np.ndarray  # (N,) nats
    predicted: np.ndarray  # (N,) argmax class
    goal: np.ndarray  # (N,) goal-baseline reward of the target; NaN unless that mode

    @classmethod
    def from_probs(
        cls, probs: np.ndarray, targets: np.ndarray, goal: np.ndarray | None = None
    ) -> Scores:
        """``goal``: every class's goal-baseline reward ``(N, K)`` (mode ``goal_baseline``)."""
        # Computed eagerly, once per call: the wrappers read these every env step.
        if not np.isfinite(probs).all():
            raise FloatingPointError("the classifier returned non-finite probabilities")
        rows = np.arange(len(targets))
        return cls(
            probs,
            targets,
            probs[rows, targets],
            entropy(_completed(probs)),
            probs.argmax(-1),
            np.full(len(targets), np.nan) if goal is None else goal[rows, targets],
        )

    @classmethod
    def concat(cls, parts: list[Scores]) -> Scores:
        """The scores of several batches, in order."""
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _SCORE_FIELDS))

    def take(self, indices: np.ndarray) -> Scores:
        """The scores of the canvases at ``indices``, in that order."""
        return Scores(
            self.probs[indices],
            self.targets[indices],
            self.p_target[indices],
            self.entropy[indices],
            self.predicted[indices],
            self.goal[indices],
        )

    def rows(self) -> list[dict]:
        """``info["flatnet"]`` of every canvas, as plain Python values (numpy ``probs``);
        with ``goal_baseline`` in that mode."""
        rows = [
            {"p_target": p, "probs": probs, "entropy": h, "predicted": k, "target": t}
            for p, probs, h, k, t in zip(
                self.p_target.tolist(),
                self.probs,
                self.entropy.tolist(),
                self.predicted.tolist(),
                self.targets.tolist(),
                strict=True,
            )
        ]
        if len(self.goal) and not np.isnan(self.goal).any():
            for row, g in zip(rows, self.goal.tolist(), strict=True):
                row["goal_baseline"] = g
        return rows


_SCORE_FIELDS = ("probs", "targets", "p_target", "entropy", "predicted", "goal")


def _completed(probs: np.ndarray) -> np.ndarray:
    """Rows that sum to less than one (a conservative ensemble's lower bounds) with the
    missing mass spread evenly over the classes: mass the members disagree on is
    uncertainty, so a row clipped to zeros has the largest entropy, not the smallest."""
    missing = 1.0 - probs.sum(-1, keepdims=True)
    if not (missing > 1e-5).any():  # float32 rows of a softmax miss by ~1e-7
        return probs
    return probs + np.clip(missing, 0.0, None) / probs.shape[-1]


def distinct_rows(batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)``: the index of the first of each distinct item of ``batch`` (equal
    bytes) and, per item, the position of its distinct item in ``first``."""
    rows = np.ascontiguousarray(batch.detach().cpu().reshape(len(batch), -1).numpy())
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


def check_targets(targets: np.ndarray, num_classes: int) -> np.ndarray:
    """Integer class indices in ``[0, num_classes)``; a clear error otherwise."""
    t = np.asarray(targets)
    if t.dtype.kind not in "iu" and not (t.dtype.kind == "f" and np.all(np.mod(t, 1) == 0)):
        raise ValueError(f"targets must be integer class indices, got dtype {t.dtype} ({t!r})")
    t = t.astype(np.int64)
    if t.size and (t.min() < 0 or t.max() >= num_classes):
        raise ValueError(f"targets must be in [0, {num_classes - 1}], got {t.tolist()}")
    return t


class ClassifierRewardModel:
    """A classifier plus a reward mode (the reward *model*; the wrappers move data to it).

    Args:
        classifier: a :class:`Classifier`, a zoo name or a checkpoint path. Judges
            (evaluation-only classifiers) are refused: a reward they gave could not be judged.
        mode: one of :data:`MODES`.
        gamma: discount used by ``delta`` shaping (1.0 makes the return telescope exactly).
        env_reward_weight: weight of the wrapped env's own reward in :meth:`total` (finite).
        baseline, baseline_alpha: mode ``goal_baseline``: the baseline prompts and the
            projection strength (CLIP).
    """

    def __init__(
        self,
        classifier: Classifier | str,
        mode: str = "delta",
        *,
        gamma: float = 1.0,
        env_reward_weight: float = 0.0,
        device: str = "auto",
        baseline: tuple[str, ...] | None = None,
        baseline_alpha: float = GOAL_BASELINE_ALPHA,
    ) -> None:
        spec = RewardSpec(
            mode=mode,
            gamma=gamma,
            env_reward_weight=env_reward_weight,
            baseline=baseline,
            baseline_alpha=baseline_alpha,
        )
        self.classifier = load_classifier(classifier, device=device)
        if self.classifier.evaluation_only:
            raise ValueError(
                f"classifier {self.classifier.name!r} is a judge (evaluation only) and cannot "
                "be a reward: its verdicts on the agent's images would no longer be independent"
            )
        self.mode = spec.mode
        self.gamma = float(spec.gamma)
        self.env_reward_weight = float(spec.env_reward_weight)
        self.goal_baseline = None
        if spec.mode == "goal_baseline":
            from flatnet_rl.clip import ClipNet, GoalBaseline

            if not isinstance(self.classifier.model, ClipNet):
                raise ValueError(
                    f"reward mode goal_baseline needs a CLIP classifier (Classifier.from_clip), "
                    f"got {self.classifier.name!r}"
                )
            prompts = self.classifier.metadata["clip"]["class_prompts"]
            self.goal_baseline = GoalBaseline(
                self.classifier.model, prompts, spec.baseline, spec.baseline_alpha
            )

    @classmethod
    def from_spec(cls, classifier: Classifier | str, spec: RewardSpec) -> ClassifierRewardModel:
        return cls(
            classifier,
            spec.mode,
            gamma=spec.gamma,
            env_reward_weight=spec.env_reward_weight,
            device=spec.device,
            baseline=spec.baseline,
            baseline_alpha=spec.baseline_alpha,
        )

    @property
    def canvas_size(self) -> int:
        return self.classifier.canvas_size

    @property
    def num_classes(self) -> int:
        return self.classifier.num_classes

    def score_input(
        self, batch: torch.Tensor, targets: np.ndarray, *, distinct: bool = False
    ) -> Scores:
        """Scores of prepared model input ``(N, C, H, W)`` (one classifier call).

        ``distinct=True`` runs the classifier on each distinct input once (worth it for a
        rollout: a pen moving with the pen up leaves the canvas as it was).
        """
        targets = check_targets(targets, self.num_classes)
        if len(batch) != len(targets):
            raise ValueError(f"{len(batch)} images but {len(targets)} targets")
        inverse = None
        if distinct and len(batch) > 1:
            first, inverse = distinct_rows(batch)
            if len(first) < len(batch):
                batch = batch[torch.from_numpy(first).to(batch.device)]
            else:
                inverse = None
        goal = None
        if self.goal_baseline is None:
            probs = self.classifier.probs_of_input(batch).double().cpu().numpy()
        else:  # one pass of the image tower for both
            logits, rewards = self.goal_baseline(batch.to(self.classifier.device))
            probs = logits.float().softmax(-1).double().cpu().numpy()
            goal = rewards.double().cpu().numpy()
            goal = goal if inverse is None else goal[inverse]
        return Scores.from_probs(probs if inverse is None else probs[inverse], targets, goal)

    def score(self, images: Any, targets: np.ndarray, **prepare: Any) -> Scores:
        """Scores of images (any form :meth:`Classifier.prepare` reads, batched)."""
        batch, _ = self.classifier.prepare(images, batched=True, **prepare)
        return self.score_input(batch, targets)

    def value(self, scores: Scores) -> np.ndarray:
        """The per-state quantity of the mode: the reward itself, or the potential Phi."""
        if self.mode in ("log_prob", "delta_log"):
            return log_clipped(scores.p_target)
        if self.mode == "pmi":
            return log_clipped(scores.p_target) + np.log(self.num_classes)
        if self.mode == "entropy":
            return -scores.entropy
        if self.mode == "goal_baseline":
            return scores.goal
        return scores.p_target  # prob, delta (Phi), final

    def reward(
        self, value: np.ndarray, previous: np.ndarray | None, episode_over: np.ndarray
    ) -> np.ndarray:
        """Rewards from this step's values, last step's values (``delta``) and end flags."""
        if self.mode in ("delta", "delta_log"):
            if previous is None:
                raise RuntimeError("delta reward needs the previous potential: reset first")
            return self.gamma * value - previous
        if self.mode == "final":
            return np.where(episode_over, value, 0.0)
        return value

    def total(self, learned: np.ndarray, env_reward: np.ndarray) -> np.ndarray:
        """What the wrappers return: the learned reward plus ``env_reward_weight`` times the
        wrapped env's own reward."""
        return learned + self.env_reward_weight * env_reward
