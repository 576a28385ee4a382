"""The seed-aggregation estimators (IQM, stratified bootstrap, P(improvement))."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flatnet_rl.evaluation.stats import (
    iqm,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
    summarize_runs,
)

scores = arrays(
    np.float64,
    st.tuples(st.integers(1, 6), st.integers(1, 4)),
    elements=st.floats(0, 1, allow_nan=False, width=32),
)


def test_iqm_is_the_mean_of_the_middle_half():
    assert iqm(np.arange(1.0, 9.0).reshape(4, 2)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert iqm(np.array([0.0, 0.5, 0.5, 1000.0])) == pytest.approx(0.5)  # robust to outliers


@settings(max_examples=60, deadline=None)
@given(scores)
def test_iqm_and_its_interval_lie_within_the_scores(x):
    low, high = stratified_bootstrap_ci(x, reps=50)
    assert x.min() - 1e-12 <= iqm(x) <= x.max() + 1e-12
    assert x.min() - 1e-12 <= low <= high <= x.max() + 1e-12


def test_bootstrap_resamples_runs_within_each_task():
    x = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0]])
    seen = []

    def record(sample: np.ndarray) -> float:
        seen.append(sample.copy())
        return float(sample.mean())

    stratified_bootstrap_ci(x, record, reps=30)
    for sample in seen:
        assert set(sample[:, 0]) <= {0.0, 1.0, 2.0} and set(sample[:, 1]) <= {10.0, 11.0, 12.0}
    # Rows are drawn per task, not as whole runs: some resample mixes rows across tasks.
    assert any((s[:, 1] - s[:, 0] != 10.0).any() for s in seen)


def test_one_run_collapses_the_interval_and_a_seed_fixes_it():
    x = np.array([[0.2, 0.9, 0.4]])
    assert stratified_bootstrap_ci(x, reps=20) == pytest.approx((iqm(x), iqm(x)))
    y = np.random.default_rng(0).random((5, 3))
    assert stratified_bootstrap_ci(y, seed=3) == stratified_bootstrap_ci(y, seed=3)


@settings(max_examples=60, deadline=None)
@given(scores, st.integers(1, 5))
def test_probability_of_improvement_is_antisymmetric(x, runs_y):
    y = np.random.default_rng(runs_y).random((runs_y, x.shape[1]))
    forward, backward = probability_of_improvement(x, y), probability_of_improvement(y, x)
    assert forward + backward == pytest.approx(1.0)
    assert probability_of_improvement(x, x) == pytest.approx(0.5)


def test_probability_of_improvement_extremes_and_interval():
    better, worse = np.full((3, 2), 0.9), np.full((4, 2), 0.1)
    assert probability_of_improvement(better, worse) == 1.0
    assert probability_of_improvement_ci(better, worse, reps=20) == (1.0, 1.0)


def test_summary_and_bad_inputs():
    summary = summarize_runs(np.array([[0.1, 0.2], [0.3, 0.4]]), reps=20)
    assert summary["runs"] == 2 and summary["run_min"] == pytest.approx(0.15)
    with pytest.raises(ValueError, match="finite"):
        iqm(np.array([[0.1, np.nan]]))
    with pytest.raises(ValueError, match="same tasks"):
        probability_of_improvement(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="confidence"):
        stratified_bootstrap_ci(np.zeros((2, 2)), confidence=1.5)
