"""Training objectives, selectable by name, plus the outlier-exposure and energy add-ons.

Notation: ``z`` logits ``(N, K)``, ``p = softmax(z)``, ``y`` labels, ``u`` uniform over K,
``H(p) = -sum_k p_k log p_k``. Formulas, defaults and sources are in ``docs/methods.md``;
each function's docstring repeats its own.

Objectives (the in-distribution term, chosen by ``Objective.loss``):

=================  ====================================================  ==========================
name               loss                                                  source
=================  ====================================================  ==========================
``ce``             ``CE(z, y)``                                          baseline (unregularized)
``entropy``        ``CE - kappa * H(p)``                                 flatnet; Pereyra 2017
``entropy_hinge``  ``CE + beta * max(0, Gamma - H(p))``                  hinge form of the above
``label_smoothing`` CE against ``(1 - eps) onehot + eps / K``            Szegedy et al. 2016
``logitnorm``      ``CE(z / (tau (||z|| + 1e-7)), y)``                   Wei et al. 2022
``min_ent``        ``b1 CE + b2 H(p)`` (sharpens: a negative control)    arXiv 2501.13709
``mix_ent``        ``b1 CE + b2 (-sum_k p_k log q_k)``                   arXiv 2501.13709
``pc_softmax``     ``-log(exp(z_y) / sum_k pi_k exp(z_k))``              Rethinking Softmax with CE
``dropmax``        DropMax's ce + kl + aux + neg (needs ``DropMaxNet``)  Lee et al. 2018
=================  ====================================================  ==========================

Add-ons, which combine with any objective when outlier canvases are given:
outlier exposure ``+ lambda * mean_out(-mean_k log p_k)`` (Hendrycks et al. 2019; flatnet's
random images with target ``[0.1] * 10``), and energy
``+ w * [mean relu(E_in - m_in)^2 + mean relu(m_out - E_out)^2]`` with ``E = -logsumexp(z)``
(Liu et al. 2020).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from flatnet_rl.numerics import entropy_from_logits as entropy
from flatnet_rl.util.checks import check_fields, choice_field, float_field


def ce_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``CE(z, y)``: plain cross-entropy, the unregularized baseline."""
    return F.cross_entropy(logits, y)


def entropy_loss(logits: torch.Tensor, y: torch.Tensor, kappa: float = 0.3) -> torch.Tensor:
    """flatnet's objective ``CE + kappa * mean(sum_k p_k log p_k) = CE - kappa * H(p)``.

    The penalty ``-kappa * H(p)`` falls as p moves toward uniform, so confident outputs cost.
    """
    return F.cross_entropy(logits, y) - kappa * entropy(logits).mean()


def entropy_hinge_loss(
    logits: torch.Tensor, y: torch.Tensor, beta: float = 0.5, gamma: float = 0.5
) -> torch.Tensor:
    """``CE + beta * max(0, Gamma - H(p))``: penalize only outputs sharper than ``Gamma`` nats."""
    return F.cross_entropy(logits, y) + beta * F.relu(gamma - entropy(logits)).mean()


def label_smoothing_loss(logits: torch.Tensor, y: torch.Tensor, eps: float = 0.1) -> torch.Tensor:
    """CE against ``(1 - eps) * onehot + eps / K`` (``F.cross_entropy(label_smoothing=eps)``)."""
    return F.cross_entropy(logits, y, label_smoothing=eps)


def logitnorm_loss(logits: torch.Tensor, y: torch.Tensor, tau: float = 0.04) -> torch.Tensor:
    """LogitNorm: ``CE(z / (tau * (||z||_2 + 1e-7)), y)`` (Wei et al. 2022)."""
    norms = logits.norm(p=2, dim=-1, keepdim=True) + 1e-7
    return F.cross_entropy(logits / (tau * norms), y)


def min_ent_loss(
    logits: torch.Tensor, y: torch.Tensor, b1: float = 1.0, b2: float = 0.3
) -> torch.Tensor:
    """``b1 * CE + b2 * H(p)``: minimum-entropy regularization. It LOWERS entropy."""
    return b1 * F.cross_entropy(logits, y) + b2 * entropy(logits).mean()


def mix_ent_loss(
    logits: torch.Tensor, y: torch.Tensor, b1: float = 1.0, b2: float = 0.3, eps: float = 1e-3
) -> torch.Tensor:
    """``b1 * CE + b2 * (-sum_k p_k log q_k) = b1 CE + b2 (H(p) + KL(p || q))``.

    ``q`` is the one-hot target smoothed by ``eps`` so that ``log q`` is finite.
    """
    k = logits.shape[-1]
    q = F.one_hot(y, k).to(logits.dtype) * (1 - eps) + eps / k
    cross = -(F.softmax(logits, dim=-1) * q.log()).sum(dim=-1)
    return b1 * F.cross_entropy(logits, y) + b2 * cross.mean()


def pc_softmax_loss(
    logits: torch.Tensor, y: torch.Tensor, log_priors: torch.Tensor
) -> torch.Tensor:
    """NLL of ``PC_y = exp(z_y) / sum_k pi_k exp(z_k)`` with ``pi`` the training class priors.

    Equals ``CE(z + log pi, y) + log pi_y``; ``log PC_y`` estimates the pointwise mutual
    information ``log p(y|x) / p(y)``.
    """
    return (
        torch.logsumexp(logits + log_priors, dim=-1) - logits.gather(1, y[:, None])[:, 0]
    ).mean()


def dropmax_loss(
    o: torch.Tensor, ph: torch.Tensor, rh: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """DropMax (Lee et al. 2018), mirroring the official TensorFlow code.

    ``rho = sigmoid(ph)``, ``r = sigmoid(rh)``, ``q = sigmoid(ph.detach() + rh)``; a relaxed
    Bernoulli mask ``z`` (temperature 0.1, ``z_y = 1``) drops classes from the softmax:
    ``ce = CE(o + log(z + 1e-20), y)``; ``kl`` ties ``q`` to ``rho``; ``aux`` trains ``r`` to
    retain the target only; ``neg`` is the negative entropy of ``rho``.
    """
    k = o.shape[-1]
    target = F.one_hot(y, k).to(o.dtype)
    log_rho, log_not_rho = F.logsigmoid(ph), F.logsigmoid(-ph)
    q = torch.sigmoid(ph.detach() + rh)
    u = torch.rand_like(q).clamp(1e-6, 1 - 1e-6)
    mask = torch.sigmoid((torch.logit(q, eps=1e-6) + torch.logit(u)) / 0.1)
    mask = torch.where(target.bool(), torch.ones_like(mask), mask)
    ce = F.cross_entropy(o + torch.log(mask + 1e-20), y)
    q = q.clamp(1e-6, 1 - 1e-6)
    kl_bern = q * (q.log() - log_rho) + (1 - q) * ((1 - q).log() - log_not_rho)
    kl = (target * -log_rho + (1 - target) * kl_bern).mean(0).sum()
    aux = (target * -F.logsigmoid(rh) + (1 - target) * -F.logsigmoid(-rh)).mean(0).sum()
    rho = log_rho.exp()
    neg = (rho * log_rho + (1 - rho) * log_not_rho).mean(0).sum()
    return ce + kl + aux + neg


@dataclass(frozen=True)
class LossDef:
    """How an objective is computed: its function and which :class:`Objective` fields it reads.

    Attributes:
        fn: ``fn(logits, y, **kwargs)`` (``dropmax``: ``fn(o, ph, rh, y)``).
        params: ``Objective`` field -> keyword argument of ``fn``.
        needs: extra input: ``"priors"`` (training class log-priors) or ``"heads"`` (the
            architecture's extra outputs, ``model.heads``).
    """

    fn: Callable[..., torch.Tensor]
    params: dict[str, str] = field(default_factory=dict)
    needs: str | None = None


#: Every objective by name; the single table that ``Objective``, specs and the CLI read.
LOSS_DEFS: dict[str, LossDef] = {
    "ce": LossDef(ce_loss),
    "entropy": LossDef(entropy_loss, {"kappa": "kappa"}),
    "entropy_hinge": LossDef(entropy_hinge_loss, {"hinge_beta": "beta", "hinge_gamma": "gamma"}),
    "label_smoothing": LossDef(label_smoothing_loss, {"smoothing": "eps"}),
    "logitnorm": LossDef(logitnorm_loss, {"tau": "tau"}),
    "min_ent": LossDef(min_ent_loss, {"b1": "b1", "b2": "b2"}),
    "mix_ent": LossDef(mix_ent_loss, {"b1": "b1", "b2": "b2", "mix_eps": "eps"}),
    "pc_softmax": LossDef(pc_softmax_loss, needs="priors"),
    "dropmax": LossDef(dropmax_loss, needs="heads"),
}
LOSSES = tuple(LOSS_DEFS)


def outlier_exposure_loss(logits_out: torch.Tensor) -> torch.Tensor:
    """``mean_out(-mean_k log p_k) = CE(u, p)``: minimal (= log K) when p is uniform."""
    return -F.log_softmax(logits_out, dim=-1).mean(dim=-1).mean()


def free_energy(logits: torch.Tensor) -> torch.Tensor:
    """``E(x) = -logsumexp(z)``: low for confident in-distribution inputs."""
    return -torch.logsumexp(logits, dim=-1)


def energy_loss(
    logits_in: torch.Tensor, logits_out: torch.Tensor, m_in: float = -8.0, m_out: float = -4.0
) -> torch.Tensor:
    """``mean relu(E_in - m_in)^2 + mean relu(m_out - E_out)^2`` (Liu et al. 2020).

    Margins are in logit units; uniform zero logits give ``E = -log K`` (-2.3 for K = 10).
    """
    e_in, e_out = free_energy(logits_in), free_energy(logits_out)
    return F.relu(e_in - m_in).pow(2).mean() + F.relu(m_out - e_out).pow(2).mean()


@dataclass(frozen=True)
class Objective:
    """A training objective by name, its hyperparameters, and the add-ons.

    Only the fields that the chosen ``loss`` and enabled add-ons use matter; see
    :meth:`hyperparameters`. Outlier exposure is on whenever the trainer passes outliers
    (``outlier_weight`` is lambda); energy is on when ``energy_weight > 0``.

    Attributes:
        loss: the objective (the methods page defines each).
        kappa: entropy: the weight of the entropy bonus, CE - kappa H(p).
        hinge_beta: entropy_hinge: the weight beta.
        hinge_gamma: entropy_hinge: the entropy floor Gamma (nats).
        smoothing: label_smoothing: epsilon.
        tau: logitnorm: the temperature.
        b1: min_ent and mix_ent: the cross-entropy weight.
        b2: min_ent and mix_ent: the entropy weight.
        mix_eps: mix_ent: the smoothing of the one-hot target that keeps its log finite.
        outlier_weight: outlier exposure: the weight lambda of the uniform-target term.
        energy_weight: the energy add-on's weight (0 = off; needs outliers).
        energy_m_in: energy add-on: the margin of labelled images (logit units).
        energy_m_out: energy add-on: the margin of outlier images (logit units).
    """

    loss: str = choice_field("ce", LOSSES)
    kappa: float = float_field(0.3)
    hinge_beta: float = float_field(0.5)
    hinge_gamma: float = float_field(0.5)
    smoothing: float = float_field(0.1, "[0, 1)")
    tau: float = float_field(0.04, "(0, inf)")
    b1: float = float_field(1.0)
    b2: float = float_field(0.3)
    mix_eps: float = float_field(1e-3, "(0, 1)")
    outlier_weight: float = float_field(0.5, "[0, inf)")
    energy_weight: float = float_field(0.0, "[0, inf)")
    energy_m_in: float = float_field(-8.0)
    energy_m_out: float = float_field(-4.0)

    def __post_init__(self) -> None:
        check_fields(self)

    def hyperparameters(self, with_outliers: bool) -> dict[str, float | str]:
        """The fields this objective actually uses (for checkpoints and reports)."""
        used: dict[str, float | str] = {"loss": self.loss}
        used.update({name: getattr(self, name) for name in LOSS_DEFS[self.loss].params})
        if with_outliers:
            used["outlier_weight"] = self.outlier_weight
            if self.energy_weight > 0:
                used.update(
                    energy_weight=self.energy_weight,
                    energy_m_in=self.energy_m_in,
                    energy_m_out=self.energy_m_out,
                )
        return used

    def in_distribution_loss(
        self, model: nn.Module, x: torch.Tensor, y: torch.Tensor, log_priors: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective's term on labelled images; returns ``(loss, test-time logits)``."""
        definition = LOSS_DEFS[self.loss]
        if definition.needs == "heads":
            if not hasattr(model, "heads"):
                raise ValueError(f"loss {self.loss!r} needs the {self.loss!r} architecture")
            o, ph, rh = model.heads(x)
            return definition.fn(o, ph, rh, y), o + torch.log(torch.sigmoid(ph) + 1e-20)
        z = model(x)
        kwargs = {arg: getattr(self, name) for name, arg in definition.params.items()}
        if definition.needs == "priors":
            if log_priors is None:
                raise ValueError(f"loss {self.loss!r} needs the training set's class priors")
            kwargs["log_priors"] = log_priors
        return definition.fn(z, y, **kwargs), z

    def __call__(
        self,
        model: nn.Module,
        x_in: torch.Tensor,
        y: torch.Tensor,
        x_out: torch.Tensor | None = None,
        log_priors: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Total loss on a digit batch (and an outlier batch); also its parts, as floats."""
        loss, z_in = self.in_distribution_loss(model, x_in, y, log_priors)
        parts = {self.loss: float(loss.detach())}
        if x_out is not None and len(x_out):
            z_out = model(x_out)
            oe = outlier_exposure_loss(z_out)
            parts["outlier_exposure"] = float(oe.detach())
            loss = loss + self.outlier_weight * oe
            if self.energy_weight > 0:
                en = energy_loss(z_in, z_out, self.energy_m_in, self.energy_m_out)
                parts["energy"] = float(en.detach())
                loss = loss + self.energy_weight * en
        return loss, parts
