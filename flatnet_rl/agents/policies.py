"""Actor-critic policies for the paint env (Stable-Baselines3 ``ActorCriticPolicy``).

* :class:`MaskedMLPPolicy` (pixel mode, ``Discrete(H*W + 1)``): MLPs on the flattened canvas
  and the target one-hot. Already-painted pixels are masked out of the actor's logits
  (painting them again is a no-op: masking removes wasted steps), and a learned per-target
  bias of every action (a "template" of each digit) gives the target a direct path to the
  actions.
* :class:`PenMLPPolicy` (pen mode, ``Discrete(9)``): MLPs on the canvas, an egocentric window
  around the cursor, the target and the cursor; a per-(target, cursor cell) bias of the 9
  actions; moves that would leave the canvas are masked.

Both keep SB3's PPO machinery (``action_net``/``value_net`` are identities: the heads output
logits and values directly). Measured with the paint env's presets
(``flatnet_rl/agents/presets.py``, which records the study behind them).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from flatnet_rl.envs.paint import PEN_DC, PEN_DR
from flatnet_rl.util.checks import is_plain_int

#: Logit of a masked action: exp() underflows to an exact 0 probability.
MASKED = -1e8


def check_policy_options(flags: dict[str, Any], radius: int | None = None) -> None:
    """Policy options come from JSON (``--hyperparams``): a flag must be a real bool (the
    string ``"no"`` would read as true) and the pen's window radius an int >= 1."""
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ValueError(f"policy_kwargs {name!r} must be true or false, got {value!r}")
    if radius is not None and (not is_plain_int(radius) or radius < 1):
        raise ValueError(f"policy_kwargs 'radius' must be an int >= 1, got {radius!r}")


def mlp(n_in: int, widths: list[int], n_out: int, gain: float) -> nn.Sequential:
    """ReLU MLP with orthogonal init (SB3's recipe: sqrt 2 hidden, ``gain`` for the output)."""
    layers: list[nn.Module] = []
    for width in widths:
        linear = nn.Linear(n_in, width)
        nn.init.orthogonal_(linear.weight, 2**0.5)
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        n_in = width
    out = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(out.weight, gain)
    nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


class HeadsPolicy(ActorCriticPolicy):
    """Plumbing shared by the policies: ``_heads()`` builds the actor-critic heads."""

    def _heads(self) -> nn.Module:
        raise NotImplementedError

    def _build(self, lr_schedule: Any) -> None:
        self.mlp_extractor = self._heads()
        self.action_net = nn.Identity()
        self.value_net = nn.Identity()
        self.optimizer = self.optimizer_class(
            self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )


# ------------------------------------------------------------------------------- pixel


class CanvasTargetExtractor(BaseFeaturesExtractor):
    """Dict(canvas, target) -> ``[canvas pixels (H*W), target one-hot (K)]``."""

    def __init__(self, observation_space: gym.spaces.Dict) -> None:
        h, w = observation_space["canvas"].shape[-2:]
        k = observation_space["target"].n
        super().__init__(observation_space, features_dim=h * w + k)
        self.hw, self.k = h * w, k

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        canvas = obs["canvas"].float().flatten(1)
        return torch.cat([canvas, obs["target"].float().reshape(len(canvas), -1)], 1)


class MaskedPixelHeads(nn.Module):
    """Actor: ``H*W + 1`` logits (painted pixels masked) + template bias; critic: value."""

    def __init__(self, ext: CanvasTargetExtractor, net_arch: list[int], template: bool) -> None:
        super().__init__()
        self.hw, self.k = ext.hw, ext.k
        self.actor = mlp(ext.features_dim, net_arch, self.hw + 1, 0.01)
        self.critic = mlp(ext.features_dim, net_arch, 1, 1.0)
        self.template = nn.Parameter(torch.zeros(ext.k, self.hw + 1)) if template else None
        self.latent_dim_pi, self.latent_dim_vf = self.hw + 1, 1

    def forward_actor(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.actor(x)
        if self.template is not None:
            logits = logits + x[:, self.hw : self.hw + self.k] @ self.template
        painted = torch.cat(
            [x[:, : self.hw] > 0.5, torch.zeros_like(x[:, :1], dtype=torch.bool)], 1
        )
        return logits.masked_fill(painted, MASKED)

    def forward_critic(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(x), self.forward_critic(x)


class MaskedMLPPolicy(HeadsPolicy):
    """Pixel-mode actor-critic (see the module docstring).

    Args:
        net_arch: hidden widths of both MLPs (default ``[256, 256]``).
        template: add the learned per-target bias of every action (default True).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        action_space: gym.spaces.Discrete,
        lr_schedule: Any,
        net_arch: list[int] | None = None,
        template: bool = True,
        **kwargs: Any,
    ) -> None:
        check_policy_options({"template": template})
        self.widths = list(net_arch or [256, 256])
        self.template = template
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            features_extractor_class=CanvasTargetExtractor,
            ortho_init=False,
            **kwargs,
        )

    def _heads(self) -> nn.Module:
        return MaskedPixelHeads(self.features_extractor, self.widths, self.template)


# --------------------------------------------------------------------------------- pen


class PenViewExtractor(BaseFeaturesExtractor):
    """Dict(canvas, target, cursor) -> the pen policy's input.

    Layout: ``H*W`` canvas; the ``(2r+1)^2`` egocentric window centred on the cursor (cells
    outside the canvas read -1); ``K`` target one-hot; ``H + W`` cursor row/column one-hots;
    then the ``K*H*W`` one-hot of the (target, cursor cell) pair (input of the template) and
    4 flags "this move leaves the canvas" (for masking).
    """

    def __init__(self, observation_space: gym.spaces.Dict, radius: int = 3) -> None:
        h, w = observation_space["canvas"].shape[-2:]
        k = observation_space["target"].n
        window = 2 * radius + 1
        self.n_mlp = h * w + window * window + k + h + w
        super().__init__(observation_space, features_dim=self.n_mlp + k * h * w + 4)
        self.h, self.w, self.k, self.radius = h, w, k, radius
        offsets = torch.arange(-radius, radius + 1)
        grid_r = offsets.view(window, 1).expand(window, window).reshape(-1)
        grid_c = offsets.view(1, window).expand(window, window).reshape(-1)
        self.register_buffer("window_rows", grid_r, persistent=False)
        self.register_buffer("window_cols", grid_c, persistent=False)
        self.register_buffer("move_rows", torch.tensor(PEN_DR), persistent=False)
        self.register_buffer("move_cols", torch.tensor(PEN_DC), persistent=False)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        canvas = obs["canvas"].float().reshape(-1, self.h, self.w)
        b, r = canvas.shape[0], self.radius
        target = obs["target"].float().reshape(b, self.k)
        cursor = obs["cursor"].float().reshape(b, self.h + self.w)
        row, col = cursor[:, : self.h].argmax(1), cursor[:, self.h :].argmax(1)
        padded = torch.nn.functional.pad(canvas, (r, r, r, r), value=-1.0)
        rows = row[:, None] + r + self.window_rows[None]
        cols = col[:, None] + r + self.window_cols[None]
        window = padded[torch.arange(b)[:, None], rows, cols]
        pair = torch.zeros(b, self.k * self.h * self.w, device=canvas.device)
        pair[torch.arange(b), target.argmax(1) * self.h * self.w + row * self.w + col] = 1.0
        new_r = row[:, None] + self.move_rows[None]
        new_c = col[:, None] + self.move_cols[None]
        leaves = ((new_r < 0) | (new_r >= self.h) | (new_c < 0) | (new_c >= self.w)).float()
        return torch.cat([canvas.flatten(1), window, target, cursor, pair, leaves], 1)


class PenHeads(nn.Module):
    """Actor: 9 logits (+ the (target, cell) template; moves off the canvas masked); critic."""

    def __init__(
        self, ext: PenViewExtractor, net_arch: list[int], n_actions: int, can_stop: bool = True
    ) -> None:
        super().__init__()
        self.n_mlp, self.n_pair = ext.n_mlp, ext.k * ext.h * ext.w
        self.can_stop = can_stop
        self.actor = mlp(self.n_mlp, net_arch, n_actions, 0.01)
        self.critic = mlp(self.n_mlp, net_arch, 1, 1.0)
        self.template = nn.Parameter(torch.zeros(self.n_pair, n_actions))
        self.latent_dim_pi, self.latent_dim_vf = n_actions, 1

    def forward_actor(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.actor(x[:, : self.n_mlp])
        logits = logits + x[:, self.n_mlp : self.n_mlp + self.n_pair] @ self.template
        leaves = x[:, -4:] > 0.5  # the same walls for pen-up (0-3) and pen-down (4-7) moves
        stop = torch.full_like(leaves[:, :1], not self.can_stop)
        mask = torch.cat([leaves, leaves, stop], 1)
        return logits.masked_fill(mask, MASKED)

    def forward_critic(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x[:, : self.n_mlp])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(x), self.forward_critic(x)


class PenMLPPolicy(HeadsPolicy):
    """Pen-mode actor-critic (see the module docstring).

    Args:
        net_arch: hidden widths of both MLPs (default ``[256, 256]``).
        radius: half-width of the egocentric window (default 3: 7x7 cells).
        can_stop: whether the stop action may be taken. ``False`` masks it: every episode
            then runs to the env's step limit, and the pen lifts (moves with the pen up) to
            leave a finished picture as it is. An agent that may stop can learn to stop on
            a digit it has not learned to draw yet, and PPO then never sees the rest of
            that episode (see ``flatnet_rl/agents/presets.py`` for the measurements).
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        action_space: gym.spaces.Discrete,
        lr_schedule: Any,
        net_arch: list[int] | None = None,
        radius: int = 3,
        can_stop: bool = True,
        **kwargs: Any,
    ) -> None:
        check_policy_options({"can_stop": can_stop}, radius=radius)
        self.widths = list(net_arch or [256, 256])
        self.can_stop = can_stop
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            features_extractor_class=PenViewExtractor,
            features_extractor_kwargs={"radius": radius},
            ortho_init=False,
            **kwargs,
        )

    def _heads(self) -> nn.Module:
        return PenHeads(
            self.features_extractor, self.widths, int(self.action_space.n), self.can_stop
        )
