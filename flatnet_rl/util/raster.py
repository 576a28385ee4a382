"""Straight lines on binary canvases, for many canvases at once (numpy, no Python per line):
the paint env's strokes and the ``lines`` outlier family draw with the same code."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=16)
def brush_offsets(width: int) -> np.ndarray:
    """``(F, 2)`` (row, col) offsets a brush of ``width`` pixels inks around a line point: a
    ``width x width`` square (up to 3), a disc of that diameter above."""
    low = -((width - 1) // 2)
    span = np.arange(low, low + width)
    dr, dc = np.meshgrid(span, span, indexing="ij")
    offsets = np.stack([dr.reshape(-1), dc.reshape(-1)], axis=1)
    if width > 3:
        centre = (width - 1) / 2 + low
        keep = ((offsets - centre) ** 2).sum(1) <= (width / 2) ** 2
        offsets = offsets[keep]
    offsets.setflags(write=False)
    return offsets


def line_points(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pixels of straight lines from ``start[i]`` to ``end[i]`` (``(M, 2)`` int rows/cols).

    Returns ``(points, length)``: ``points`` ``(M, L, 2)`` with line ``i``'s
    ``n_i + 1 = max(|dr|, |dc|) + 1`` pixels first, then its end point repeated (so every line
    fits one array), and ``length`` = ``n_i + 1``. Pixel ``k`` of a line is
    ``start + round(k * (end - start) / n)``, rounding halves up, in integer arithmetic: an
    8-connected digital line with both end points, within half a pixel of the segment.
    """
    delta = end - start
    n = np.abs(delta).max(axis=1)
    steps = np.arange(int(n.max(initial=0)) + 1)
    k = np.minimum(steps[None, :], n[:, None])
    denominator = np.maximum(n, 1)[:, None, None]
    # round(k * d / n) = floor((2 k d + n) / (2 n)), exact for integers of either sign.
    offset = (2 * k[:, :, None] * delta[:, None, :] + denominator) // (2 * denominator)
    return start[:, None, :] + offset, n + 1


def rasterize_lines(
    canvas: np.ndarray, envs: np.ndarray, start: np.ndarray, end: np.ndarray, width: int
) -> None:
    """Ink lines of brush ``width`` from ``start[i]`` to ``end[i]`` on ``canvas[envs[i]]``,
    in place, for all ``i`` at once (a square or disc brush, :func:`brush_offsets`)."""
    if not len(envs):
        return
    n, size = canvas.shape[0], canvas.shape[1]
    points, _ = line_points(start, end)
    brush = brush_offsets(width)
    cells = points[:, :, None, :] + brush[None, None, :, :]  # (M, L, F, 2)
    rows, cols = cells[..., 0], cells[..., 1]
    inside = (rows >= 0) & (rows < size) & (cols >= 0) & (cols < size)
    flat = (envs[:, None, None] * size + rows) * size + cols
    canvas.reshape(n * size * size)[flat[inside]] = 1
