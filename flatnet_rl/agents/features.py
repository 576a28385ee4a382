"""A features extractor for small canvases (SB3's NatureCNN needs images >= 36x36)."""

from __future__ import annotations

import gymnasium as gym
import torch
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn


class CanvasFeaturesExtractor(BaseFeaturesExtractor):
    """Small CNN on the canvas, concatenated with every other (one-hot) observation entry.

    For Dict observations with a ``"canvas"`` Box ``(H, W)`` (or ``(C, H, W)``) of any size
    >= 3; the other entries (``target``, ``cursor``) arrive one-hot encoded by SB3's
    preprocessing and are appended to the CNN features as they are, so the policy sees
    the target directly.

    Example:
        >>> from stable_baselines3 import PPO
        >>> import gymnasium, flatnet_rl
        >>> model = PPO("MultiInputPolicy", gymnasium.make("FlatnetPaintBare-v0"),
        ...             policy_kwargs={"features_extractor_class": CanvasFeaturesExtractor})
    """

    def __init__(self, observation_space: gym.spaces.Dict, channels: int = 32) -> None:
        if (
            not isinstance(observation_space, gym.spaces.Dict)
            or "canvas" not in observation_space.spaces
        ):
            raise ValueError(
                "CanvasFeaturesExtractor needs a Dict observation with a 'canvas' entry"
            )
        canvas_space = observation_space["canvas"]
        shape = canvas_space.shape
        if len(shape) not in (2, 3) or min(shape[-2:]) < 3:
            raise ValueError(f"canvas must be (H, W) or (C, H, W) with H, W >= 3, got {shape}")
        in_channels = 1 if len(shape) == 2 else shape[0]
        h, w = shape[-2:]
        other = sum(
            gym.spaces.flatdim(space)
            for key, space in observation_space.spaces.items()
            if key != "canvas"
        )
        cnn_out = channels * h * w
        super().__init__(observation_space, features_dim=cnn_out + other)
        # Padded convolutions keep the map at H x W: on an 8x8 canvas every pixel matters.
        self.cnn = nn.Sequential(
            nn.Conv2d(in_channels, channels // 2, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels // 2, channels, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.canvas_ndim = len(shape)
        self.other_keys = [k for k in observation_space.spaces if k != "canvas"]

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        canvas = observations["canvas"].float()
        if self.canvas_ndim == 2:
            canvas = canvas.unsqueeze(1)
        parts = [self.cnn(canvas)]
        parts += [observations[k].float().flatten(1) for k in self.other_keys]
        return torch.cat(parts, dim=1)


#: The smallest image side SB3's NatureCNN takes (kernels 8/4, 4/2, 3/1).
NATURE_CNN_MIN_SIDE = 36


def too_small_for_cnn(space: gym.Space) -> bool:
    """An image Box (as SB3 sees it) too small for NatureCNN, e.g. MiniGrid's 7x7x3 view."""
    from stable_baselines3.common.preprocessing import is_image_space

    if not is_image_space(space, check_channels=False):
        return False
    shape = space.shape
    side = min(shape[1:]) if shape[0] in (1, 3, 4) else min(shape[:2])
    return side < NATURE_CNN_MIN_SIDE


class SmallImageDictExtractor(BaseFeaturesExtractor):
    """SB3's ``CombinedExtractor`` for Dict observations whose images may be small: NatureCNN
    on images it can take, every other entry (small images included) flattened."""

    def __init__(self, observation_space: gym.spaces.Dict, cnn_output_dim: int = 256) -> None:
        from stable_baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space
        from stable_baselines3.common.torch_layers import NatureCNN

        extractors: dict[str, nn.Module] = {}
        size = 0
        for key, space in observation_space.spaces.items():
            if is_image_space(space) and not too_small_for_cnn(space):
                extractors[key] = NatureCNN(space, features_dim=cnn_output_dim)
                size += cnn_output_dim
            else:
                extractors[key] = nn.Flatten()
                size += get_flattened_obs_dim(space)
        super().__init__(observation_space, features_dim=size)
        self.extractors = nn.ModuleDict(extractors)

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat(
            [module(observations[key].float()) for key, module in self.extractors.items()], dim=1
        )
