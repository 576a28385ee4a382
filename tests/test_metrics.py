"""Known-answer tests for flatnet_rl.evaluation.metrics, .smoothness and .morph."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from flatnet_rl.agents.hacking import fooling_rate, hacking_summary
from flatnet_rl.evaluation.metrics import (
    accuracy,
    auroc,
    entropy,
    expected_calibration_error,
    false_positive_summary,
    fpr_at_tpr,
    max_probability,
)
from flatnet_rl.evaluation.morph import morph_path, morph_paths, pad_paths
from flatnet_rl.evaluation.smoothness import (
    argmax_flips,
    increment_autocorrelation,
    mean_abs_increment,
    smoothness_summary,
    total_variation_ratio,
)

K = 10


# ------------------------------------------------------------------ false-positive reward


def test_flat_model() -> None:
    in_probs = np.full((40, K), 0.1)
    out_probs = np.full((30, K), 0.1)
    np.testing.assert_allclose(max_probability(out_probs), 0.1)
    np.testing.assert_allclose(entropy(out_probs), math.log(K))
    summary = false_positive_summary(in_probs, out_probs)
    assert set(summary) == {"mean_msp", "mean_p_target", "fpr95", "auroc"}
    assert summary["mean_msp"] == pytest.approx(0.1)
    assert summary["mean_p_target"] == pytest.approx(0.1)
    assert summary["fpr95"] == 1.0  # out scores equal the threshold: ties count
    assert summary["auroc"] == 0.5
    targets = np.arange(30) % K
    assert false_positive_summary(in_probs, out_probs, targets)["mean_p_target"] == (
        pytest.approx(0.1)
    )


def test_perfect_model() -> None:
    labels = np.arange(50) % K
    in_probs = np.eye(K)[labels]
    out_probs = np.full((20, K), 0.1)
    assert accuracy(in_probs, labels) == 1.0
    assert expected_calibration_error(in_probs, labels) == pytest.approx(0.0, abs=1e-7)
    np.testing.assert_allclose(entropy(in_probs), 0.0, atol=0)
    summary = false_positive_summary(in_probs, out_probs)
    assert summary["fpr95"] == 0.0
    assert summary["auroc"] == 1.0
    assert summary["mean_msp"] == pytest.approx(0.1)


def test_accuracy_and_ece_hand_example() -> None:
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]])
    labels = np.array([0, 1, 1, 0])
    assert accuracy(probs, labels) == 0.75
    # bins of width 0.1 -> every confidence alone in its bin: ECE = mean |acc - conf|
    expected = (0.2 + 0.6 + 0.3 + 0.1) / 4
    assert expected_calibration_error(probs, labels, n_bins=10) == pytest.approx(expected)


def test_entropy_any_leading_shape_and_zero_safe() -> None:
    p = np.zeros((2, 3, 4))
    p[..., 0] = 0.5
    p[..., 1] = 0.5
    h = entropy(p)
    assert h.shape == (2, 3)
    np.testing.assert_allclose(h, math.log(2))
    assert max_probability(p).shape == (2, 3)
    assert np.isfinite(entropy(np.eye(3))).all()


def test_fpr_at_tpr_hand_example() -> None:
    in_scores = np.arange(1, 21) / 20  # 0.05 .. 1.0; 95% keeps 19 -> threshold 0.10
    out_scores = np.array([0.0, 0.05, 0.1, 0.5, 1.0])
    assert fpr_at_tpr(in_scores, out_scores) == pytest.approx(3 / 5)
    assert fpr_at_tpr(in_scores, out_scores, tpr=1.0) == pytest.approx(4 / 5)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tpr", [0.95, 0.8, 0.5])
def test_fpr_at_tpr_matches_sklearn_roc_curve(seed: int, tpr: float) -> None:
    rng = np.random.default_rng(seed)
    in_scores = rng.normal(1.0, 1.0, size=137)
    out_scores = rng.normal(0.0, 1.0, size=91)
    if seed == 2:  # heavy ties
        in_scores, out_scores = np.round(in_scores, 1), np.round(out_scores, 1)
    y = np.r_[np.ones(in_scores.size), np.zeros(out_scores.size)]
    fpr, tprs, _ = roc_curve(y, np.r_[in_scores, out_scores], drop_intermediate=False)
    expected = fpr[np.argmax(tprs >= tpr)]  # first ROC point reaching the TPR
    assert fpr_at_tpr(in_scores, out_scores, tpr) == pytest.approx(expected)


def test_auroc_direction() -> None:
    assert auroc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auroc([0.1, 0.2], [0.9, 0.8]) == 0.0


# ---------------------------------------------------------------------- reward smoothness


def test_monotone_path_tv_ratio_is_one() -> None:
    r = np.array([0.9, 0.7, 0.7, 0.4, 0.1])
    assert total_variation_ratio(r) == 1.0
    assert total_variation_ratio(np.linspace(0.1, 0.9, 50)) == pytest.approx(1.0)


def test_zigzag_tv_ratio() -> None:
    r = np.array([0.0, 0.5, 0.2, 0.6, 0.3, 0.4])
    # |0.5| + |-0.3| + |0.4| + |-0.3| + |0.1| = 1.6 over net 0.4
    assert total_variation_ratio(r) == pytest.approx(4.0)
    assert mean_abs_increment(r) == pytest.approx(1.6 / 5)


def test_tv_ratio_nan_without_net_change() -> None:
    assert math.isnan(total_variation_ratio([0.3, 0.5, 0.3]))
    assert math.isnan(total_variation_ratio([0.3]))


def test_batched_smoothness() -> None:
    r = np.array([[0.0, 0.5, 0.2, 0.6, 0.3, 0.4], [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]])
    tv = total_variation_ratio(r)
    assert isinstance(tv, np.ndarray) and tv.shape == (2,)
    np.testing.assert_allclose(tv, [4.0, 1.0])
    np.testing.assert_allclose(mean_abs_increment(r), [0.32, 0.1])
    ac = increment_autocorrelation(r)
    assert ac.shape == (2,)
    assert ac[0] == pytest.approx(increment_autocorrelation(r[0]))
    assert math.isnan(ac[1])  # constant increments: zero variance


def test_alternating_increments_autocorr_near_minus_one() -> None:
    d = np.array([1.0, -0.9, 1.1, -1.0, 0.95, -1.05, 1.0, -0.9])
    r = np.r_[0.0, np.cumsum(d)]
    ac = increment_autocorrelation(r)
    assert -1.0 <= ac < -0.95
    d_ref = np.diff(r)
    assert ac == pytest.approx(np.corrcoef(d_ref[:-1], d_ref[1:])[0, 1])


def test_autocorr_nan_cases() -> None:
    assert math.isnan(increment_autocorrelation([0.0, 1.0, 0.0]))  # 2 increments
    assert math.isnan(increment_autocorrelation(np.linspace(0, 1, 10)))  # constant
    trend = np.cumsum(np.r_[0.0, np.linspace(0.1, 1.0, 9)])
    assert increment_autocorrelation(trend) == pytest.approx(1.0)


def test_argmax_flips_by_hand() -> None:
    path = np.array(
        [
            [0.7, 0.2, 0.1],  # 0
            [0.6, 0.3, 0.1],  # 0
            [0.3, 0.6, 0.1],  # 1  flip
            [0.2, 0.3, 0.5],  # 2  flip
            [0.2, 0.3, 0.5],  # 2
            [0.5, 0.3, 0.2],  # 0  flip
        ]
    )
    assert argmax_flips(path) == 3
    flips = argmax_flips(np.stack([path, np.full((6, 3), 1 / 3)]))
    np.testing.assert_array_equal(flips, [3, 0])


def test_smoothness_summary_ragged() -> None:
    r1 = np.array([0.0, 0.5, 0.2, 0.6, 0.3, 0.4])
    r2 = np.array([0.0, 0.25, 0.5])
    p1 = np.tile([[0.9, 0.1]], (6, 1))
    p2 = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1]])
    s = smoothness_summary([r1, r2], [p1, p2])
    assert s["tv_ratio"] == pytest.approx((4.0 + 1.0) / 2)
    assert s["autocorr"] == pytest.approx(increment_autocorrelation(r1))  # r2 is nan
    assert s["argmax_flips"] == pytest.approx(1.0)
    assert s["mean_abs_delta"] == pytest.approx((0.32 + 0.25) / 2)
    assert s["n_paths"] == 2
    assert math.isnan(smoothness_summary([r2])["argmax_flips"])


# -------------------------------------------------------------------------- reward hacking


def test_fooling_rate_hand_example() -> None:
    proxy = np.array([0.95, 0.9, 0.99, 0.5, 0.92])
    judge = np.array([0.1, 0.49, 0.8, 0.1, 0.5])
    # fooled: 0 (0.95/0.1), 1 (0.9/0.49); not: 2 (judge agrees), 3 (proxy low), 4 (judge 0.5)
    assert fooling_rate(proxy, judge) == pytest.approx(2 / 5)
    s = hacking_summary(proxy, judge)
    assert s["proxy_p_target"] == pytest.approx(proxy.mean())
    assert s["judge_p_target"] == pytest.approx(judge.mean())
    assert s["gap"] == pytest.approx(proxy.mean() - judge.mean())
    assert s["fooling_rate"] == pytest.approx(0.4)
    assert s["episodes"] == 5


# ---------------------------------------------------------------------------------- morph


def test_morph_path_properties() -> None:
    rng = np.random.default_rng(0)
    start = (rng.random((8, 8)) < 0.3).astype(np.uint8)
    end = (rng.random((8, 8)) < 0.1).astype(np.uint8)
    hamming = int((start != end).sum())
    path = morph_path(start, end, np.random.default_rng(1))
    assert path.dtype == np.uint8 and path.shape == (hamming + 1, 8, 8)
    np.testing.assert_array_equal(path[0], start)
    np.testing.assert_array_equal(path[-1], end)
    steps = (path[1:] != path[:-1]).reshape(hamming, -1).sum(axis=1)
    np.testing.assert_array_equal(steps, 1)
    # only differing pixels ever change
    assert not (path != start)[:, start == end].any()
    np.testing.assert_array_equal(path, morph_path(start, end, np.random.default_rng(1)))
    assert morph_path(start, start, rng).shape == (1, 8, 8)


def test_morph_paths_deterministic() -> None:
    rng = np.random.default_rng(3)
    starts = (rng.random((3, 6, 6)) < 0.4).astype(np.uint8)
    ends = (rng.random((3, 6, 6)) < 0.4).astype(np.uint8)
    a = morph_paths(starts, ends, seed=7)
    b = morph_paths(starts, ends, seed=7)
    assert len(a) == 3
    for i in range(3):
        assert a[i].shape[0] == int((starts[i] != ends[i]).sum()) + 1
        np.testing.assert_array_equal(a[i], b[i])
    c = morph_paths(starts, ends, seed=8)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c, strict=True))


def test_pad_paths() -> None:
    out = pad_paths([np.arange(5.0), np.arange(3.0), np.array([7.0])])
    assert out.shape == (3, 5)
    np.testing.assert_array_equal(out[0], np.arange(5.0))
    np.testing.assert_array_equal(out[1], [0, 1, 1, 2, 2])  # progress 0,.25,.5,.75,1 -> idx
    np.testing.assert_array_equal(out[2], 7.0)
    short = pad_paths([np.arange(11.0)], length=3)
    np.testing.assert_array_equal(short, [[0.0, 5.0, 10.0]])
    probs = pad_paths([np.full((4, K), 0.1), np.full((2, K), 0.1)], length=6)
    assert probs.shape == (2, 6, K)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "call",
    [
        lambda: accuracy(np.full((4, K), 0.1), np.zeros(3, dtype=int)),
        lambda: accuracy(np.full(K, 0.1), np.zeros(1, dtype=int)),
        lambda: accuracy(np.full((2, K), 0.1), np.array([0, K])),
        lambda: expected_calibration_error(np.full((2, K), 0.1), np.array([0.0, 1.0])),
        lambda: expected_calibration_error(np.full((2, K), 0.1), np.array([0, 1]), n_bins=0),
        lambda: max_probability(np.full((2, K), 1.5)),
        lambda: entropy(np.array([[0.5, np.nan]])),
        lambda: fpr_at_tpr(np.ones((2, 2)), np.ones(3)),
        lambda: fpr_at_tpr(np.ones(3), np.ones(3), tpr=0.0),
        lambda: auroc(np.array([]), np.ones(3)),
        lambda: false_positive_summary(np.full((2, K), 0.1), np.full((2, 5), 0.2)),
        lambda: false_positive_summary(np.full((2, K), 0.1), np.full((2, K), 0.1), [0]),
        lambda: total_variation_ratio(np.zeros((2, 3, 4))),
        lambda: increment_autocorrelation(np.array([])),
        lambda: argmax_flips(np.full(5, 0.1)),
        lambda: smoothness_summary([]),
        lambda: smoothness_summary([np.zeros(3)], [np.zeros((4, 2))]),
        lambda: fooling_rate(np.ones(3), np.ones(4)),
        lambda: hacking_summary(np.ones(3), np.full(3, 2.0)),
        lambda: morph_path(np.zeros((4, 4)), np.zeros((4, 5)), np.random.default_rng(0)),
        lambda: morph_path(np.full((4, 4), 2), np.zeros((4, 4)), np.random.default_rng(0)),
        lambda: morph_path(np.zeros((4, 4)), np.zeros((4, 4)), 0),
        lambda: morph_paths(np.zeros((4, 4)), np.zeros((4, 4)), seed=0),
        lambda: pad_paths([np.zeros((3, 2)), np.zeros((3, 4))]),
        lambda: pad_paths([]),
        lambda: pad_paths([np.zeros(3)], length=0),
    ],
)
def test_validation_errors(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_shape_error_message_names_shapes() -> None:
    with pytest.raises(ValueError, match=r"shape \(4,\), got shape \(3,\)"):
        accuracy(np.full((4, K), 0.1), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"\(N, K\), got shape \(10,\)"):
        accuracy(np.full(K, 0.1), np.zeros(1, dtype=int))
