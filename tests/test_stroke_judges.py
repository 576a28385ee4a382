"""What judges of stroke agents are trained with: line outliers, stroke-width augmentation,
and the cheap LeNet reward model at 28x28."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from flatnet_rl.data import DataSpec
from flatnet_rl.data.outliers import make_outliers
from flatnet_rl.models import build_classifier_net
from flatnet_rl.training.augment import random_stroke_width
from flatnet_rl.training.trainer import TrainConfig


def test_lines_outliers_are_thin_straight_strokes_and_stay_out_of_the_default_mix() -> None:
    canvases = make_outliers(200, 28, seed=0, families=["lines"])
    ink = canvases.sum((1, 2))
    # At most 4 lines of at most 28 points under a brush of at most 3x3 pixels.
    assert (ink > 0).all() and ink.max() <= 4 * 28 * 9 and ink.mean() < 28 * 28 / 4
    assert "lines" not in TrainConfig(outliers=10).families()


@settings(max_examples=60, deadline=None, database=None)
@given(arrays(np.uint8, (6, 1, 10, 10), elements=st.integers(0, 1)), st.integers(0, 2**31))
def test_stroke_width_augmentation_thickens_or_thins_and_keeps_ink(canvases, seed) -> None:
    x = torch.from_numpy(canvases).float()
    gen = torch.Generator().manual_seed(seed)
    out = random_stroke_width(x, 1.0, gen)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    for before, after in zip(x, out, strict=True):
        thicker = bool((after >= before).all())
        thinner = bool((after <= before).all()) and after.sum() >= 0.4 * before.sum()
        assert thicker or thinner
    assert torch.equal(random_stroke_width(x, 0.0, gen), x)


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "0.5"])
def test_stroke_width_augmentation_is_a_probability(bad) -> None:
    with pytest.raises(ValueError, match="stroke_width_aug"):
        TrainConfig(stroke_width_aug=bad)


def test_stroke_width_augmentation_is_recorded_only_when_used() -> None:
    assert "stroke_width_aug" not in TrainConfig().to_dict()
    assert TrainConfig(stroke_width_aug=0.5).to_dict()["stroke_width_aug"] == 0.5
    with pytest.raises(ValueError, match="binary digit"):
        TrainConfig(stroke_width_aug=0.5, data=DataSpec(source="images", path="x"))


def test_lenet_is_a_tenth_of_flatnets_flops_at_28() -> None:
    from torch.utils.flop_counter import FlopCounterMode

    def flops(arch: str) -> int:
        net = build_classifier_net(arch, 28, 10).eval()
        with FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, 1, 28, 28))
        return counter.get_total_flops()

    assert flops("lenet") * 10 < flops("flatnet")
    assert build_classifier_net("lenet", 8, 10)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
