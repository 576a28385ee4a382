"""The one place where arrays become classifier canvases.

Two entry points:

* :func:`to_canvas_batch` validates what a user hands to a classifier (already a canvas:
  ``(H, W)`` or ``(N, H, W)``, binary or grey) and returns a float tensor. It never
  resizes: a wrong size is an error, not a silent guess.
* :func:`frames_to_canvas` converts an environment's images (RGB or grey, uint8 or float,
  channel-first or channel-last, any size) to binary canvases: grey -> resize (torchvision,
  antialiased) -> optional inversion -> threshold. The reward wrappers use it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torchvision.transforms.functional as TF


class CanvasError(ValueError):
    """An array cannot be read as a canvas (shape, dtype, NaN or value range)."""


ArrayLike = np.ndarray | torch.Tensor


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, np.ndarray):
        if x.dtype == object or x.dtype.kind in "USVc":
            raise CanvasError(f"canvas must be numeric or bool, got dtype {x.dtype}")
        if x.dtype.kind == "u" and x.dtype.itemsize > 1:
            # torch has no min/max for uint16/32/64: compare their values as int64 instead.
            x = x.astype(np.int64)
        return torch.from_numpy(np.ascontiguousarray(x))
    try:
        return torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError) as err:
        raise CanvasError(f"cannot read a canvas from {type(x).__name__}: {err}") from err


def _scale_to_unit(t: torch.Tensor, what: str) -> torch.Tensor:
    """bool / {0,1} ints / uint8 0..255 / floats in [0, 1] -> float32 in [0, 1]."""
    if t.dtype == torch.bool:
        return t.to(torch.float32)
    if t.dtype.is_complex:
        raise CanvasError(f"{what} must be real, got dtype {t.dtype}")
    if t.dtype == torch.uint8:
        # 0/1 canvases and 0/255 images both arrive as uint8: values above 1 mean 0..255.
        if t.numel() and int(t.max()) > 1:
            return t.to(torch.float32) / 255.0
        return t.to(torch.float32)
    if not t.dtype.is_floating_point:
        if t.numel() and (int(t.min()) < 0 or int(t.max()) > 1):
            raise CanvasError(
                f"{what} of integer dtype {t.dtype} must hold only 0 and 1 "
                f"(or be uint8 0..255), got values in [{int(t.min())}, {int(t.max())}]"
            )
        return t.to(torch.float32)
    t = t.to(torch.float32)
    if t.numel():
        if not bool(torch.isfinite(t).all()):
            raise CanvasError(f"{what} contains NaN or infinite values")
        low, high = float(t.min()), float(t.max())
        if low < 0.0 or high > 1.0:
            raise CanvasError(
                f"{what} of float dtype must lie in [0, 1], got values in [{low:g}, {high:g}]"
                " (pass uint8 for 0..255 images)"
            )
    return t


def to_canvas_batch(x: ArrayLike, canvas: int) -> tuple[torch.Tensor, bool]:
    """Validate canvases for a classifier.

    Args:
        x: one canvas ``(canvas, canvas)`` or a batch ``(N, canvas, canvas)``, numpy or torch;
            bool, ints in {0, 1}, uint8 0..255, or floats in [0, 1].
        canvas: the classifier's canvas side.

    Returns:
        ``(batch, single)``: a float32 tensor ``(N, 1, canvas, canvas)`` in [0, 1] on the
        input's device, and whether the input was a single canvas.

    Raises:
        CanvasError: wrong rank or size, NaN/inf, or values outside the accepted ranges.
    """
    t = _as_tensor(x)
    expected = f"(H, W) or (N, H, W) with H = W = {canvas}"
    if t.ndim not in (2, 3):
        raise CanvasError(f"expected canvas shape {expected}, got shape {tuple(t.shape)}")
    if tuple(t.shape[-2:]) != (canvas, canvas):
        raise CanvasError(
            f"expected canvas shape {expected}, got shape {tuple(t.shape)}; resize images "
            "with flatnet_rl.data.frames_to_canvas or use a classifier trained for this size"
        )
    single = t.ndim == 2
    batch = _scale_to_unit(t, "canvas")
    return batch.reshape(-1, 1, canvas, canvas), single


def _channels_last(t: torch.Tensor) -> torch.Tensor:
    """``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` -> ``(N, C, H, W)``."""
    if t.ndim == 3:
        return t[:, None]
    if t.shape[-1] in (1, 3, 4):
        return t.permute(0, 3, 1, 2)
    if t.shape[1] in (1, 3, 4):
        return t
    raise CanvasError(
        f"cannot find the colour channel in image batch of shape {tuple(t.shape)}: "
        "expected 1, 3 or 4 channels first or last"
    )


def frames_to_canvas(
    frames: ArrayLike,
    canvas: int,
    *,
    batched: bool,
    threshold: float = 0.5,
    invert: bool | Literal["auto"] = "auto",
) -> np.ndarray:
    """Convert environment images to binary canvases ``uint8 (N, canvas, canvas)``.

    Args:
        frames: one image (``batched=False``: ``(H, W)``, ``(H, W, C)`` or ``(C, H, W)``) or a
            batch (``batched=True``: the same with a leading ``N``); C in {1, 3, 4} (alpha is
            dropped); uint8 0..255, bool, or float in [0, 1].
        canvas: side of the classifier's canvas.
        threshold: grey level at or above which a resized pixel is ink.
        invert: ``True`` for dark ink on a light background, ``False`` for light ink on dark,
            ``"auto"`` to decide per image: a mostly light image is taken as dark-on-light.

    Raises:
        CanvasError: wrong rank, unknown channel layout, NaN/inf or out-of-range values.
    """
    t = _as_tensor(frames)
    rank = t.ndim - int(batched)
    if rank not in (2, 3):
        shape = "(N, H, W[, C])" if batched else "(H, W), (H, W, C) or (C, H, W)"
        raise CanvasError(f"expected image shape {shape}, got shape {tuple(t.shape)}")
    if not batched:
        t = t[None]
    images = _channels_last(_scale_to_unit(t, "image"))
    if images.shape[1] == 4:
        images = images[:, :3]
    gray = TF.rgb_to_grayscale(images) if images.shape[1] == 3 else images
    if tuple(gray.shape[-2:]) != (canvas, canvas):
        gray = TF.resize(gray, [canvas, canvas], antialias=True)
    gray = gray[:, 0]
    if invert == "auto":
        light = gray.mean(dim=(1, 2), keepdim=True) > 0.5
        gray = torch.where(light, 1.0 - gray, gray)
    elif invert:
        gray = 1.0 - gray
    return (gray >= threshold).to(torch.uint8).cpu().numpy()
