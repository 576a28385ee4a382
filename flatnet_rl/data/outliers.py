"""Outlier images whose training target is the uniform distribution.

flatnet adds random binary images labelled ``[1/K] * K`` to the digits, so the classifier
learns to be flat (uncertain) on things that are not digits; this is outlier exposure
(Hendrycks et al. 2019). Every family is generated from a seed and is cheap enough to make
on the fly, at any size and channel count.

``shape`` decides the format: an int ``c`` gives binary canvases ``uint8 (n, c, c)`` in
{0, 1} (digit data); a tuple ``(H, W, C)`` gives ``uint8`` images ``(n, H, W, C)`` 0..255.

Families (binary canvases / images):
    ``bernoulli`` / ``noise``  each pixel on with probability p drawn per image from
                               ``density`` (as in flatnet) / each pixel a uniform random colour.
    ``blobs``                  images only: low-resolution colour noise, enlarged (smooth
                               colour fields with no shape).
    ``inverted``               a real example with every value flipped, as in flatnet.
    ``shuffled``               a real digit's pixels permuted / a real image's patches
                               (side/8) permuted: its ink or colours, no shape.
    ``scribble``               random pen walks (what an agent drawing aimlessly produces).
    ``blocks``                 one to three filled axis-aligned rectangles.
    ``lines``                  binary canvases only: one to four straight lines between random
                               points, 1 to ``1 + side // 14`` pixels wide (what a stroke agent
                               drawing aimlessly produces). Not in the default training mix:
                               a judge of stroke agents asks for it by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from flatnet_rl.data.images import BINARY, ValueRange, resize
from flatnet_rl.util.raster import rasterize_lines

FAMILIES = ("bernoulli", "inverted", "shuffled", "scribble", "blocks", "lines")
#: Families mixed into training by default; ``blocks`` stays out so evaluation has one
#: structured family the model never saw.
TRAIN_FAMILIES = ("bernoulli", "inverted", "shuffled", "scribble")
IMAGE_FAMILIES = ("noise", "blobs", "inverted", "shuffled", "scribble", "blocks")
IMAGE_TRAIN_FAMILIES = ("noise", "blobs", "inverted", "shuffled", "scribble")
DEFAULT_DENSITY = (0.03, 0.5)
#: The values generated image outliers span (binary canvases: :data:`BINARY`).
IMAGE_OUTLIER_RANGE: ValueRange = (0.0, 255.0)
_STEPS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)])
Shape = int | tuple[int, int, int]


def families_for(shape: Shape, train: bool = False) -> tuple[str, ...]:
    """The families that exist for binary canvases (int shape) or images (tuple shape)."""
    if isinstance(shape, int | np.integer):
        return TRAIN_FAMILIES if train else FAMILIES
    return IMAGE_TRAIN_FAMILIES if train else IMAGE_FAMILIES


def outlier_format(examples: np.ndarray) -> tuple[Shape, np.ndarray, ValueRange]:
    """How to make outliers like real ``examples`` (binary canvases ``(N, c, c)``, or images
    ``(N, H, W, C)`` in ``uint8`` 0..255 or float 0..1).

    Returns the ``shape`` argument of :func:`make_outliers`, the examples in the outliers'
    own format (float images as ``uint8`` 0..255: ``inverted`` and ``shuffled`` are made
    from them) and the value range of the generated outliers: binary 0..1, images 0..255,
    whatever range the data themselves are in.
    """
    if examples.ndim == 3:
        return int(examples.shape[2]), examples, BINARY
    if examples.dtype != np.uint8:
        examples = (np.asarray(examples) * 255).round().astype(np.uint8)
    h, w, c = (int(s) for s in examples.shape[1:])
    return (h, w, c), examples, IMAGE_OUTLIER_RANGE


def _check_density(density: float | tuple[float, float]) -> tuple[float, float]:
    low, high = (density, density) if np.isscalar(density) else density
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"density must be a probability or a range within [0, 1], got {density}")
    return float(low), float(high)


# ---------------------------------------------------------------------- binary canvases


def bernoulli(
    n: int,
    canvas: int,
    rng: np.random.Generator,
    density: float | tuple[float, float] = DEFAULT_DENSITY,
) -> np.ndarray:
    low, high = _check_density(density)
    p = rng.uniform(low, high, size=(n, 1, 1))
    return (rng.random((n, canvas, canvas)) < p).astype(np.uint8)


def inverted(n: int, examples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Binary canvases: ``1 - x``; ``uint8`` images: ``255 - x``."""
    picked = examples[rng.integers(0, len(examples), size=n)]
    top = 1 if examples.ndim == 3 else 255
    return (top - picked.astype(np.int16)).astype(np.uint8)


def shuffled(n: int, examples: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Binary canvases: pixels permuted; images: square patches of side ``max(1, side/8)``."""
    picked = examples[rng.integers(0, len(examples), size=n)]
    if examples.ndim == 3:
        flat = picked.reshape(n, examples[0].size)
        return rng.permuted(flat, axis=1).reshape((n, *examples.shape[1:])).astype(np.uint8)
    _, h, w, c = picked.shape
    p = max(1, min(h, w) // 8)
    gh, gw = h // p, w // p
    out = picked.copy()
    patches = picked[:, : gh * p, : gw * p].reshape(n, gh, p, gw, p, c).transpose(0, 1, 3, 2, 4, 5)
    patches = patches.reshape(n, gh * gw, p, p, c)
    order = rng.permuted(np.tile(np.arange(gh * gw), (n, 1)), axis=1)
    patches = np.take_along_axis(patches, order[:, :, None, None, None], axis=1)
    patches = patches.reshape(n, gh, gw, p, p, c).transpose(0, 1, 3, 2, 4, 5)
    out[:, : gh * p, : gw * p] = patches.reshape(n, gh * p, gw * p, c)
    return out


def _walks(image: np.ndarray, rng: np.random.Generator, ink: np.ndarray, width: int) -> None:
    """Draw 1-3 random pen walks of ``ink`` on ``image`` ``(H, W[, C])`` in place."""
    h, w = image.shape[:2]
    side = min(h, w)
    for _ in range(rng.integers(1, 4)):
        pos = np.array([rng.integers(0, h), rng.integers(0, w)])
        for step in _STEPS[rng.integers(0, len(_STEPS), size=rng.integers(side // 2, 2 * side))]:
            image[pos[0] : pos[0] + width, pos[1] : pos[1] + width] = ink
            pos = np.clip(pos + step * width, 0, [h - 1, w - 1])
        image[pos[0] : pos[0] + width, pos[1] : pos[1] + width] = ink


def scribble(n: int, canvas: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((n, canvas, canvas), dtype=np.uint8)
    for image in out:
        for _ in range(rng.integers(1, 4)):
            pos = rng.integers(0, canvas, size=2)
            for step in _STEPS[
                rng.integers(0, len(_STEPS), size=rng.integers(canvas // 2, 2 * canvas))
            ]:
                image[pos[0], pos[1]] = 1
                pos = np.clip(pos + step, 0, canvas - 1)
            image[pos[0], pos[1]] = 1
    return out


def lines(n: int, canvas: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((n, canvas, canvas), dtype=np.uint8)
    count = rng.integers(1, 5, size=n)
    width = rng.integers(1, 2 + canvas // 14, size=n)
    owner = np.repeat(np.arange(n), count)
    ends = rng.integers(0, canvas, size=(len(owner), 2, 2))
    for w in np.unique(width).tolist():
        mine = width[owner] == w
        rasterize_lines(out, owner[mine], ends[mine, 0], ends[mine, 1], int(w))
    return out


def blocks(n: int, canvas: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((n, canvas, canvas), dtype=np.uint8)
    min_side = max(2, canvas // 4)
    for image in out:
        for _ in range(rng.integers(1, 4)):
            h, w = rng.integers(min_side, canvas // 2 + 2, size=2)
            top, left = rng.integers(0, canvas - h + 1), rng.integers(0, canvas - w + 1)
            image[top : top + h, left : left + w] = 1
    return out


# ------------------------------------------------------------------------------ images


def _colours(rng: np.random.Generator, size: int | tuple[int, ...], c: int) -> np.ndarray:
    shape = (size, c) if isinstance(size, int) else (*size, c)
    return rng.integers(0, 256, size=shape, dtype=np.uint8)


def noise_images(n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def blob_images(n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    h, w, c = shape
    low = rng.random((n, c, max(2, h // 8), max(2, w // 8)), dtype=np.float32)
    smooth = resize(torch.from_numpy(low), (h, w)).permute(0, 2, 3, 1).numpy()
    return (smooth * 255).round().astype(np.uint8)


def scribble_images(n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    h, w, c = shape
    out = np.empty((n, h, w, c), dtype=np.uint8)
    width = max(1, min(h, w) // 16)
    for image in out:
        image[...] = _colours(rng, 1, c)[0]
        _walks(image, rng, _colours(rng, 1, c)[0], width)
    return out


def block_images(n: int, shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    h, w, c = shape
    out = np.empty((n, h, w, c), dtype=np.uint8)
    for image in out:
        image[...] = _colours(rng, 1, c)[0]
        for _ in range(rng.integers(1, 4)):
            bh = rng.integers(max(2, h // 4), h // 2 + 2)
            bw = rng.integers(max(2, w // 4), w // 2 + 2)
            top, left = rng.integers(0, h - bh + 1), rng.integers(0, w - bw + 1)
            image[top : top + bh, left : left + bw] = _colours(rng, 1, c)[0]
    return out


# ---------------------------------------------------------------------------- dispatch


def _check_examples(family: str, examples: np.ndarray | None, shape: Shape) -> np.ndarray:
    if examples is None or len(examples) == 0:
        raise ValueError(f"outlier family {family!r} needs a non-empty `examples` array")
    expected = (shape, shape) if isinstance(shape, int | np.integer) else tuple(shape)
    if examples.shape[1:] != expected:
        raise ValueError(f"examples have shape {examples.shape[1:]}, outliers {expected}")
    return examples


def make_family(
    family: str,
    n: int,
    shape: Shape,
    rng: np.random.Generator,
    *,
    examples: np.ndarray | None = None,
    density: float | tuple[float, float] = DEFAULT_DENSITY,
) -> np.ndarray:
    """``n`` images of one outlier family (see the module docstring for ``shape``).

    ``inverted`` and ``shuffled`` are made from real ``examples`` of the same shape.
    """
    known = families_for(shape)
    if family not in known:
        raise ValueError(
            f"unknown outlier family {family!r} for "
            f"{'binary canvases' if isinstance(shape, int | np.integer) else 'images'}; "
            f"expected one of {known}"
        )
    if family in ("inverted", "shuffled"):
        examples = _check_examples(family, examples, shape)
        return (inverted if family == "inverted" else shuffled)(n, examples, rng)
    if isinstance(shape, int | np.integer):
        if family == "bernoulli":
            return bernoulli(n, int(shape), rng, density)
        makers = {"scribble": scribble, "blocks": blocks, "lines": lines}
        return makers[family](n, int(shape), rng)
    shape = tuple(int(s) for s in shape)
    makers = {
        "noise": noise_images,
        "blobs": blob_images,
        "scribble": scribble_images,
        "blocks": block_images,
    }
    return makers[family](n, shape, rng)


def make_outliers(
    n: int,
    shape: Shape,
    *,
    seed: int,
    families: Sequence[str] | None = None,
    examples: np.ndarray | None = None,
    density: float | tuple[float, float] = DEFAULT_DENSITY,
) -> np.ndarray:
    """``n`` outliers split evenly over ``families`` (default: the training families of the
    format) and shuffled, from ``seed``."""
    if n < 0:
        raise ValueError(f"number of outliers must be >= 0, got {n}")
    families = tuple(families_for(shape, train=True) if families is None else families)
    if not families:
        raise ValueError("need at least one outlier family")
    rng = np.random.default_rng(seed)
    counts = np.full(len(families), n // len(families))
    counts[: n % len(families)] += 1
    unknown = set(families) - set(families_for(shape))
    if unknown:
        raise ValueError(
            f"unknown outlier family {sorted(unknown)}; expected some of {families_for(shape)}"
        )
    parts = [
        make_family(f, int(c), shape, rng, examples=examples, density=density)
        for f, c in zip(families, counts, strict=True)
        if c > 0
    ]
    empty_shape = (shape, shape) if isinstance(shape, int | np.integer) else tuple(shape)
    out = np.concatenate(parts) if parts else np.zeros((0, *empty_shape), np.uint8)
    return out[rng.permutation(len(out))]
