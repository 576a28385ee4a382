"""Coloured shapes on a grid: a non-digit data set and the pictures of ``FlatnetShapes-v0``.

Three classes, each drawn with cells of an ``8 x 8`` grid in one ink colour on light paper:

* ``cross``: a plus sign (one row and one column through a common cell);
* ``ring``: the outline of a rectangle;
* ``slash``: a diagonal line (either direction).

:func:`make_shape_images` draws labelled RGB images of random instances (size, position,
colour, a little paper noise) for training a classifier; :func:`render_cells` draws any grid
of cells the same way, so the env's frames and the training images share one renderer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SHAPE_CLASSES: tuple[str, ...] = ("cross", "ring", "slash")
GRID = 8
#: Ink colours (RGB): saturated and dark enough to stand out on light paper.
PALETTE = np.array(
    [(200, 30, 30), (30, 140, 40), (30, 60, 200), (120, 40, 160), (20, 20, 20), (200, 110, 0)],
    dtype=np.uint8,
)
PAPER = np.array((245, 240, 225), dtype=np.uint8)


def shape_cells(kind: str, rng: np.random.Generator, grid: int = GRID) -> np.ndarray:
    """A random instance of a shape as a boolean ``(grid, grid)`` cell mask."""
    cells = np.zeros((grid, grid), dtype=bool)
    if kind == "cross":
        size = int(rng.integers(3, grid // 2 + 1))  # arm length incl. centre
        r, c = rng.integers(size - 1, grid - size + 1, size=2)
        cells[r - size + 1 : r + size, c] = True
        cells[r, c - size + 1 : c + size] = True
    elif kind == "ring":
        h, w = rng.integers(3, grid + 1, size=2)
        top, left = rng.integers(0, grid - h + 1), rng.integers(0, grid - w + 1)
        cells[top : top + h, left : left + w] = True
        cells[top + 1 : top + h - 1, left + 1 : left + w - 1] = False
    elif kind == "slash":
        length = int(rng.integers(4, grid + 1))
        top, left = rng.integers(0, grid - length + 1, size=2)
        idx = np.arange(length)
        if rng.random() < 0.5:
            cells[top + idx, left + idx] = True
        else:
            cells[top + idx, left + length - 1 - idx] = True
    else:
        raise ValueError(f"unknown shape {kind!r}; expected one of {SHAPE_CLASSES}")
    return cells


def render_cells(
    cells: np.ndarray,
    size: int,
    colour: np.ndarray,
    rng: np.random.Generator | None = None,
    noise: float = 0.0,
) -> np.ndarray:
    """RGB ``uint8 (size, size, 3)`` picture of a cell mask: ink cells on paper.

    ``size`` must be a multiple of the grid; ``noise`` adds uniform paper noise (0..noise*255).
    """
    grid = cells.shape[0]
    if size % grid:
        raise ValueError(f"size {size} must be a multiple of the grid {grid}")
    scale = size // grid
    mask = np.repeat(np.repeat(cells, scale, axis=0), scale, axis=1)
    image = np.where(mask[..., None], np.asarray(colour, np.uint8), PAPER).astype(np.int16)
    if noise > 0 and rng is not None:
        image -= rng.integers(0, int(noise * 255) + 1, size=image.shape, dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def make_shape_images(
    n_per_class: int, size: int = 32, seed: int = 0, noise: float = 0.06
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """``n_per_class`` random pictures of every shape: ``(images uint8 (N, size, size, 3),
    labels (N,), class names)``, deterministic for ``seed``."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, kind in enumerate(SHAPE_CLASSES):
        for _ in range(n_per_class):
            colour = PALETTE[rng.integers(len(PALETTE))]
            images.append(render_cells(shape_cells(kind, rng), size, colour, rng, noise))
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), SHAPE_CLASSES


def write_shape_folder(root: str | Path, n_per_class: int, size: int = 32, seed: int = 0) -> Path:
    """An ``ImageFolder`` of shape pictures (``root/<class>/<i>.png``)."""
    from flatnet_rl.data.folders import save_image_folder

    images, labels, names = make_shape_images(n_per_class, size, seed)
    return save_image_folder(images, labels, names, root)
