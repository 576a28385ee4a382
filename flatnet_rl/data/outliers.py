"""Outlier ("random") canvases whose training target is the uniform distribution.

flatnet adds random binary images labelled ``[0.1] * 10`` to the digits, so the classifier
learns to be flat (uncertain) on things that are not digits; this is outlier exposure
(Hendrycks et al. 2019). Every family here is generated from a seed, returns ``uint8``
canvases in {0, 1} of shape ``(n, canvas, canvas)``, and is cheap enough to make on the fly.

Families:
    ``bernoulli``  each pixel on with probability p; p drawn per image from ``density``
                   (a range, so the model sees sparse and dense noise), as in flatnet.
    ``inverted``   a real digit with every pixel flipped, as in flatnet.
    ``shuffled``   a real digit's pixels permuted at random: the ink of a digit, no shape.
    ``scribble``   a random pen walk (what an agent drawing aimlessly produces).
    ``blocks``     one to three filled axis-aligned rectangles.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FAMILIES = ("bernoulli", "inverted", "shuffled", "scribble", "blocks")
#: Families mixed into training by default; ``blocks`` stays out so evaluation has one
#: structured family the model never saw.
TRAIN_FAMILIES = ("bernoulli", "inverted", "shuffled", "scribble")
DEFAULT_DENSITY = (0.03, 0.5)
_STEPS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)])


def _check_density(density: float | tuple[float, float]) -> tuple[float, float]:
    low, high = (density, density) if np.isscalar(density) else density
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"density must be a probability or a range within [0, 1], got {density}")
    return float(low), float(high)


def bernoulli(
    n: int,
    canvas: int,
    rng: np.random.Generator,
    density: float | tuple[float, float] = DEFAULT_DENSITY,
) -> np.ndarray:
    low, high = _check_density(density)
    p = rng.uniform(low, high, size=(n, 1, 1))
    return (rng.random((n, canvas, canvas)) < p).astype(np.uint8)


def inverted(n: int, digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (1 - digits[rng.integers(0, len(digits), size=n)]).astype(np.uint8)


def shuffled(n: int, digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    picked = digits[rng.integers(0, len(digits), size=n)].reshape(n, digits[0].size)
    return rng.permuted(picked, axis=1).reshape((n, *digits.shape[1:])).astype(np.uint8)


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


def blocks(n: int, canvas: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros((n, canvas, canvas), dtype=np.uint8)
    min_side = max(2, canvas // 4)
    for image in out:
        for _ in range(rng.integers(1, 4)):
            h, w = rng.integers(min_side, canvas // 2 + 2, size=2)
            top, left = rng.integers(0, canvas - h + 1), rng.integers(0, canvas - w + 1)
            image[top : top + h, left : left + w] = 1
    return out


def make_family(
    family: str,
    n: int,
    canvas: int,
    rng: np.random.Generator,
    *,
    digits: np.ndarray | None = None,
    density: float | tuple[float, float] = DEFAULT_DENSITY,
) -> np.ndarray:
    """``n`` canvases of one outlier family. ``inverted``/``shuffled`` need ``digits``."""
    if family == "bernoulli":
        return bernoulli(n, canvas, rng, density)
    if family == "scribble":
        return scribble(n, canvas, rng)
    if family == "blocks":
        return blocks(n, canvas, rng)
    if family in ("inverted", "shuffled"):
        if digits is None or len(digits) == 0:
            raise ValueError(f"outlier family {family!r} needs a non-empty `digits` array")
        if digits.shape[1:] != (canvas, canvas):
            raise ValueError(f"digits have shape {digits.shape[1:]}, canvas is {canvas}x{canvas}")
        return inverted(n, digits, rng) if family == "inverted" else shuffled(n, digits, rng)
    raise ValueError(f"unknown outlier family {family!r}; expected one of {FAMILIES}")


def make_outliers(
    n: int,
    canvas: int,
    *,
    seed: int,
    families: Sequence[str] = TRAIN_FAMILIES,
    digits: np.ndarray | None = None,
    density: float | tuple[float, float] = DEFAULT_DENSITY,
) -> np.ndarray:
    """``n`` outlier canvases split evenly over ``families`` and shuffled, from ``seed``."""
    if n < 0:
        raise ValueError(f"number of outliers must be >= 0, got {n}")
    if not families:
        raise ValueError("need at least one outlier family")
    rng = np.random.default_rng(seed)
    counts = np.full(len(families), n // len(families))
    counts[: n % len(families)] += 1
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown outlier family {sorted(unknown)}; expected some of {FAMILIES}")
    parts = [
        make_family(f, int(c), canvas, rng, digits=digits, density=density)
        for f, c in zip(families, counts, strict=True)
        if c > 0
    ]
    out = np.concatenate(parts) if parts else np.zeros((0, canvas, canvas), np.uint8)
    return out[rng.permutation(len(out))]
