"""Each training objective's defining property (shared/docs/methods.md)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from flatnet_rl.losses import (
    LOSSES,
    Objective,
    ce_loss,
    dropmax_loss,
    energy_loss,
    entropy,
    entropy_hinge_loss,
    entropy_loss,
    free_energy,
    label_smoothing_loss,
    logitnorm_loss,
    min_ent_loss,
    mix_ent_loss,
    outlier_exposure_loss,
    pc_softmax_loss,
)
from flatnet_rl.models import DropMaxNet
from flatnet_rl.models import build_classifier_net as build_model

K = 10


@pytest.fixture
def batch():
    torch.manual_seed(0)
    logits = torch.randn(16, K) * 3
    y = torch.randint(0, K, (16,))
    return logits, y


def _manual_entropy(z: torch.Tensor) -> torch.Tensor:
    p = F.softmax(z, dim=-1)
    return -(p * p.log()).sum(-1)


# --------------------------------------------------------------------------------------
# entropy helper
# --------------------------------------------------------------------------------------
def test_entropy_of_uniform_is_log_k():
    for z in (torch.zeros(3, K), torch.full((2, K), 7.5)):
        torch.testing.assert_close(entropy(z), torch.full((len(z),), math.log(K)))


def test_entropy_matches_definition_and_is_finite_at_zero_probability(batch):
    logits, _ = batch
    torch.testing.assert_close(entropy(logits), _manual_entropy(logits))
    one_hot_like = torch.tensor([[1000.0] + [0.0] * (K - 1)])
    h = entropy(one_hot_like)
    assert torch.isfinite(h).all() and float(h) == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------------------
# entropy (flatnet / confidence penalty)
# --------------------------------------------------------------------------------------
def test_entropy_loss_is_ce_minus_kappa_h(batch):
    logits, y = batch
    for kappa in (0.0, 0.3, 1.0):
        expected = F.cross_entropy(logits, y) - kappa * _manual_entropy(logits).mean()
        torch.testing.assert_close(entropy_loss(logits, y, kappa), expected)
    torch.testing.assert_close(entropy_loss(logits, y, 0.0), ce_loss(logits, y))


def test_entropy_penalty_falls_toward_uniform():
    """The sign check: flatter outputs (same argmax) pay a smaller penalty."""
    y = torch.tensor([0])
    penalties = []
    for scale in (8.0, 4.0, 2.0, 1.0, 0.5, 0.0):
        z = torch.tensor([[1.0, 0.5] + [0.0] * (K - 2)]) * scale
        penalties.append(float(entropy_loss(z, y, 0.3) - F.cross_entropy(z, y)))
    assert penalties == sorted(penalties, reverse=True)
    assert penalties[0] > penalties[-1]
    assert penalties[-1] == pytest.approx(-0.3 * math.log(K), abs=1e-6)


def test_entropy_loss_gradient_step_flattens_compared_with_ce():
    torch.manual_seed(1)
    z0 = torch.randn(32, K) * 3
    y = z0.argmax(-1)

    def step(loss_fn):
        z = z0.clone().requires_grad_(True)
        loss_fn(z).backward()
        return (z - 1.0 * z.grad).detach()

    after_ce = step(lambda z: F.cross_entropy(z, y))
    after_ent = step(lambda z: entropy_loss(z, y, kappa=1.0))
    assert entropy(after_ent).mean() > entropy(after_ce).mean()


# --------------------------------------------------------------------------------------
# outlier exposure
# --------------------------------------------------------------------------------------
def test_outlier_exposure_minimal_at_uniform(batch):
    logits, _ = batch
    uniform = torch.zeros(4, K)
    assert float(outlier_exposure_loss(uniform)) == pytest.approx(math.log(K), abs=1e-6)
    assert float(outlier_exposure_loss(uniform + 3.0)) == pytest.approx(math.log(K), abs=1e-6)
    assert float(outlier_exposure_loss(logits)) > math.log(K) + 0.1
    torch.manual_seed(0)
    for _ in range(5):
        z = torch.randn(4, K) * 0.1
        assert float(outlier_exposure_loss(z)) > math.log(K)
    # = cross-entropy from the uniform distribution to p
    expected = -(F.log_softmax(logits, -1) * (1.0 / K)).sum(-1).mean()
    torch.testing.assert_close(outlier_exposure_loss(logits), expected)


def test_outlier_exposure_gradient_vanishes_at_uniform():
    z = torch.full((5, K), 0.7, requires_grad=True)
    outlier_exposure_loss(z).backward()
    assert z.grad.abs().max() < 1e-7
    z2 = torch.randn(5, K).requires_grad_(True)
    outlier_exposure_loss(z2).backward()
    assert z2.grad.abs().max() > 1e-3


# --------------------------------------------------------------------------------------
# pc_softmax
# --------------------------------------------------------------------------------------
def test_pc_softmax_identity(batch):
    logits, y = batch
    priors = torch.softmax(torch.randn(K), -1)
    log_pi = priors.log()
    per_sample = F.cross_entropy(logits + log_pi, y, reduction="none") + log_pi[y]
    torch.testing.assert_close(pc_softmax_loss(logits, y, log_pi), per_sample.mean())
    # definition: -log(exp(z_y) / sum_k pi_k exp(z_k))
    direct = -(logits.gather(1, y[:, None])[:, 0] - torch.log((priors * logits.exp()).sum(-1)))
    torch.testing.assert_close(pc_softmax_loss(logits, y, log_pi), direct.mean())


def test_pc_softmax_with_uniform_priors_is_ce_up_to_log_k(batch):
    """With pi = 1/K, PC_y = K p_y, so the loss is CE - log K (same gradient as CE)."""
    logits, y = batch
    log_pi = torch.full((K,), -math.log(K))
    torch.testing.assert_close(
        pc_softmax_loss(logits, y, log_pi), F.cross_entropy(logits, y) - math.log(K)
    )
    z1 = logits.clone().requires_grad_(True)
    z2 = logits.clone().requires_grad_(True)
    pc_softmax_loss(z1, y, log_pi).backward()
    F.cross_entropy(z2, y).backward()
    torch.testing.assert_close(z1.grad, z2.grad)


# --------------------------------------------------------------------------------------
# label smoothing, logitnorm
# --------------------------------------------------------------------------------------
def test_label_smoothing_matches_manual_targets(batch):
    logits, y = batch
    for eps in (0.0, 0.1, 0.4):
        target = F.one_hot(y, K).float() * (1 - eps) + eps / K
        manual = -(target * F.log_softmax(logits, -1)).sum(-1).mean()
        torch.testing.assert_close(label_smoothing_loss(logits, y, eps), manual)


def test_logitnorm_scale_invariant(batch):
    logits, y = batch
    base = logitnorm_loss(logits, y, 0.04)
    for c in (0.01, 0.5, 3.0, 100.0):
        torch.testing.assert_close(logitnorm_loss(logits * c, y, 0.04), base, rtol=1e-4, atol=1e-5)
    norms = logits.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(
        base, F.cross_entropy(logits / (0.04 * norms), y), rtol=1e-5, atol=1e-6
    )
    # plain CE is not scale invariant (sanity check of the check)
    assert abs(float(F.cross_entropy(logits * 3, y) - F.cross_entropy(logits, y))) > 0.1


# --------------------------------------------------------------------------------------
# min_ent and mix_ent: the sharpening negative controls
# --------------------------------------------------------------------------------------
def test_min_ent_definition(batch):
    logits, y = batch
    expected = 1.0 * F.cross_entropy(logits, y) + 0.3 * _manual_entropy(logits).mean()
    torch.testing.assert_close(min_ent_loss(logits, y), expected)
    torch.testing.assert_close(
        min_ent_loss(logits, y, 2.0, 0.7),
        2.0 * F.cross_entropy(logits, y) + 0.7 * _manual_entropy(logits).mean(),
    )


def test_min_ent_step_sharpens_more_than_ce():
    torch.manual_seed(2)
    z0 = torch.randn(64, K)
    y = z0.argmax(-1)

    def max_prob_after_step(loss_fn):
        z = z0.clone().requires_grad_(True)
        loss_fn(z).backward()
        return F.softmax(z - 0.5 * z.grad, -1).max(-1).values.mean()

    ce_conf = max_prob_after_step(lambda z: F.cross_entropy(z, y))
    min_conf = max_prob_after_step(lambda z: min_ent_loss(z, y, 1.0, 1.0))
    start = F.softmax(z0, -1).max(-1).values.mean()
    assert ce_conf > start
    assert min_conf > ce_conf


def test_mix_ent_is_ce_plus_entropy_plus_kl(batch):
    logits, y = batch
    b1, b2, eps = 1.0, 0.3, 1e-3
    p = F.softmax(logits, -1)
    q = F.one_hot(y, K).float() * (1 - eps) + eps / K
    h = -(p * p.log()).sum(-1)
    kl = (p * (p.log() - q.log())).sum(-1)
    expected = b1 * F.cross_entropy(logits, y) + b2 * (h + kl).mean()
    torch.testing.assert_close(mix_ent_loss(logits, y, b1, b2, eps), expected)
    torch.testing.assert_close(
        mix_ent_loss(logits, y, 0.5, 2.0, 0.01),
        0.5 * F.cross_entropy(logits, y)
        + 2.0 * (-(p * (F.one_hot(y, K).float() * 0.99 + 0.001).log()).sum(-1)).mean(),
    )


# --------------------------------------------------------------------------------------
# entropy hinge
# --------------------------------------------------------------------------------------
def test_entropy_hinge_is_ce_when_entropy_above_gamma():
    torch.manual_seed(3)
    flat = torch.randn(8, K) * 0.1
    y = torch.randint(0, K, (8,))
    assert (entropy(flat) >= 0.5).all()
    torch.testing.assert_close(entropy_hinge_loss(flat, y, 0.5, 0.5), F.cross_entropy(flat, y))
    sharp = torch.zeros(8, K)
    sharp[torch.arange(8), y] = 20.0
    expected = F.cross_entropy(sharp, y) + 0.5 * (0.5 - entropy(sharp)).mean()
    torch.testing.assert_close(entropy_hinge_loss(sharp, y, 0.5, 0.5), expected)
    assert entropy_hinge_loss(sharp, y, 0.5, 0.5) > F.cross_entropy(sharp, y) + 0.2


# --------------------------------------------------------------------------------------
# energy
# --------------------------------------------------------------------------------------
def test_free_energy_is_negative_logsumexp():
    z = torch.zeros(2, K)
    torch.testing.assert_close(free_energy(z), torch.full((2,), -math.log(K)))


def test_energy_loss_zero_beyond_margins_positive_otherwise():
    confident_in = torch.zeros(4, K)
    confident_in[:, 0] = 20.0  # E ~ -20 < m_in = -8
    low_out = torch.full((4, K), -10.0)  # E ~ 7.7 > m_out = -4
    assert float(energy_loss(confident_in, low_out)) == 0.0
    uniform_in = torch.zeros(4, K)  # E = -2.3 > m_in: penalized
    expected_in = (-math.log(K) + 8.0) ** 2
    assert float(energy_loss(uniform_in, low_out)) == pytest.approx(expected_in, rel=1e-5)
    high_out = confident_in.clone()  # E_out = -20 < m_out: penalized
    assert float(energy_loss(confident_in, high_out)) == pytest.approx(16.0**2, rel=1e-3)
    assert float(energy_loss(uniform_in, high_out)) > float(energy_loss(uniform_in, low_out))


# --------------------------------------------------------------------------------------
# dropmax
# --------------------------------------------------------------------------------------
def test_dropmax_loss_finite_with_gradients_for_all_heads():
    torch.manual_seed(4)
    o = torch.randn(16, K, requires_grad=True)
    ph = torch.randn(16, K, requires_grad=True)
    rh = torch.randn(16, K, requires_grad=True)
    y = torch.randint(0, K, (16,))
    loss = dropmax_loss(o, ph, rh, y)
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    for head in (o, ph, rh):
        assert head.grad is not None and torch.isfinite(head.grad).all()
        assert head.grad.abs().sum() > 0
    # extreme heads stay finite
    big = torch.full((4, K), 50.0)
    assert torch.isfinite(dropmax_loss(big, big, -big, torch.zeros(4, dtype=torch.long)))


def test_dropmaxnet_forward_is_test_time_logits():
    torch.manual_seed(5)
    net = DropMaxNet(canvas_size=8).eval()
    x = torch.rand(6, 1, 8, 8)
    o, ph, _ = net.heads(x)
    torch.testing.assert_close(net(x), o + torch.log(torch.sigmoid(ph) + 1e-20))


# --------------------------------------------------------------------------------------
# Objective
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"loss": "focal"}, "loss must be one of ce, entropy"),
        ({"kappa": float("nan")}, "kappa"),
        ({"b2": float("inf")}, "b2"),
        ({"outlier_weight": -0.1}, "outlier_weight"),
        ({"energy_weight": -1.0}, "energy_weight"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"smoothing": -0.1}, "smoothing"),
        ({"tau": 0.0}, "tau"),
    ],
)
def test_objective_validation(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        Objective(**kwargs)


def test_objective_hyperparameters():
    assert Objective("ce").hyperparameters(False) == {"loss": "ce"}
    assert Objective("entropy", kappa=0.7).hyperparameters(False) == {
        "loss": "entropy",
        "kappa": 0.7,
    }
    assert Objective("entropy", kappa=0.7).hyperparameters(True) == {
        "loss": "entropy",
        "kappa": 0.7,
        "outlier_weight": 0.5,
    }
    assert set(Objective("mix_ent").hyperparameters(False)) == {"loss", "b1", "b2", "mix_eps"}
    assert set(Objective("entropy_hinge").hyperparameters(False)) == {
        "loss",
        "hinge_beta",
        "hinge_gamma",
    }
    assert set(Objective("logitnorm").hyperparameters(False)) == {"loss", "tau"}
    hp = Objective("label_smoothing", energy_weight=0.1).hyperparameters(True)
    assert hp == {
        "loss": "label_smoothing",
        "smoothing": 0.1,
        "outlier_weight": 0.5,
        "energy_weight": 0.1,
        "energy_m_in": -8.0,
        "energy_m_out": -4.0,
    }
    # energy is only recorded when outliers are used
    assert "energy_weight" not in Objective("ce", energy_weight=0.1).hyperparameters(False)
    for loss in LOSSES:
        assert Objective(loss).hyperparameters(False)["loss"] == loss


class _Linear(nn.Module):
    """A deterministic model (no dropout): logits depend only on the input."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(6)
        self.fc = nn.Linear(64, K)

    def forward(self, x):
        return self.fc(x.flatten(1)) * 3


@pytest.fixture
def linear_batch():
    torch.manual_seed(7)
    x_in = (torch.rand(12, 1, 8, 8) < 0.3).float()
    y = torch.randint(0, K, (12,))
    x_out = (torch.rand(20, 1, 8, 8) < 0.3).float()
    return _Linear(), x_in, y, x_out


def test_objective_call_parts(linear_batch):
    model, x_in, y, x_out = linear_batch
    obj = Objective("entropy", kappa=0.3, outlier_weight=0.5)
    loss, parts = obj(model, x_in, y)
    assert set(parts) == {"entropy"}
    torch.testing.assert_close(loss, entropy_loss(model(x_in), y, 0.3))

    loss, parts = obj(model, x_in, y, x_out)
    assert set(parts) == {"entropy", "outlier_exposure"}
    oe = outlier_exposure_loss(model(x_out))
    assert parts["outlier_exposure"] == pytest.approx(float(oe.detach()), rel=1e-6)
    torch.testing.assert_close(loss, entropy_loss(model(x_in), y, 0.3) + 0.5 * oe)

    # an empty outlier batch is no outlier batch
    _, parts = obj(model, x_in, y, x_out[:0])
    assert set(parts) == {"entropy"}

    obj_e = Objective("ce", outlier_weight=0.5, energy_weight=0.1)
    loss, parts = obj_e(model, x_in, y, x_out)
    assert set(parts) == {"ce", "outlier_exposure", "energy"}
    en = energy_loss(model(x_in), model(x_out))
    assert parts["energy"] == pytest.approx(float(en.detach()), rel=1e-6)
    torch.testing.assert_close(loss, F.cross_entropy(model(x_in), y) + 0.5 * oe + 0.1 * en)
    # energy needs outliers
    _, parts = obj_e(model, x_in, y)
    assert set(parts) == {"ce"}


@pytest.mark.parametrize("loss_name", LOSSES)
def test_objective_every_loss_is_finite_and_differentiable(loss_name):
    torch.manual_seed(8)
    arch = "dropmax" if loss_name == "dropmax" else "flatnet_lite"
    model = build_model(arch, 8)
    x_in = (torch.rand(10, 1, 8, 8) < 0.3).float()
    y = torch.randint(0, K, (10,))
    x_out = (torch.rand(6, 1, 8, 8) < 0.3).float()
    log_priors = torch.full((K,), -math.log(K))
    loss, parts = Objective(loss_name)(model, x_in, y, x_out, log_priors)
    assert torch.isfinite(loss) and loss_name in parts and "outlier_exposure" in parts
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_objective_requirements(linear_batch):
    model, x_in, y, _ = linear_batch
    with pytest.raises(ValueError, match="priors"):
        Objective("pc_softmax")(model, x_in, y)
    with pytest.raises(ValueError, match="dropmax"):
        Objective("dropmax")(model, x_in, y)
