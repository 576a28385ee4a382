"""Stroke mode's anchor grid and stroke geometry (straight lines and curves); the pixels are
inked by :mod:`flatnet_rl.util.raster`, for all envs of a batch at once."""

from __future__ import annotations

import functools

import numpy as np

from flatnet_rl.util.raster import brush_offsets, line_points, rasterize_lines

__all__ = [
    "CURVE_BEND",
    "CURVE_PIECES",
    "anchor_points",
    "brush_offsets",
    "line_points",
    "rasterize_lines",
    "stroke_segments",
]

#: A curve's control point sits this many chord lengths off the chord's middle, to the left
#: (kind 2) or right (kind 3) of the direction of travel: the curve's widest point is half of
#: that off the chord (0.4 chords), so two opposite curves between the same anchors make a
#: ring, one a bowl (the round parts of 0, 2, 3, 5, 6, 8, 9 that straight lines only
#: approximate with many steps).
CURVE_BEND = 0.8
#: Straight pieces a curve is drawn with (enough for a 28x28 canvas's longest chord).
CURVE_PIECES = 8


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


def stroke_segments(
    start: np.ndarray, end: np.ndarray, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The straight pieces that ink strokes ``i`` from ``start[i]`` to ``end[i]`` (``(M, 2)``
    int rows/cols) of ``kind[i]``: 1 a line, 2 a curve bending left, 3 right (a quadratic
    Bezier through a control point :data:`CURVE_BEND` chords off the middle, drawn as
    :data:`CURVE_PIECES` lines).

    Returns ``(stroke, piece_start, piece_end)``: for every piece, the index of its stroke
    and its end points, rounded to pixels (lines are their own single piece).
    """
    start, end = np.asarray(start, np.int64), np.asarray(end, np.int64)
    kind = np.asarray(kind)
    if not np.any(kind >= 2):  # lines only (every step without curves): each its own piece
        return np.arange(len(kind)), start, end
    lines = np.flatnonzero(kind == 1)
    curves = np.flatnonzero(kind >= 2)
    t = np.linspace(0.0, 1.0, CURVE_PIECES + 1)[None, :, None]
    p0, p2 = start[curves].astype(float), end[curves].astype(float)
    chord = p2 - p0
    # With rows growing downwards, (-d_col, d_row) is the chord turned a quarter to the left.
    left = np.stack([-chord[:, 1], chord[:, 0]], axis=1)
    sign = np.where(kind[curves] == 2, 1.0, -1.0)[:, None]
    p1 = (p0 + p2) / 2 + sign * CURVE_BEND * left
    points = (1 - t) ** 2 * p0[:, None] + 2 * (1 - t) * t * p1[:, None] + t**2 * p2[:, None]
    points = np.floor(points + 0.5).astype(np.int64)  # (C, P + 1, 2)
    strokes = np.concatenate([lines, np.repeat(curves, CURVE_PIECES)])
    piece_start = np.concatenate([start[lines], points[:, :-1].reshape(-1, 2)])
    piece_end = np.concatenate([end[lines], points[:, 1:].reshape(-1, 2)])
    return strokes, piece_start, piece_end
