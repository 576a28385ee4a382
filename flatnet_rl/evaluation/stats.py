"""Aggregate results over seeds honestly: IQM, stratified bootstrap CIs, P(improvement).

The estimators of Agarwal et al. 2021 ("Deep RL at the edge of the statistical precipice",
the ``rliable`` library), on a score matrix ``(runs, tasks)``: here a run is a training seed
and a task is a target class (so every run contributes one score per class):

* :func:`iqm`: the interquartile mean of all scores (mean of the middle 50%; scipy's
  ``trim_mean(x, 0.25)``), robust to a few outlier runs yet using half the data;
* :func:`stratified_bootstrap_ci`: percentile confidence interval of any aggregate,
  resampling runs with replacement independently within each task (rliable's
  ``StratifiedBootstrap``);
* :func:`probability_of_improvement`: ``P(X > Y)`` averaged over tasks, ties counting one
  half (the Mann-Whitney U statistic), with its own stratified bootstrap CI.

Implemented here with numpy/scipy rather than by importing ``rliable``: its latest release
(1.2.0) fails at import with current ``arch``/``pandas`` (``TypeError`` in
``arch.utility.deprecate_kwarg``), and it pulls in seaborn and pandas for these few lines.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import trim_mean

Statistic = Callable[[np.ndarray], float]


def _matrix(scores: np.ndarray, name: str = "scores") -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must be (runs, tasks) or (runs,), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all scores of a ``(runs, tasks)`` matrix."""
    return float(trim_mean(_matrix(scores).ravel(), 0.25))


def mean(scores: np.ndarray) -> float:
    return float(_matrix(scores).mean())


def stratified_bootstrap_ci(
    scores: np.ndarray,
    statistic: Statistic = iqm,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile CI of ``statistic`` over stratified bootstrap resamples.

    Each resample draws, for every task (column) independently, ``runs`` rows with
    replacement. With one run the interval collapses to the point estimate.
    """
    x = _matrix(scores)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    runs, tasks = x.shape
    rng = np.random.default_rng(seed)
    values = np.empty(reps)
    columns = np.arange(tasks)[None, :]
    for r in range(reps):
        rows = rng.integers(0, runs, size=(runs, tasks))
        values[r] = statistic(x[rows, columns])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """``mean_task P(X > Y) + 0.5 P(X = Y)`` for score matrices ``(runs_x, tasks)`` and
    ``(runs_y, tasks)`` (every run of X against every run of Y, per task)."""
    a, b = _matrix(x, "x"), _matrix(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"x and y need the same tasks, got {a.shape} and {b.shape}")
    greater = (a[:, None, :] > b[None, :, :]).mean(axis=(0, 1))
    ties = (a[:, None, :] == b[None, :, :]).mean(axis=(0, 1))
    return float(np.mean(greater + 0.5 * ties))


def probability_of_improvement_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    reps: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Stratified bootstrap CI of :func:`probability_of_improvement` (both sides resampled)."""
    a, b = _matrix(x, "x"), _matrix(y, "y")
    rng = np.random.default_rng(seed)
    columns = np.arange(a.shape[1])[None, :]
    values = np.empty(reps)
    for r in range(reps):
        ra = a[rng.integers(0, len(a), size=a.shape), columns]
        rb = b[rng.integers(0, len(b), size=b.shape), columns]
        values[r] = probability_of_improvement(ra, rb)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def summarize_runs(scores: np.ndarray, *, reps: int = 2000, seed: int = 0) -> dict[str, float]:
    """IQM and mean of a ``(runs, tasks)`` matrix, each with its 95% stratified CI, and the
    spread of per-run means (min, max)."""
    x = _matrix(scores)
    iqm_low, iqm_high = stratified_bootstrap_ci(x, iqm, reps=reps, seed=seed)
    mean_low, mean_high = stratified_bootstrap_ci(x, mean, reps=reps, seed=seed)
    per_run = x.mean(axis=1)
    return {
        "runs": int(x.shape[0]),
        "iqm": iqm(x),
        "iqm_low": iqm_low,
        "iqm_high": iqm_high,
        "mean": mean(x),
        "mean_low": mean_low,
        "mean_high": mean_high,
        "run_min": float(per_run.min()),
        "run_max": float(per_run.max()),
    }
