"""flatnet's morph protocol: turn one binary canvas into another, one pixel flip at a time.

flatnet (pulkitgoyal56/flatnet) evaluates a reward model by starting from a digit, flipping
the pixels that differ from a random image one at a time in a random order, and plotting
the class distribution and its entropy along the way. A good reward model changes smoothly
along such a path and ends flat on the random image. The smoothness metrics in
:mod:`flatnet_rl.evaluation.metrics` are computed on the classifier outputs of these paths.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from flatnet_rl.util.checks import is_int, is_plain_int

__all__ = ["image_morph_paths", "morph_path", "morph_paths", "pad_paths"]


def _binary(x: npt.ArrayLike, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(x)
    expected = "(H, W)" if ndim == 2 else "(P, H, W)"
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {expected}, got shape {arr.shape}")
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric or bool array, got dtype {arr.dtype}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1")
    return arr.astype(np.uint8)


def _morph(start: np.ndarray, end: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Vectorised core on validated uint8 canvases of equal shape."""
    flat_start = start.reshape(-1)
    flat_end = end.reshape(-1)
    differ = np.flatnonzero(flat_start != flat_end)
    n_flips = differ.size
    # step[j] = the step (1..L) at which pixel j takes its end value; never for equal pixels.
    step = np.full(flat_start.size, n_flips + 1, dtype=np.int64)
    step[rng.permutation(differ)] = np.arange(1, n_flips + 1)
    t = np.arange(n_flips + 1)[:, None]
    path = np.where(t >= step[None, :], flat_end[None, :], flat_start[None, :])
    return path.astype(np.uint8).reshape((n_flips + 1, *start.shape))


def morph_path(start: npt.ArrayLike, end: npt.ArrayLike, rng: np.random.Generator) -> np.ndarray:
    """Path of canvases from ``start`` to ``end`` flipping one differing pixel per step.

    The ``L`` pixels where ``start != end`` (``L`` = Hamming distance) are flipped one at a
    time in an order drawn with ``rng.permutation``; pixels that already agree never change.

    Args:
        start: binary canvas ``(H, W)`` (bool or numbers in {0, 1}).
        end: binary canvas ``(H, W)``.
        rng: the random generator that orders the flips.

    Returns:
        uint8 array ``(L+1, H, W)`` with ``path[0] == start``, ``path[-1] == end`` and
        consecutive canvases differing in exactly one pixel (a single canvas when
        ``start == end``).
    """
    s = _binary(start, "start", 2)
    e = _binary(end, "end", 2)
    if e.shape != s.shape:
        raise ValueError(f"end must have shape {s.shape} like start, got shape {e.shape}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return _morph(s, e, rng)


def morph_paths(starts: npt.ArrayLike, ends: npt.ArrayLike, seed: int) -> list[np.ndarray]:
    """Morph paths for pairs of canvases, deterministic for a ``seed``.

    One generator ``numpy.random.default_rng(seed)`` orders the flips of all pairs in turn,
    so the same inputs and seed always give the same paths.

    Args:
        starts: binary canvases ``(P, H, W)``.
        ends: binary canvases ``(P, H, W)``.
        seed: seed of the generator.

    Returns:
        List of ``P`` uint8 arrays, path ``i`` of shape ``(L_i+1, H, W)`` with ``L_i`` the
        Hamming distance between ``starts[i]`` and ``ends[i]`` (see :func:`morph_path`).
    """
    s = _binary(starts, "starts", 3)
    e = _binary(ends, "ends", 3)
    if e.shape != s.shape:
        raise ValueError(f"ends must have shape {s.shape} like starts, got shape {e.shape}")
    rng = np.random.default_rng(seed)
    return [_morph(s[i], e[i], rng) for i in range(s.shape[0])]


def pad_paths(paths: list[np.ndarray], length: int | None = None) -> np.ndarray:
    """Resample paths of different lengths to a common number of points.

    Path ``i`` with ``n_i`` points is read at normalised progress ``u_j = j / (length - 1)``,
    ``j = 0 .. length-1``, taking the point with the nearest index
    ``floor(u_j * (n_i - 1) + 0.5)`` (no interpolation, so values stay values the path
    actually took, e.g. probabilities or binary canvases). The first and last points are
    kept; short paths repeat points, long paths are subsampled. Meant for plotting mean
    curves against progress (0 = start, 1 = end) across paths of different Hamming lengths.

    Args:
        paths: non-empty list of arrays ``(n_i, ...)`` sharing the trailing shape.
        length: number of output points; defaults to the longest path. With ``length == 1``
            every path contributes its first point.

    Returns:
        Array ``(P, length, ...)`` with the common dtype of the paths.
    """
    if not isinstance(paths, list | tuple) or len(paths) == 0:
        raise ValueError(f"paths must be a non-empty list of (n_i, ...) arrays, got {paths!r:.80}")
    arrays = [np.asarray(p) for p in paths]
    tail = arrays[0].shape[1:]
    for i, a in enumerate(arrays):
        if a.ndim < 1 or a.shape[0] < 1:
            raise ValueError(f"paths[{i}] must have shape (n_i, ...) with n_i >= 1, got {a.shape}")
        if a.shape[1:] != tail:
            raise ValueError(
                f"paths[{i}] must have shape (n_i, {', '.join(map(str, tail))}) like paths[0], "
                f"got shape {a.shape}"
            )
    if length is None:
        length = max(a.shape[0] for a in arrays)
    if not is_int(length) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    progress = np.linspace(0.0, 1.0, int(length)) if length > 1 else np.zeros(1)
    dtype = np.result_type(*{a.dtype for a in arrays})
    out = np.empty((len(arrays), int(length), *tail), dtype=dtype)
    for i, a in enumerate(arrays):
        idx = np.floor(progress * (a.shape[0] - 1) + 0.5).astype(np.int64)
        out[i] = a[np.minimum(idx, a.shape[0] - 1)]
    return out


def image_morph_paths(
    starts: npt.ArrayLike, ends: npt.ArrayLike, seed: int, steps: int = 64
) -> list[np.ndarray]:
    """Morph paths between images ``(P, H, W, C)``: the pixels where start and end differ
    (in any channel) take their end colour in a random order, in ``steps`` equal chunks
    (one pixel per step would make paths of thousands of images). Path ``i`` has
    ``steps + 1`` images (fewer when fewer pixels differ), first ``starts[i]``, last
    ``ends[i]``; deterministic for ``seed``."""
    s, e = np.asarray(starts), np.asarray(ends)
    if s.ndim != 4 or s.shape != e.shape:
        raise ValueError(
            f"starts and ends must be images (P, H, W, C) of one shape, got {s.shape}, {e.shape}"
        )
    if not is_plain_int(steps) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    rng = np.random.default_rng(seed)
    paths = []
    for start, end in zip(s, e, strict=True):
        h, w, c = start.shape
        flat_start, flat_end = start.reshape(h * w, c), end.reshape(h * w, c)
        differ = rng.permutation(np.flatnonzero((flat_start != flat_end).any(axis=1)))
        chunks = np.array_split(differ, min(steps, max(1, differ.size)))
        path = [start.copy()]
        current = flat_start.copy()
        for chunk in chunks:
            current[chunk] = flat_end[chunk]
            path.append(current.reshape(h, w, c).copy())
        paths.append(np.stack(path))
    return paths
