"""Stroke mode's anchor grid; its lines are drawn by :mod:`flatnet_rl.util.raster`."""

from __future__ import annotations

import functools

import numpy as np

from flatnet_rl.util.raster import brush_offsets, line_points, rasterize_lines

__all__ = ["anchor_points", "brush_offsets", "line_points", "rasterize_lines"]


@functools.lru_cache(maxsize=32)
def anchor_points(canvas_size: int, grid: int) -> np.ndarray:
    """``(grid * grid, 2)`` int64 (row, col) of the stroke anchors, row-major.

    Evenly spaced over the canvas less a margin of ``canvas_size // 7`` pixels per side above
    8x8 (MNIST digits sit in the central 20x20 of 28x28: anchors in the empty border would
    be wasted actions); 8x8 digits fill the canvas, so there the anchors span all of it.
    """
    margin = 0 if canvas_size <= 8 else canvas_size // 7
    line = np.floor(np.linspace(margin, canvas_size - 1 - margin, grid) + 0.5).astype(np.int64)
    rows, cols = np.meshgrid(line, line, indexing="ij")
    points = np.stack([rows.reshape(-1), cols.reshape(-1)], axis=1)
    points.setflags(write=False)
    return points
