"""A policy with a sense of space for the paint env's stroke mode (SB3 ``ActorCriticPolicy``).

:class:`StrokeMapPolicy` (``"stroke_map"``): a small CNN on the canvas with coordinate channels
(CoordConv, Liu et al. 2018), the pen's position as an input plane and the target as constant
planes; dilated convolutions widen its view. The actor's logits are laid out as a map, as
SPIRAL's location decoders: the trunk's features are read at each anchor point, joined with
pooled features of the whole canvas, and a shared head turns each into two logits (move the pen
there, draw a line there). A learned per-(target, pen anchor) bias of every action (the
"template" that made the pixel and pen policies learn fast) gives the target and the pen a
direct path to the actions. Above 16x16 the trunk runs at half resolution (a strided first
layer) to keep PPO's updates cheap on CPUs.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from flatnet_rl.agents.policies import MASKED, HeadsPolicy, check_policy_options, mlp
from flatnet_rl.envs.paint_config import anchor_points
from flatnet_rl.util.checks import is_plain_int


class RawObsExtractor(BaseFeaturesExtractor):
    """Dict(canvas, target, cursor) -> ``[canvas (H*W), target one-hot (K), cursor row and
    column one-hots (H + W)]``: the heads read the planes back from this layout."""

    def __init__(self, observation_space: gym.spaces.Dict) -> None:
        h, w = observation_space["canvas"].shape[-2:]
        k = observation_space["target"].n
        super().__init__(observation_space, features_dim=h * w + k + h + w)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        b = obs["canvas"].shape[0]
        parts = [obs["canvas"].float().reshape(b, -1), obs["target"].float().reshape(b, -1)]
        return torch.cat([*parts, obs["cursor"].float().reshape(b, -1)], 1)


class StrokeMapHeads(nn.Module):
    """Actor: ``kinds G² + 1`` logits (per anchor a move and a line logit, with curves also
    two curve logits; then stop); critic."""

    def __init__(
        self,
        h: int,
        w: int,
        k: int,
        grid: int,
        channels: int = 32,
        hidden: int = 128,
        can_stop: bool = False,
        kinds: int = 2,
    ) -> None:
        super().__init__()
        self.h, self.w, self.k, self.can_stop, self.kinds = h, w, k, can_stop, kinds
        stride = 2 if h > 16 else 1
        c = channels
        self.trunk = nn.Sequential(
            nn.Conv2d(4 + k, c // 2, 3, stride=stride, padding=1),
            nn.ReLU(),
            nn.Conv2d(c // 2, c, 3, padding=2, dilation=2),
            nn.ReLU(),
            nn.Conv2d(c, c, 3, padding=4, dilation=4),
            nn.ReLU(),
        )
        anchors = anchor_points(h, grid)
        self.n_anchors = len(anchors)
        map_w = (w + stride - 1) // stride
        cells = (anchors[:, 0] // stride) * map_w + anchors[:, 1] // stride
        self.register_buffer("anchor_cells", torch.tensor(cells), persistent=False)
        self.register_buffer(
            "anchor_rc", torch.tensor(anchors, dtype=torch.float32), persistent=False
        )
        rows = torch.linspace(-1, 1, h).view(1, 1, h, 1).expand(1, 1, h, w)
        cols = torch.linspace(-1, 1, w).view(1, 1, 1, w).expand(1, 1, h, w)
        self.register_buffer("coords", torch.cat([rows, cols], 1), persistent=False)
        self.summary = mlp(2 * c + k, [], hidden, 2**0.5)
        # Per anchor: its features, the canvas summary and its own (normalised) position.
        self.anchor_head = mlp(c + hidden + 2, [hidden], kinds, 0.01)
        self.stop_head = mlp(hidden, [], 1, 0.01)
        self.critic = mlp(hidden, [hidden], 1, 1.0)
        n_actions = kinds * self.n_anchors + 1
        self.template = nn.Parameter(torch.zeros(k * self.n_anchors, n_actions))
        self.latent_dim_pi, self.latent_dim_vf = n_actions, 1

    def _planes(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h, w, k = self.h, self.w, self.k
        b = x.shape[0]
        canvas = x[:, : h * w].reshape(b, 1, h, w)
        target = x[:, h * w : h * w + k]
        cursor = x[:, h * w + k :]
        row, col = cursor[:, :h].argmax(1), cursor[:, h:].argmax(1)
        pen = torch.zeros(b, h * w, device=x.device)
        pen[torch.arange(b), row * w + col] = 1.0
        planes = [canvas, pen.reshape(b, 1, h, w), self.coords.expand(b, -1, -1, -1)]
        planes.append(target[:, :, None, None].expand(b, k, h, w))
        # The anchor nearest the pen: the template's row (with the target).
        pen_rc = torch.stack([row, col], 1).float()
        nearest = torch.cdist(pen_rc, self.anchor_rc).argmin(1)
        pair = target.argmax(1) * self.n_anchors + nearest
        return torch.cat(planes, 1), target, pair

    def _summary(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        planes, target, pair = self._planes(x)
        features = self.trunk(planes)
        pooled = torch.cat([features.mean((2, 3)), features.amax((2, 3)), target], 1)
        return features, torch.relu(self.summary(pooled)), pair

    def forward_actor(self, x: torch.Tensor) -> torch.Tensor:
        features, summary, pair = self._summary(x)
        return self._logits(features, summary, pair)

    def _logits(
        self, features: torch.Tensor, summary: torch.Tensor, pair: torch.Tensor
    ) -> torch.Tensor:
        b, c = features.shape[:2]
        local = features.flatten(2)[:, :, self.anchor_cells].transpose(1, 2)  # (B, G², C)
        position = (self.anchor_rc / max(self.h - 1, 1) * 2 - 1).expand(b, -1, -1)
        joined = torch.cat([local, summary[:, None].expand(-1, self.n_anchors, -1), position], 2)
        per_anchor = self.anchor_head(joined)  # (B, G², kinds): move, line[, curves]
        # Action order: every anchor's first kind, then every anchor's second, ..., stop.
        moves = per_anchor.transpose(1, 2).reshape(b, -1)
        logits = torch.cat([moves, self.stop_head(summary)], 1) + self.template[pair]
        if not self.can_stop:
            logits[:, -1] = MASKED
        return logits

    def forward_critic(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(self._summary(x)[1])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features, summary, pair = self._summary(x)
        return self._logits(features, summary, pair), self.critic(summary)


class StrokeMapPolicy(HeadsPolicy):
    """Stroke-mode actor-critic (see the module docstring).

    Args:
        channels: the trunk's width (default 32).
        hidden: width of the summary and the heads (default 128).
        can_stop: whether the stop action may be taken (default False: episodes run to the
            step limit; moving the pen without drawing leaves a finished picture as it is).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        action_space: gym.spaces.Discrete,
        lr_schedule: Any,
        channels: int = 32,
        hidden: int = 128,
        can_stop: bool = False,
        **kwargs: Any,
    ) -> None:
        check_policy_options({"can_stop": can_stop})
        for name, value in (("channels", channels), ("hidden", hidden)):
            if not is_plain_int(value) or not 2 <= value <= 1024:
                raise ValueError(f"policy_kwargs {name!r} must be an int in 2..1024, got {value!r}")
        h = observation_space["canvas"].shape[-1]
        # kinds G² + 1 actions (2 kinds, or 4 with curves: never both, as 2 is not a square).
        # 9 actions would also fit a 2x2 grid: that is the pen's action space, not a stroke one.
        shapes = [(kinds, int(round(np.sqrt((action_space.n - 1) / kinds)))) for kinds in (2, 4)]
        fits = [(k, g) for k, g in shapes if k * g * g + 1 == action_space.n and g >= 3]
        if not fits or "cursor" not in observation_space.spaces:
            raise ValueError(
                "the stroke_map policy is for the paint env's stroke mode "
                f"(Discrete(2 G² + 1) or, with curves, Discrete(4 G² + 1) actions, G >= 3, "
                f"and a cursor); got {action_space}"
            )
        kinds, grid = fits[0]
        self.head_kwargs = {
            "kinds": kinds,
            "grid": grid,
            "channels": channels,
            "hidden": hidden,
            "can_stop": can_stop,
        }
        self.canvas_h = h
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            features_extractor_class=RawObsExtractor,
            ortho_init=False,
            **kwargs,
        )

    def _heads(self) -> nn.Module:
        space = self.observation_space
        return StrokeMapHeads(
            self.canvas_h, space["canvas"].shape[-1], space["target"].n, **self.head_kwargs
        )
