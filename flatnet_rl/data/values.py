"""Arrays to float tensors in [0, 1], by a declared value range (never guessed from the data):
the first step of :meth:`InputSpec.prepare <flatnet_rl.data.images.InputSpec.prepare>`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from flatnet_rl.data.layout import CanvasError  # the one error for unreadable images

ArrayLike = np.ndarray | torch.Tensor
ValueRange = tuple[float, float]
#: The value range of binary canvases (``uint8`` 0/1, as the paint env and the data sets).
BINARY: ValueRange = (0.0, 1.0)


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, np.ndarray):
        if x.dtype == object or x.dtype.kind in "USVcmM":
            raise CanvasError(f"images must be numeric or bool, got dtype {x.dtype}")
        if x.dtype.kind == "u" and x.dtype.itemsize > 1:
            # torch has no min/max for uint16/32/64: compare their values as int64 instead.
            x = x.astype(np.int64)
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, str | bytes):
        raise CanvasError(f"cannot read images from {type(x).__name__} {x!r:.40}")
    try:
        return _as_tensor(np.asarray(x))
    except (TypeError, ValueError) as err:
        raise CanvasError(f"cannot read images from {type(x).__name__}: {err}") from err


def check_value_range(value_range: Any) -> ValueRange:
    """A ``(low, high)`` pair of finite numbers with ``low < high``."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise CanvasError(
            f"value_range must be a pair (low, high) of numbers, got {value_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise CanvasError(f"value_range must be finite with low < high, got {value_range!r}")
    return low, high


def _declared_range(t: torch.Tensor, value_range: Any, what: str) -> ValueRange:
    """The range the values are meant to span: stated, or the dtype's convention."""
    if t.dtype == torch.bool:
        return BINARY
    if t.dtype.is_complex:
        raise CanvasError(f"{what} must be real, got dtype {t.dtype}")
    if value_range is not None:
        return check_value_range(value_range)
    if t.dtype == torch.uint8:
        return (0.0, 255.0)
    if t.dtype.is_floating_point:
        return BINARY
    raise CanvasError(
        f"{what} of integer dtype {t.dtype} have no conventional value range: pass "
        "value_range=(0, 1) for binary canvases or (0, 255) for 8-bit images"
    )


def to_unit(t: torch.Tensor, value_range: Any = None, what: str = "images") -> torch.Tensor:
    """float32 in [0, 1] from the declared range; values outside it are an error."""
    low, high = _declared_range(t, value_range, what)
    if t.dtype == torch.bool:
        return t.to(torch.float32)
    values = t
    if values.numel():
        # Integers are finite, and their range is checked before the (larger) float copy.
        if values.dtype.is_floating_point and not bool(torch.isfinite(values).all()):
            raise CanvasError(f"{what} contain NaN or infinite values")
        vmin, vmax = float(values.min()), float(values.max())
        if vmin < low or vmax > high:
            raise CanvasError(
                f"{what} must lie in the declared range [{low:g}, {high:g}] (dtype {t.dtype}), "
                f"got values in [{vmin:g}, {vmax:g}]"
                + (
                    "; uint8 means 0..255 and floats 0..1 unless value_range says otherwise"
                    if t.dtype.is_floating_point or t.dtype == torch.uint8
                    else ""
                )
            )
    values = values.to(torch.float32)
    if (low, high) == BINARY:
        return values
    return (values - low) / (high - low)


__all__ = ["BINARY", "ArrayLike", "CanvasError", "ValueRange", "check_value_range", "to_unit"]
