"""Classifier-agnostic metrics of false-positive reward: numpy arrays in, floats or arrays out.

Following ``docs/methods.md``, how much reward a classifier hands to non-digits:
:func:`accuracy`, :func:`expected_calibration_error`, :func:`max_probability` (MSP),
:func:`entropy`, :func:`fpr_at_tpr`, :func:`auroc`, :func:`false_positive_summary`.
Reward smoothness along paths is in :mod:`flatnet_rl.evaluation.smoothness`; reward hacking
(proxy vs judges of agents' images) lives with the agents: :mod:`flatnet_rl.agents.hacking`.

Every function validates its inputs (:mod:`flatnet_rl.evaluation.metric_inputs`) and raises
:class:`ValueError` naming the expected and the received shape.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flatnet_rl.evaluation.metric_inputs import (
    labels_array,
    probs_array,
    scores_array,
)
from flatnet_rl.numerics import entropy as _entropy
from flatnet_rl.util.checks import is_int

__all__ = [
    "accuracy",
    "auroc",
    "entropy",
    "expected_calibration_error",
    "false_positive_summary",
    "fpr_at_tpr",
    "max_probability",
]


# ------------------------------------------------------------------ false-positive reward


def accuracy(probs: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Top-1 accuracy: ``mean_i [argmax_k probs[i, k] == labels[i]]``.

    Args:
        probs: class probabilities (or any scores) ``(N, K)``, N >= 1.
        labels: integer labels ``(N,)`` in ``[0, K)``.

    Ties in the argmax go to the lowest class index (``numpy.argmax``).
    """
    p = probs_array(probs, ndim=2)
    y = labels_array(labels, p.shape[0], p.shape[1])
    return float(np.mean(np.argmax(p, axis=1) == y))


def expected_calibration_error(
    probs: npt.ArrayLike, labels: npt.ArrayLike, n_bins: int = 15
) -> float:
    """Expected calibration error (top-label, L1, equal-width confidence bins).

    ``ECE = sum_b (|B_b| / N) * |acc(B_b) - conf(B_b)|`` where the confidence of a sample is
    its MSP ``max_k p_k``, ``B_b`` are ``n_bins`` equal-width bins on ``[0, 1]``, ``acc`` the
    fraction of correct top-1 predictions in a bin and ``conf`` its mean confidence
    (Guo et al. 2017). Computed with
    ``torchmetrics.functional.classification.multiclass_calibration_error(norm="l1")``,
    the reference implementation named in ``docs/methods.md``.

    Args:
        probs: class probabilities ``(N, K)``.
        labels: integer labels ``(N,)`` in ``[0, K)``.
        n_bins: number of equal-width bins (default 15).
    """
    import torch
    from torchmetrics.functional.classification import multiclass_calibration_error

    if not is_int(n_bins) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    p = probs_array(probs, ndim=2)
    k = p.shape[1]
    if k < 2:
        raise ValueError(f"probs must have shape (N, K) with K >= 2, got shape {p.shape}")
    y = labels_array(labels, p.shape[0], k)
    # Clip rounding slack so torchmetrics sees probabilities (out-of-range preds are
    # otherwise softmaxed by torchmetrics).
    preds = torch.from_numpy(np.clip(p, 0.0, 1.0))
    value = multiclass_calibration_error(
        preds, torch.from_numpy(y), num_classes=k, n_bins=int(n_bins), norm="l1"
    )
    return float(value)


def max_probability(probs: npt.ArrayLike) -> np.ndarray:
    """Maximum softmax probability (MSP, Hendrycks & Gimpel 2017): ``max_k p_k``.

    Args:
        probs: probabilities ``(..., K)``.

    Returns:
        Array of shape ``(...)`` (the class axis removed). ``1/K`` is perfectly flat.
    """
    return probs_array(probs).max(axis=-1)


def entropy(probs: npt.ArrayLike) -> np.ndarray:
    """Shannon entropy in nats: ``H(p) = -sum_k p_k log p_k`` with ``0 log 0 = 0``.

    Args:
        probs: probabilities ``(..., K)``.

    Returns:
        Array of shape ``(...)``; ``log K`` for the uniform distribution, 0 for a one-hot.
    """
    return _entropy(probs_array(probs))


def fpr_at_tpr(in_scores: npt.ArrayLike, out_scores: npt.ArrayLike, tpr: float = 0.95) -> float:
    """False-positive rate at a given true-positive rate, class-positive convention.

    Positives are real digits (``in_scores``), negatives non-digit images (``out_scores``);
    a higher score (e.g. the MSP) means "more digit-like". The threshold is the largest
    value ``t`` with ``mean(in_scores >= t) >= tpr``, i.e. the ``ceil(tpr * N_in)``-th
    largest in-distribution score; the result is ``mean(out_scores >= t)``. Ties at the
    threshold count as positive, so a perfectly flat model (all scores equal) gets 1.0.
    This equals the FPR at the first point of ``sklearn.metrics.roc_curve(...,
    drop_intermediate=False)`` whose TPR reaches ``tpr`` (no interpolation). The other
    convention (OOD-positive, scores negated) gives different numbers.

    Args:
        in_scores: scores of positives ``(N_in,)``.
        out_scores: scores of negatives ``(N_out,)``.
        tpr: target true-positive rate in ``(0, 1]`` (default 0.95, "FPR95").
    """
    s_in = scores_array(in_scores, "in_scores")
    s_out = scores_array(out_scores, "out_scores")
    if not 0.0 < float(tpr) <= 1.0:
        raise ValueError(f"tpr must lie in (0, 1], got {tpr!r}")
    n_keep = max(1, math.ceil(float(tpr) * s_in.size - 1e-9))
    threshold = np.sort(s_in)[::-1][n_keep - 1]
    return float(np.mean(s_out >= threshold))


def auroc(in_scores: npt.ArrayLike, out_scores: npt.ArrayLike) -> float:
    """Area under the ROC curve separating digits (label 1) from non-digits (label 0).

    Computed with ``sklearn.metrics.roc_auc_score``; ties count one half, so equal scores
    everywhere give 0.5 and a perfect separation (all ``in > out``) gives 1.0.

    Args:
        in_scores: scores of digits ``(N_in,)``.
        out_scores: scores of non-digits ``(N_out,)``.
    """
    from sklearn.metrics import roc_auc_score

    s_in = scores_array(in_scores, "in_scores")
    s_out = scores_array(out_scores, "out_scores")
    y = np.concatenate([np.ones(s_in.size), np.zeros(s_out.size)])
    return float(roc_auc_score(y, np.concatenate([s_in, s_out])))


def false_positive_summary(
    in_probs: npt.ArrayLike,
    out_probs: npt.ArrayLike,
    targets: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """False-positive reward of a classifier on non-digit images.

    Args:
        in_probs: probabilities on real digits ``(N_in, K)``.
        out_probs: probabilities on non-digit images ``(N_out, K)``.
        targets: optional integer target class per non-digit image ``(N_out,)``.

    Returns:
        ``mean_msp``: mean MSP over ``out_probs`` (``1/K`` = perfectly flat);
        ``mean_p_target``: mean of ``out_probs[i, targets[i]]``, or, without ``targets``,
        the mean over all images and classes (= the expected reward for a target drawn
        uniformly at random; ``1/K`` when rows sum to one);
        ``fpr95``: :func:`fpr_at_tpr` of the MSP at TPR 0.95 (digit-positive);
        ``auroc``: :func:`auroc` of the MSP, digits vs non-digits.
    """
    p_in = probs_array(in_probs, "in_probs", ndim=2)
    p_out = probs_array(out_probs, "out_probs", ndim=2)
    if p_in.shape[1] != p_out.shape[1]:
        raise ValueError(
            f"in_probs and out_probs must have the same number of classes: expected "
            f"out_probs shape ({p_out.shape[0]}, {p_in.shape[1]}), got {p_out.shape}"
        )
    msp_in = p_in.max(axis=1)
    msp_out = p_out.max(axis=1)
    if targets is None:
        mean_p_target = float(p_out.mean())
    else:
        t = labels_array(targets, p_out.shape[0], p_out.shape[1], "targets")
        mean_p_target = float(p_out[np.arange(p_out.shape[0]), t].mean())
    return {
        "mean_msp": float(msp_out.mean()),
        "mean_p_target": mean_p_target,
        "fpr95": fpr_at_tpr(msp_in, msp_out, 0.95),
        "auroc": auroc(msp_in, msp_out),
    }
