"""Ensembles: one opinion however it is asked for, and disagreement never rewarded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from flatnet_rl.classifier import Classifier
from flatnet_rl.ensemble import EnsembleClassifier
from flatnet_rl.reward.functions import ClassifierRewardModel
from flatnet_rl.reward.spec import MODES


class Linear(nn.Module):
    def __init__(self, seed: int, k: int = 3) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, k))
        with torch.no_grad():
            self.net[1].weight.mul_(20)

    def forward(self, x):
        return self.net(x)


class Says(nn.Module):
    """Certain of one class whatever the image."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.k = k

    def forward(self, x):
        out = torch.full((len(x), 3), -30.0)
        out[:, self.k] = 30.0
        return out


def member(module: nn.Module) -> Classifier:
    return Classifier.from_module(
        module, image_size=8, channels=1, class_names=["a", "b", "c"], device="cpu"
    )


@settings(max_examples=8, deadline=None)
@given(k=st.sampled_from([0.0, 0.5, 1.0, 3.0]), seed=st.integers(0, 2**16))
def test_predict_logits_and_probabilities_agree_for_any_k(k, seed):
    ens = EnsembleClassifier([member(Linear(s)) for s in range(3)], k_std=k)
    x = np.random.default_rng(seed).random((64, 8, 8)).astype(np.float32)
    probs = ens.predict_proba(x)
    logits = ens.logits(x)
    np.testing.assert_array_equal(ens.predict(x), logits.argmax(-1))
    # logits are the log of predict_proba: the same ranking, the same numbers
    np.testing.assert_allclose(np.exp(logits), np.maximum(probs, 1e-12), rtol=1e-4, atol=1e-7)
    top = probs.max(-1)
    chosen = probs[np.arange(len(probs)), ens.predict(x)]
    np.testing.assert_array_equal(chosen, top)


def _state_value(clf, mode, image):
    """The per-state value a mode builds its reward from (delta and final: p_target)."""
    model = ClassifierRewardModel(clf, mode)
    return model.value(model.score(image, np.array([0])))


def test_no_reward_mode_rewards_disagreement():
    """Members certain of different classes: at k > 0 every class is clipped to 0. No mode
    may give that image a better reward than an image all members agree on."""
    disagree = EnsembleClassifier([member(Says(0)), member(Says(1))], k_std=1.0)
    agree = EnsembleClassifier([member(Says(0)), member(Says(0))], k_std=1.0)
    image = np.zeros((1, 8, 8), np.float32)
    for mode in MODES:
        reward_disagree = _state_value(disagree, mode, image)
        reward_agree = _state_value(agree, mode, image)
        assert reward_disagree[0] < reward_agree[0], mode
    # entropy: the mass taken away is uncertainty, so all-zero rows are the least certain
    scores = ClassifierRewardModel(disagree, "entropy").score(image, np.array([0]))
    assert scores.entropy[0] == pytest.approx(np.log(3))


def test_ensemble_member_mismatch_is_found_before_training(tmp_path):
    from flatnet_rl.agents import AgentConfig
    from flatnet_rl.training.model_specs import check_model_spec, resolve_model_spec

    for spec in ("ensemble:ce*2+ce:canvas=28", "ensemble:baseline+flatnet-28"):
        with pytest.raises(ValueError, match="members must share input and classes"):
            check_model_spec(spec)
        with pytest.raises(ValueError, match="members must share"):
            resolve_model_spec(spec, tmp_path)
        with pytest.raises(ValueError, match="members must share"):
            AgentConfig(reward_model=spec)
    assert not list(tmp_path.iterdir())  # nothing was trained
    check_model_spec("ensemble@k=1:baseline*3")  # same recipe, other seeds: fine
