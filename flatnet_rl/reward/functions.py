"""Reward functions computed from a classifier's output on canvases.

Two pieces, kept apart as in ``imitation``: a stateless :class:`RewardFn` protocol
(canvases and targets in, one reward per canvas out), and :class:`ClassifierRewardModel`,
which scores canvases once and turns the scores into the reward of any mode, including
the stateful ones (``delta`` needs the previous potential, ``final`` the episode end).
The env wrappers in :mod:`flatnet_rl.reward.wrappers` and :mod:`flatnet_rl.reward.vector`
only move data in and out of this model.

Modes (``p = classifier probabilities``, ``t = target``, ``K = 10``):

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
============  ==============================================  ===========================

``delta`` never forces ``Phi(terminal) = 0``: with the final reward kept, the episode return
is ``Phi(final) - Phi(start)``, which is exactly what the agent should maximise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from flatnet_rl.classifier import Classifier, load_classifier

MODES = ("prob", "log_prob", "pmi", "delta", "delta_log", "final", "entropy")
_LOG_EPS = 1e-8  # keeps log p finite when a model outputs an exact 0


@runtime_checkable
class RewardFn(Protocol):
    """``rewards = fn(canvases (N, H, W), targets (N,))`` with ``rewards.shape == (N,)``."""

    def __call__(self, canvases: np.ndarray, targets: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Scores:
    """One classifier call on a batch, reduced once: what rewards and ``info["flatnet"]`` are
    made of. Build it with :meth:`from_probs`; every field has one row per canvas."""

    probs: np.ndarray  # (N, K) float64
    targets: np.ndarray  # (N,) int64
    p_target: np.ndarray  # (N,)
    entropy: np.ndarray  # (N,) nats
    predicted: np.ndarray  # (N,) argmax class

    @classmethod
    def from_probs(cls, probs: np.ndarray, targets: np.ndarray) -> Scores:
        # Computed eagerly, once per call: the wrappers read these every env step.
        return cls(
            probs,
            targets,
            probs[np.arange(len(targets)), targets],
            -(probs * np.log(np.clip(probs, _LOG_EPS, 1.0))).sum(-1),
            probs.argmax(-1),
        )

    def take(self, indices: np.ndarray) -> Scores:
        """The scores of the canvases at ``indices``, in that order."""
        return Scores(
            self.probs[indices],
            self.targets[indices],
            self.p_target[indices],
            self.entropy[indices],
            self.predicted[indices],
        )

    def rows(self) -> list[dict]:
        """``info["flatnet"]`` of every canvas, as plain Python values (numpy ``probs``)."""
        return [
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
    """A classifier plus a reward mode.

    Args:
        classifier: a :class:`Classifier`, a zoo name or a checkpoint path.
        mode: one of :data:`MODES`.
        gamma: discount used by ``delta`` shaping (1.0 makes the return telescope exactly).
        env_reward_weight: weight of the wrapped env's own reward in :meth:`total` (finite).
    """

    def __init__(
        self,
        classifier: Classifier | str,
        mode: str = "delta",
        *,
        gamma: float = 1.0,
        env_reward_weight: float = 0.0,
        device: str = "auto",
    ) -> None:
        weight_ok = isinstance(env_reward_weight, (int, float, np.number)) and not isinstance(
            env_reward_weight, (bool, np.bool_)
        )
        if not weight_ok or not np.isfinite(env_reward_weight):
            raise ValueError(
                f"env_reward_weight must be a finite number, got {env_reward_weight!r}"
            )
        if mode not in MODES:
            raise ValueError(f"unknown reward mode {mode!r}; expected one of {MODES}")
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {gamma}")
        self.classifier = load_classifier(classifier, device=device)
        self.mode = mode
        self.gamma = float(gamma)
        self.env_reward_weight = float(env_reward_weight)

    @property
    def canvas_size(self) -> int:
        return self.classifier.canvas_size

    @property
    def num_classes(self) -> int:
        return self.classifier.num_classes

    @property
    def stateful(self) -> bool:
        return self.mode in ("delta", "delta_log", "final")

    def score(self, canvases: np.ndarray, targets: np.ndarray) -> Scores:
        targets = check_targets(targets, self.num_classes)
        probs = np.asarray(self.classifier.predict_proba(canvases), dtype=np.float64).reshape(
            -1, self.num_classes
        )
        if len(probs) != len(targets):
            raise ValueError(f"{len(probs)} canvases but {len(targets)} targets")
        return Scores.from_probs(probs, targets)

    def value(self, scores: Scores) -> np.ndarray:
        """The per-state quantity of the mode: the reward itself, or the potential Phi."""
        if self.mode in ("log_prob", "delta_log"):
            return np.log(np.clip(scores.p_target, _LOG_EPS, 1.0))
        if self.mode == "pmi":
            return np.log(np.clip(scores.p_target, _LOG_EPS, 1.0)) + np.log(self.num_classes)
        if self.mode == "entropy":
            return -scores.entropy
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

    def __call__(self, canvases: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """:class:`RewardFn` view: the per-state value (``delta``/``final`` give ``p_target``)."""
        return self.value(self.score(canvases, targets))
