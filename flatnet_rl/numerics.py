"""Small numerical facts shared by every layer: one entropy, one clipping constant.

Lives at the bottom of the package (imports nothing from flatnet_rl), so the losses, the
reward, the agents' metrics and the evaluation all compute entropy the same way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

#: Keeps ``log p`` finite when a model outputs an exact 0 (reward modes ``log_prob``, ``pmi``).
LOG_EPS = 1e-8


def entropy(probs: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Shannon entropy in nats over the last axis, ``-sum_k p_k log p_k`` with ``0 log 0 = 0``.

    numpy in, numpy out; torch in, torch out. ``log K`` for the uniform distribution.
    """
    if isinstance(probs, torch.Tensor):
        p = probs.clamp_min(0.0)
        return -(p * torch.where(p > 0, p, torch.ones_like(p)).log()).sum(dim=-1)
    p = np.clip(np.asarray(probs, dtype=np.float64), 0.0, None)
    return -np.sum(p * np.log(np.where(p > 0.0, p, 1.0)), axis=-1)


def entropy_from_logits(logits: torch.Tensor) -> torch.Tensor:
    """``H(softmax(z))`` per row from log-probabilities: finite and differentiable at p = 0."""
    log_p = F.log_softmax(logits, dim=-1)
    return -(log_p.exp() * log_p).sum(dim=-1)


def log_clipped(p: np.ndarray) -> np.ndarray:
    """``log(max(p, LOG_EPS))`` for probabilities."""
    return np.log(np.clip(p, LOG_EPS, 1.0))
