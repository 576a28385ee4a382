"""Reward-model ensembles: a known defence against reward hacking, as one classifier.

``EnsembleClassifier(members, k_std=0)`` scores an image with every member and returns the
mean class probability minus ``k_std`` standard deviations across members (clipped at 0):
``k_std = 0`` is the ensemble mean (a distribution), ``k_std > 0`` the conservative lower
bound of Coste et al. 2024 / imitation's ``AddSTDRewardWrapper`` (rows then sum to less
than one; the reward modes use ``p_target`` and stay meaningful, and ``entropy`` counts the
mass taken away as uncertainty, so disagreement is never rewarded). ``logits`` are the log of
these probabilities, so ``predict``, ``logits`` and ``predict_proba`` agree for any k. It is a
:class:`~flatnet_rl.classifier.Classifier`, so it is accepted wherever one is; members must
share the input spec and class names.

>>> members = [load_classifier("baseline"), other_baseline]  # doctest: +SKIP
>>> ens = EnsembleClassifier(members, k_std=1.0)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from flatnet_rl.classifier import Classifier
from flatnet_rl.util.checks import is_plain_number


def combine(probs: torch.Tensor, k_std: float) -> torch.Tensor:
    """``max(0, mean - k_std * std)`` over the members' axis 0 of ``(M, N, K)`` probabilities."""
    combined = probs.mean(0)
    if k_std > 0:
        combined = (combined - k_std * probs.std(0, correction=0)).clamp_min(0.0)
    return combined


class _LogCombined(nn.Module):
    """Stand-in network: ``log`` of the ensemble's probabilities (mean, or the conservative
    bound), so ``logits``, ``predict`` and ``predict_proba`` rank classes alike for any k."""

    def __init__(self, members: Sequence[Classifier], k_std: float) -> None:
        super().__init__()
        self.members = list(members)
        self.k_std = k_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([m.probs_of_input(x) for m in self.members])
        return combine(probs, self.k_std).clamp_min(1e-12).log()


class EnsembleClassifier(Classifier):
    """Mean (or mean - k std) of the members' class probabilities.

    Args:
        members: two or more classifiers with the same input spec and classes.
        k_std: standard deviations subtracted (0 = mean); finite and >= 0.
        name: shown in reports (default ``ensemble[<member names>]``).
    """

    def __init__(
        self, members: Sequence[Classifier], *, k_std: float = 0.0, name: str | None = None
    ) -> None:
        members = list(members)
        if len(members) < 2 or not all(isinstance(m, Classifier) for m in members):
            raise ValueError("an ensemble needs at least two Classifier members")
        first = members[0]
        for m in members[1:]:
            if m.input_spec != first.input_spec or m.class_names != first.class_names:
                raise ValueError(
                    f"ensemble members must share input and classes: {m.name!r} differs from "
                    f"{first.name!r}"
                )
        if any(m.evaluation_only for m in members):
            raise ValueError("judges (evaluation-only classifiers) cannot be ensemble members")
        if not is_plain_number(k_std) or not (math.isfinite(k_std) and k_std >= 0):
            raise ValueError(f"k_std must be a finite number >= 0, got {k_std!r}")
        self.members = members
        self.k_std = float(k_std)
        metadata = {
            "name": name or f"ensemble[{', '.join(m.name for m in members)}]",
            "arch": "ensemble",
            "input": first.input_spec.to_dict(),
            "class_names": list(first.class_names),
            "members": [m.name for m in members],
            "k_std": self.k_std,
        }
        self.device = first.device
        self.input_spec = first.input_spec
        self.class_names = first.class_names
        self.model = _LogCombined(members, self.k_std)
        self.metadata = metadata
        self.name = metadata["name"]
        self.outputs = "logits"
        self._copy_input = False  # members copy for themselves

    def member_probs(self, images: Any, **kwargs: Any) -> np.ndarray:
        """Every member's probabilities ``(M, N, K)`` (one preprocessing for all)."""
        batch, _ = self.prepare(images, **kwargs)
        return np.stack([m.probs_of_input(batch).cpu().numpy() for m in self.members])

    def probs_of_input(self, batch: torch.Tensor) -> torch.Tensor:
        """``max(0, mean_m p_m - k_std * std_m p_m)`` per class of prepared input."""
        return combine(torch.stack([m.probs_of_input(batch) for m in self.members]), self.k_std)

    def save(self, path: Any) -> Any:
        raise NotImplementedError(
            "an ensemble is saved as its members: save each of ensemble.members, or name it "
            "by its spec (e.g. 'ensemble:baseline*5')"
        )
