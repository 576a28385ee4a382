"""VLM-RMs' goal-baseline reward (Rocamonde et al. 2024) for a CLIP classifier's classes.

For the target class k: ``g_k`` = mean of the normalised embeddings of its prompts, ``b`` the
same for the baseline prompts (``"a blank sheet of paper"``), ``d = g_k - b``,
``P = alpha d d^T / |d|^2 + (1 - alpha) I``, ``x`` the normalised image embedding:

    R_k(x) = 1 - |(x - g_k) P|^2 / 2

``alpha = 0`` is (shifted) cosine similarity to ``g_k``; ``alpha = 1`` keeps only the
component along the goal-baseline direction. ``P`` is symmetric, so with ``v = x - g_k`` and
``u = v . d / |d|``: ``|v P|^2 = (1 - alpha)^2 |v|^2 + (2 alpha - alpha^2) u^2``, computed for
every class at once from one forward pass of the image tower.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from flatnet_rl.clip.net import ClipError, ClipNet
from flatnet_rl.util.checks import is_plain_number


class GoalBaseline:
    """Goal-baseline rewards ``(N, K)`` of every class, and the classifier's logits, from one
    pass of the image tower.

    Args:
        net: the CLIP classifier's network.
        class_prompts: each class's prompts (the targets' ``g_k``).
        baseline: the baseline prompts (``b``), at least one.
        alpha: in [0, 1].
    """

    def __init__(
        self,
        net: ClipNet,
        class_prompts: Sequence[Sequence[str]],
        baseline: Sequence[str],
        alpha: float,
    ) -> None:
        if (
            isinstance(baseline, str)
            or not baseline
            or not all(isinstance(p, str) and p for p in baseline)
        ):
            raise ClipError(f"baseline must be a non-empty list of prompts, got {baseline!r:.60}")
        if not is_plain_number(alpha) or not (math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
            raise ClipError(f"alpha must be a number in [0, 1], got {alpha!r}")
        self.net = net
        self.alpha = float(alpha)
        tower = net.tower
        with torch.no_grad():
            goals = torch.stack([tower.encode_text(p).mean(0) for p in class_prompts])
            base = tower.encode_text(list(baseline)).mean(0)
        direction = goals - base
        norm = direction.norm(dim=-1, keepdim=True)
        if bool((norm < 1e-6).any()):
            raise ClipError("a class's prompts embed like the baseline prompts: no direction")
        self.goals = goals.cpu()  # (K, D)
        self.directions = (direction / norm).cpu()  # (K, D) unit

    @torch.inference_mode()
    def __call__(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits (N, K), rewards (N, K))`` of prepared input ``(N, 3, H, W)``."""
        x = self.net.features(batch)
        logits = self.net.head(x)
        goals, directions = self.goals.to(x.device), self.directions.to(x.device)
        v = x[:, None, :] - goals[None]  # (N, K, D)
        u = (v * directions[None]).sum(-1)
        a = self.alpha
        squared = (1 - a) ** 2 * v.pow(2).sum(-1) + (2 * a - a * a) * u.pow(2)
        return logits, 1.0 - squared / 2.0


def goal_baseline_reference(
    x: torch.Tensor, goal: torch.Tensor, baseline: torch.Tensor, alpha: float
) -> torch.Tensor:
    """The formula as VLM-RMs writes it (a projection matrix), for one goal: tests check
    :class:`GoalBaseline` against it."""
    d = (goal - baseline)[None]
    projection = alpha * d.T @ d / d.norm() ** 2 + (1 - alpha) * torch.eye(d.shape[1])
    x = F.normalize(x, dim=-1)
    return 1 - ((x - goal) @ projection).norm(dim=-1) ** 2 / 2


__all__ = ["GoalBaseline", "goal_baseline_reference"]
