"""Where an image's colour channels are: declared where the shape leaves it open.

``(H, W, C)`` or ``(C, H, W)`` with 1 (grey) or 3 (RGB) channels is read when only one axis
can be the colour axis. A shape such as ``(3, 16, 3)`` needs ``layout``; a fourth channel
is alpha only when ``alpha=True`` says so, since 4 stacked grey frames have the same shape;
``stacked``: a model that takes that many frames as its channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class CanvasError(ValueError):
    """An array cannot be read as an image for a classifier (shape, dtype, range, NaN)."""


#: Layouts a caller can declare for one image: channels last or first (grey needs none).
LAYOUTS = ("HWC", "CHW")


def check_layout(layout: Any) -> str | None:
    """``None`` (inferred where unambiguous), ``"HWC"`` or ``"CHW"``."""
    if layout is not None and layout not in LAYOUTS:
        raise CanvasError(f"layout must be None, 'HWC' or 'CHW', got {layout!r}")
    return layout


def channel_axis(
    shape: Sequence[int],
    layout: str | None = None,
    alpha: bool = False,
    stacked: int | None = None,
) -> int | None:
    """Index of the colour axis of one image ``(H, W, C)`` / ``(C, H, W)`` (None: ``(H, W)``).

    Declared, not guessed: with ``layout=None`` an image is read only when one axis alone
    can be the colour axis (1 grey or 3 RGB channels; 4 only with ``alpha=True``). A shape
    such as ``(3, 16, 3)`` needs ``layout``; 4 channels are RGBA only when ``alpha`` says so
    (a frame stack of 4 grey frames has the same shape: the reward wrappers read stacks).
    ``stacked``: a model that takes this many stacked frames as channels also reads them.
    """
    if len(shape) == 2:
        return None
    colours = ((1, 3, 4) if alpha else (1, 3)) + ((stacked,) if stacked else ())
    layout = check_layout(layout)
    if layout is not None:
        axis = 0 if layout == "CHW" else len(shape) - 1
        if shape[axis] not in colours:
            raise CanvasError(
                f"an image of shape {tuple(shape)} declared {layout} has {shape[axis]} "
                f"channels; expected {'/'.join(map(str, colours))}"
                + ("" if alpha or shape[axis] != 4 else " (pass alpha=True for RGBA)")
            )
        return axis
    last, first = shape[-1] in colours, shape[0] in colours
    if last and first:
        raise CanvasError(
            f"the layout of an image of shape {tuple(shape)} is ambiguous (channels first or "
            "last?): declare it with layout='CHW' or layout='HWC'"
        )
    if last:
        return len(shape) - 1
    if first:
        return 0
    if 4 in (shape[0], shape[-1]):
        raise CanvasError(
            f"an image of shape {tuple(shape)} has 4 channels: RGBA is read only when declared "
            "(alpha=True); a stack of 4 frames is read by the reward wrappers from "
            "VecFrameStack / FrameStackObservation, or pass one frame"
        )
    raise CanvasError(
        f"cannot find the colour channel in an image of shape {tuple(shape)}: expected "
        f"{'/'.join(map(str, colours))} channels first or last"
    )


def to_nchw(
    t: torch.Tensor,
    batched: bool,
    *,
    layout: str | None = None,
    alpha: bool = False,
    stacked: int | None = None,
) -> torch.Tensor:
    """One image (``batched=False``) or a batch -> ``(N, C, H, W)`` (see :func:`channel_axis`)."""
    rank = t.ndim - int(batched)
    if rank not in (2, 3):
        shape = "(N, H, W[, C])" if batched else "(H, W), (H, W, C) or (C, H, W)"
        raise CanvasError(f"expected image shape {shape}, got shape {tuple(t.shape)}")
    if not batched:
        t = t[None]
    axis = channel_axis(t.shape[1:], layout, alpha, stacked)
    if axis is None:
        return t[:, None]
    if axis == 2:
        return t.permute(0, 3, 1, 2)
    return t
