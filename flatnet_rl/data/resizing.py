"""Resizing images ``(N, C, H, W)`` in [0, 1]: the data sets' and classifiers' one way to
change an image's size (:func:`resize`), and CLIP's (:func:`resize_crop`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF


def resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize float images ``(N, C, H, W)``: area averaging when shrinking (thin strokes
    survive as grey levels before a threshold), bilinear when enlarging (smooth strokes).
    The data sets and the classifiers' inputs share this one function."""
    height, width = images.shape[-2:]
    if (height, width) == tuple(size):
        return images
    if size[0] <= height and size[1] <= width:
        return F.interpolate(images, size=tuple(size), mode="area")
    return F.interpolate(images, size=tuple(size), mode="bilinear", align_corners=False)


def resize_crop(images: torch.Tensor, size: tuple[int, int], mode: str) -> torch.Tensor:
    """CLIP's resizing: the shortest side to the larger input side, then a centre crop.

    ``mode``: ``"bicubic"`` (antialiased, clamped to [0, 1] as an 8-bit image would be) for
    pictures, ``"nearest"`` for binary canvases (crisp strokes).
    """
    height, width = images.shape[-2:]
    scale = max(size[0] / height, size[1] / width)
    scaled = (max(size[0], round(height * scale)), max(size[1], round(width * scale)))
    if scaled != (height, width):
        if mode == "nearest":
            images = F.interpolate(images, size=scaled, mode="nearest-exact")
        else:
            images = TF.resize(
                images, list(scaled), interpolation=TF.InterpolationMode.BICUBIC, antialias=True
            ).clamp_(0.0, 1.0)
    if tuple(images.shape[-2:]) != tuple(size):
        images = TF.center_crop(images, list(size))
    return images


__all__ = ["resize", "resize_crop"]
