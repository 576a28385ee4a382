"""Reward smoothness along a path of rewards ``r_0 .. r_T`` (flatnet's morph path or an RL
trajectory): :func:`total_variation_ratio`, :func:`increment_autocorrelation`,
:func:`argmax_flips`, :func:`mean_abs_increment`, :func:`smoothness_summary`. No paper
publishes a standard smoothness metric; these are this project's definitions
(``docs/methods.md``). Inputs are checked as in :mod:`flatnet_rl.evaluation.metric_inputs`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from flatnet_rl.evaluation.metric_inputs import (
    check_prob_range,
    float_array,
    one_or_batch,
    path_rows,
    paths_array,
)

__all__ = [
    "argmax_flips",
    "increment_autocorrelation",
    "mean_abs_increment",
    "smoothness_summary",
    "total_variation_ratio",
]

# Increments whose spread is below this fraction of their magnitude count as constant.
_REL_VAR_TOL = 1e-9


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
    a, batched = path_rows(r)
    tv = np.abs(np.diff(a, axis=1)).sum(axis=1)
    net = np.abs(a[:, -1] - a[:, 0])
    ok = net >= eps
    ratio = np.full(a.shape[0], np.nan)
    ratio[ok] = tv[ok] / net[ok]
    return one_or_batch(ratio, batched)


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
    a, batched = path_rows(r)
    n_paths = a.shape[0]
    d = np.diff(a, axis=1)
    if d.shape[1] < 3:
        return one_or_batch(np.full(n_paths, np.nan), batched)
    x = d[:, :-1] - d[:, :-1].mean(axis=1, keepdims=True)
    y = d[:, 1:] - d[:, 1:].mean(axis=1, keepdims=True)
    sx = np.sqrt((x * x).sum(axis=1))
    sy = np.sqrt((y * y).sum(axis=1))
    scale = np.abs(d).max(axis=1) * np.sqrt(x.shape[1])
    ok = (sx > _REL_VAR_TOL * scale) & (sy > _REL_VAR_TOL * scale) & (scale > 0)
    corr = np.full(n_paths, np.nan)
    corr[ok] = (x[ok] * y[ok]).sum(axis=1) / (sx[ok] * sy[ok])
    return one_or_batch(np.clip(corr, -1.0, 1.0), batched)


def argmax_flips(probs_path: npt.ArrayLike) -> int | np.ndarray:
    """Number of steps where the predicted class changes: ``#{t : argmax p_{t+1} != argmax p_t}``.

    Ties in the argmax go to the lowest class index (``numpy.argmax``), so a path that stays
    exactly uniform has 0 flips.

    Args:
        probs_path: one path of probabilities ``(T+1, K)`` or a batch ``(P, T+1, K)``.

    Returns:
        An int for one path, an int array ``(P,)`` for a batch.
    """
    arr = float_array(probs_path, "probs_path")
    if arr.ndim not in (2, 3) or arr.shape[-1] < 1 or arr.shape[-2] < 1:
        raise ValueError(
            f"probs_path must have shape (T+1, K) or (P, T+1, K), got shape {arr.shape}"
        )
    check_prob_range(arr, "probs_path")
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
    a, batched = path_rows(r)
    if a.shape[1] < 2:
        return one_or_batch(np.full(a.shape[0], np.nan), batched)
    return one_or_batch(np.abs(np.diff(a, axis=1)).mean(axis=1), batched)


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
        r = paths_array(rp, f"reward_paths[{i}]")
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
