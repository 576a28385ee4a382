"""Classifier-agnostic metrics for reward models: numpy arrays in, floats or arrays out.

Three families, following ``docs/methods.md``:

* **False-positive reward** (how much reward a classifier hands to non-digits):
  :func:`accuracy`, :func:`expected_calibration_error`, :func:`max_probability` (MSP),
  :func:`entropy`, :func:`fpr_at_tpr`, :func:`auroc`, :func:`false_positive_summary`.
* **Reward smoothness** along a path of rewards ``r_0 .. r_T`` (flatnet's morph path or an
  RL trajectory): :func:`total_variation_ratio`, :func:`increment_autocorrelation`,
  :func:`argmax_flips`, :func:`mean_abs_increment`, :func:`smoothness_summary`.
  No paper publishes a standard smoothness metric; these are this project's definitions.
* Reward hacking (proxy vs judges of agents' images) lives with the agents:
  :mod:`flatnet_rl.agents.hacking`.

Every function validates its inputs and raises :class:`ValueError` naming the expected and
the received shape. Probabilities are expected in ``[0, 1]`` (a tolerance of ``1e-6`` is
allowed for rounding); rows are not required to sum to one.

This module is long because every metric states its formula, conventions and edge cases
in its docstring; the code itself is short.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from flatnet_rl.numerics import entropy as _entropy
from flatnet_rl.util.checks import is_int

__all__ = [
    "accuracy",
    "argmax_flips",
    "auroc",
    "entropy",
    "expected_calibration_error",
    "false_positive_summary",
    "fpr_at_tpr",
    "increment_autocorrelation",
    "max_probability",
    "mean_abs_increment",
    "smoothness_summary",
    "total_variation_ratio",
]

_PROB_TOL = 1e-6
# Increments whose spread is below this fraction of their magnitude count as constant.
_REL_VAR_TOL = 1e-9


# --------------------------------------------------------------------------- validation


def _float_array(x: npt.ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float64 array; rejects non-numeric dtypes and NaN/inf."""
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _check_prob_range(arr: np.ndarray, name: str) -> None:
    if arr.size and (arr.min() < -_PROB_TOL or arr.max() > 1.0 + _PROB_TOL):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in "
            f"[{arr.min():g}, {arr.max():g}]"
        )


def _probs(probs: npt.ArrayLike, name: str = "probs", ndim: int | None = None) -> np.ndarray:
    """Validate class probabilities of shape ``(..., K)`` (or exactly ``ndim`` dims)."""
    arr = _float_array(probs, name)
    if ndim is not None and arr.ndim != ndim:
        expected = {2: "(N, K)", 3: "(P, T+1, K)"}.get(ndim, f"{ndim}-d")
        raise ValueError(f"{name} must have shape {expected}, got shape {arr.shape}")
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (..., K) with K >= 1, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    _check_prob_range(arr, name)
    return arr


def _labels(labels: npt.ArrayLike, n: int, k: int, name: str = "labels") -> np.ndarray:
    """Validate integer class labels of shape ``(n,)`` with values in ``[0, k)``."""
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        raise ValueError(f"{name} must lie in [0, {k}), got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=False)


def _scores(scores: npt.ArrayLike, name: str) -> np.ndarray:
    """Validate a non-empty 1-d score vector ``(N,)``."""
    arr = _float_array(scores, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def _paths(r: npt.ArrayLike, name: str = "r") -> np.ndarray:
    """Validate a reward path ``(T+1,)`` or a batch of paths ``(P, T+1)``."""
    arr = _float_array(r, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (T+1,) or (P, T+1), got shape {arr.shape}")
    if arr.shape[-1] < 1:
        raise ValueError(f"{name} must hold at least one point per path, got shape {arr.shape}")
    return arr


def _out(values: np.ndarray, batched: bool) -> float | np.ndarray:
    return values if batched else float(values[0])


# ------------------------------------------------------------------ false-positive reward


def accuracy(probs: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Top-1 accuracy: ``mean_i [argmax_k probs[i, k] == labels[i]]``.

    Args:
        probs: class probabilities (or any scores) ``(N, K)``, N >= 1.
        labels: integer labels ``(N,)`` in ``[0, K)``.

    Ties in the argmax go to the lowest class index (``numpy.argmax``).
    """
    p = _probs(probs, ndim=2)
    y = _labels(labels, p.shape[0], p.shape[1])
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
    p = _probs(probs, ndim=2)
    k = p.shape[1]
    if k < 2:
        raise ValueError(f"probs must have shape (N, K) with K >= 2, got shape {p.shape}")
    y = _labels(labels, p.shape[0], k)
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
    return _probs(probs).max(axis=-1)


def entropy(probs: npt.ArrayLike) -> np.ndarray:
    """Shannon entropy in nats: ``H(p) = -sum_k p_k log p_k`` with ``0 log 0 = 0``.

    Args:
        probs: probabilities ``(..., K)``.

    Returns:
        Array of shape ``(...)``; ``log K`` for the uniform distribution, 0 for a one-hot.
    """
    return _entropy(_probs(probs))


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
    s_in = _scores(in_scores, "in_scores")
    s_out = _scores(out_scores, "out_scores")
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

    s_in = _scores(in_scores, "in_scores")
    s_out = _scores(out_scores, "out_scores")
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
    p_in = _probs(in_probs, "in_probs", ndim=2)
    p_out = _probs(out_probs, "out_probs", ndim=2)
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
        t = _labels(targets, p_out.shape[0], p_out.shape[1], "targets")
        mean_p_target = float(p_out[np.arange(p_out.shape[0]), t].mean())
    return {
        "mean_msp": float(msp_out.mean()),
        "mean_p_target": mean_p_target,
        "fpr95": fpr_at_tpr(msp_in, msp_out, 0.95),
        "auroc": auroc(msp_in, msp_out),
    }


# ---------------------------------------------------------------------- reward smoothness


def total_variation_ratio(r: npt.ArrayLike, eps: float = 1e-8) -> float | np.ndarray:
    """Total variation of a reward path over its net change.

    ``TV(r) = sum_{t=0}^{T-1} |r_{t+1} - r_t| / |r_T - r_0|``. It is ``>= 1``, and exactly
    1.0 for a monotone path; larger values mean the reward goes up and down on the way.
    When ``|r_T - r_0| < eps`` the ratio is undefined and NaN is returned (this includes
    single-point paths).

    Args:
        r: one path ``(T+1,)`` or a batch ``(P, T+1)``.
        eps: smallest net change for which the ratio is defined.

    Returns:
        A float for one path, an array ``(P,)`` for a batch.
    """
    arr = _paths(r)
    batched = arr.ndim == 2
    a = np.atleast_2d(arr)
    tv = np.abs(np.diff(a, axis=1)).sum(axis=1)
    net = np.abs(a[:, -1] - a[:, 0])
    ok = net >= eps
    ratio = np.full(a.shape[0], np.nan)
    ratio[ok] = tv[ok] / net[ok]
    return _out(ratio, batched)


def increment_autocorrelation(r: npt.ArrayLike) -> float | np.ndarray:
    """Lag-1 autocorrelation (Pearson) of the reward increments ``d_t = r_{t+1} - r_t``.

    ``corr(d_{0..T-2}, d_{1..T-1})``: near +1 the reward changes in persistent trends, near
    0 like independent noise, near -1 it zig-zags. NaN when there are fewer than 3
    increments (``T < 3``) or when either lagged series has zero variance (spread below
    ``1e-9`` times the largest ``|d_t|``, so float noise on a linear path does not count).

    Args:
        r: one path ``(T+1,)`` or a batch ``(P, T+1)``.

    Returns:
        A float for one path, an array ``(P,)`` for a batch.
    """
    arr = _paths(r)
    batched = arr.ndim == 2
    a = np.atleast_2d(arr)
    n_paths = a.shape[0]
    d = np.diff(a, axis=1)
    if d.shape[1] < 3:
        return _out(np.full(n_paths, np.nan), batched)
    x = d[:, :-1] - d[:, :-1].mean(axis=1, keepdims=True)
    y = d[:, 1:] - d[:, 1:].mean(axis=1, keepdims=True)
    sx = np.sqrt((x * x).sum(axis=1))
    sy = np.sqrt((y * y).sum(axis=1))
    scale = np.abs(d).max(axis=1) * np.sqrt(x.shape[1])
    ok = (sx > _REL_VAR_TOL * scale) & (sy > _REL_VAR_TOL * scale) & (scale > 0)
    corr = np.full(n_paths, np.nan)
    corr[ok] = (x[ok] * y[ok]).sum(axis=1) / (sx[ok] * sy[ok])
    return _out(np.clip(corr, -1.0, 1.0), batched)


def argmax_flips(probs_path: npt.ArrayLike) -> int | np.ndarray:
    """Number of steps where the predicted class changes: ``#{t : argmax p_{t+1} != argmax p_t}``.

    Ties in the argmax go to the lowest class index (``numpy.argmax``), so a path that stays
    exactly uniform has 0 flips.

    Args:
        probs_path: one path of probabilities ``(T+1, K)`` or a batch ``(P, T+1, K)``.

    Returns:
        An int for one path, an int array ``(P,)`` for a batch.
    """
    arr = _float_array(probs_path, "probs_path")
    if arr.ndim not in (2, 3) or arr.shape[-1] < 1 or arr.shape[-2] < 1:
        raise ValueError(
            f"probs_path must have shape (T+1, K) or (P, T+1, K), got shape {arr.shape}"
        )
    _check_prob_range(arr, "probs_path")
    top = np.argmax(arr, axis=-1)
    flips = np.count_nonzero(np.diff(top, axis=-1) != 0, axis=-1)
    return flips.astype(np.int64) if arr.ndim == 3 else int(flips)


def mean_abs_increment(r: npt.ArrayLike) -> float | np.ndarray:
    """Mean absolute reward change per step: ``(1/T) sum_t |r_{t+1} - r_t|``.

    NaN for a single-point path (no steps).

    Args:
        r: one path ``(T+1,)`` or a batch ``(P, T+1)``.

    Returns:
        A float for one path, an array ``(P,)`` for a batch.
    """
    arr = _paths(r)
    batched = arr.ndim == 2
    a = np.atleast_2d(arr)
    if a.shape[1] < 2:
        return _out(np.full(a.shape[0], np.nan), batched)
    return _out(np.abs(np.diff(a, axis=1)).mean(axis=1), batched)


def _nanmean(values: list[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    finite = ~np.isnan(arr)
    return float(arr[finite].mean()) if finite.any() else float("nan")


def smoothness_summary(
    reward_paths: list[np.ndarray], prob_paths: list[np.ndarray] | None = None
) -> dict[str, float | int]:
    """Average smoothness of many reward paths (which may differ in length).

    Args:
        reward_paths: list of 1-d reward paths, path ``i`` of shape ``(T_i+1,)``.
        prob_paths: list of matching probability paths, path ``i`` of shape ``(T_i+1, K)``;
            ``None`` (e.g. RL trajectories without class probabilities) gives NaN flips.

    Returns:
        ``tv_ratio``: NaN-mean of :func:`total_variation_ratio` (paths with no net change
        are skipped); ``autocorr``: NaN-mean of :func:`increment_autocorrelation`;
        ``argmax_flips``: mean of :func:`argmax_flips`; ``mean_abs_delta``: NaN-mean of
        :func:`mean_abs_increment` (mean |delta r| per step, averaged over paths);
        ``n_paths``: number of paths. A mean over no defined value is NaN.
    """
    if not isinstance(reward_paths, list | tuple) or len(reward_paths) == 0:
        raise ValueError(
            f"reward_paths must be a non-empty list of (T_i+1,) arrays, got {type(reward_paths)}"
        )
    if prob_paths is not None and len(prob_paths) != len(reward_paths):
        raise ValueError(
            f"prob_paths must hold one path per reward path: expected {len(reward_paths)}, "
            f"got {len(prob_paths)}"
        )
    tv, ac, mad, flips = [], [], [], []
    for i, rp in enumerate(reward_paths):
        r = _paths(rp, f"reward_paths[{i}]")
        if r.ndim != 1:
            raise ValueError(f"reward_paths[{i}] must have shape (T+1,), got shape {r.shape}")
        tv.append(total_variation_ratio(r))
        ac.append(increment_autocorrelation(r))
        mad.append(mean_abs_increment(r))
        if prob_paths is not None:
            pp = np.asarray(prob_paths[i])
            if pp.ndim != 2 or pp.shape[0] != r.shape[0]:
                raise ValueError(
                    f"prob_paths[{i}] must have shape ({r.shape[0]}, K), got shape {pp.shape}"
                )
            flips.append(argmax_flips(pp))
    return {
        "tv_ratio": _nanmean(tv),
        "autocorr": _nanmean(ac),
        "argmax_flips": float(np.mean(flips)) if flips else float("nan"),
        "mean_abs_delta": _nanmean(mad),
        "n_paths": len(reward_paths),
    }
