"""Input checks shared by the reward-model metrics (:mod:`~flatnet_rl.evaluation.metrics`,
:mod:`~flatnet_rl.evaluation.smoothness`): each raises :class:`ValueError` naming the expected
and the received shape. Probabilities are expected in ``[0, 1]`` (a tolerance of ``1e-6`` is
allowed for rounding); rows are not required to sum to one."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PROB_TOL = 1e-6


def float_array(x: npt.ArrayLike, name: str) -> np.ndarray:
    """``x`` as a float64 array; rejects non-numeric dtypes and NaN/inf."""
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.size and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def check_prob_range(arr: np.ndarray, name: str) -> None:
    if arr.size and (arr.min() < -PROB_TOL or arr.max() > 1.0 + PROB_TOL):
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in "
            f"[{arr.min():g}, {arr.max():g}]"
        )


def probs_array(probs: npt.ArrayLike, name: str = "probs", ndim: int | None = None) -> np.ndarray:
    """Validate class probabilities of shape ``(..., K)`` (or exactly ``ndim`` dims)."""
    arr = float_array(probs, name)
    if ndim is not None and arr.ndim != ndim:
        expected = {2: "(N, K)", 3: "(P, T+1, K)"}.get(ndim, f"{ndim}-d")
        raise ValueError(f"{name} must have shape {expected}, got shape {arr.shape}")
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (..., K) with K >= 1, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    check_prob_range(arr, name)
    return arr


def labels_array(labels: npt.ArrayLike, n: int, k: int, name: str = "labels") -> np.ndarray:
    """Validate integer class labels of shape ``(n,)`` with values in ``[0, k)``."""
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= k):
        raise ValueError(f"{name} must lie in [0, {k}), got values in [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64, copy=False)


def scores_array(scores: npt.ArrayLike, name: str) -> np.ndarray:
    """Validate a non-empty 1-d score vector ``(N,)``."""
    arr = float_array(scores, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr


def paths_array(r: npt.ArrayLike, name: str = "r") -> np.ndarray:
    """Validate a reward path ``(T+1,)`` or a batch of paths ``(P, T+1)``."""
    arr = float_array(r, name)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (T+1,) or (P, T+1), got shape {arr.shape}")
    if arr.shape[-1] < 1:
        raise ValueError(f"{name} must hold at least one point per path, got shape {arr.shape}")
    return arr


def path_rows(r: npt.ArrayLike) -> tuple[np.ndarray, bool]:
    """A validated reward path or batch (:func:`paths_array`) as rows ``(P, T+1)``, and
    whether it was a batch (for :func:`one_or_batch`)."""
    arr = paths_array(r)
    return np.atleast_2d(arr), arr.ndim == 2


def one_or_batch(values: np.ndarray, batched: bool) -> float | np.ndarray:
    return values if batched else float(values[0])
