"""The paint env's start states and reset options, drawn and checked in one place.

:func:`draw_start` is the one start-state draw (target, canvas, pen position) that every reset
of every paint env makes, in the same order from the env's own generator: env ``i`` of a vector
reset with ``seed`` therefore follows exactly the trajectory of
``PaintEnv(...).reset(seed=seed + i)``. The vector envs' batched reset options are split into
single-env options here too.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flatnet_rl.data import NUM_CLASSES, DataSpec, load_dataset
from flatnet_rl.envs.paint_config import PaintConfig, is_int
from flatnet_rl.envs.paint_strokes import anchor_points, rasterize_lines, stroke_segments

#: The largest canvas whose start digits are scikit-learn's 8x8 digits.
SMALL_CANVAS = 8
#: 8-neighbourhood in the order a ``"stroke"`` start's trace pushes it.
_NEIGHBOURS = ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, -1), (-1, 1), (1, 1), (1, -1))

EnvOptions = Mapping[str, Any] | None
SeedArg = int | Sequence[int | None] | None


@functools.lru_cache(maxsize=8)
def digit_bank(
    canvas_size: int,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Training digits at ``canvas_size``, their labels, and per target the indices of
    digits of *other* classes (the pool ``start="digit"`` draws from) and of the target's
    own class (``start="partial"``, ``"stroke"``). Up to 8x8 scikit-learn's digits; larger
    canvases the 5,000 real MNIST digits (``mnist5k``), the data of the shipped 14x14 and
    28x28 models (upsampled 8x8 digits are blocky shapes those models give p(label) 0.36).

    Cached and read-only: every env of every vector shares them.
    """
    source = "digits" if canvas_size <= SMALL_CANVAS else "mnist5k"
    split = load_dataset(DataSpec(source=source, canvas=canvas_size))
    canvases = np.ascontiguousarray(split.x_train, dtype=np.uint8)
    labels = np.asarray(split.y_train, dtype=np.int64)
    others = tuple(np.flatnonzero(labels != k) for k in range(NUM_CLASSES))
    same = tuple(np.flatnonzero(labels == k) for k in range(NUM_CLASSES))
    for array in (canvases, labels, *others, *same):
        array.setflags(write=False)
    return canvases, labels, others, same


@dataclass
class StartState:
    """One env's start: its target, canvas, pen position and start label (-1: no digit)."""

    target: int
    canvas: np.ndarray
    cursor: tuple[int, int]
    start_label: int


def check_reset_options(
    config: PaintConfig, options: Mapping[str, Any] | None
) -> tuple[int | None, np.ndarray | None]:
    """A single env's reset options (``"target"``, ``"canvas"``), checked."""
    if options is None:
        return None, None
    if not isinstance(options, Mapping):
        raise ValueError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = set(options) - {"target", "canvas"}
    if unknown:
        # Fail loudly: a misspelt key would otherwise silently give the default episode.
        raise ValueError(
            f"unknown reset options {sorted(map(str, unknown))}; allowed: 'target', 'canvas'"
        )
    target = options.get("target")
    if target is not None and (not is_int(target) or not 0 <= target < NUM_CLASSES):
        raise ValueError(
            f"options['target'] must be an int in 0..{NUM_CLASSES - 1}, got {target!r}"
        )
    canvas = options.get("canvas")
    if canvas is not None:
        canvas = np.asarray(canvas)
        shape = (config.canvas_size, config.canvas_size)
        if canvas.shape != shape:
            raise ValueError(f"options['canvas'] must have shape {shape}, got {canvas.shape}")
        if canvas.dtype.kind not in "biuf" or not np.all((canvas == 0) | (canvas == 1)):
            raise ValueError("options['canvas'] must hold only 0 and 1")
    return (None if target is None else int(target)), canvas


def draw_start(
    config: PaintConfig, rng: np.random.Generator, options: EnvOptions = None
) -> StartState:
    """The start state of one episode, drawn from ``rng`` (the draws and their order are the
    contract that makes a vector's env ``i`` the single env seeded ``seed + i``)."""
    target, canvas = check_reset_options(config, options)
    size = config.canvas_size
    # Draw the target before the canvas: a "digit" start depends on the target.
    if target is None:
        target = config.target if config.target is not None else int(rng.integers(NUM_CLASSES))
    centre = (size // 2, size // 2)
    if canvas is not None:
        return StartState(target, canvas.astype(np.uint8), centre, -1)
    start = config.start_modes[0]
    if len(config.start_modes) > 1:
        start = config.start_modes[int(rng.choice(len(config.start_modes), p=config.start_probs))]
    if start == "blank":
        return StartState(target, np.zeros((size, size), np.uint8), centre, -1)
    if start == "noise":
        noise = (rng.random((size, size)) < config.noise_density).astype(np.uint8)
        return StartState(target, noise, centre, -1)
    if start == "demo":
        # A prefix of 1 to all of the target's demo actions: a backward curriculum from
        # nearly finished drawings, reachable by the agent's own actions.
        states = demo_states(size, config.grid, config.brush, config.stroke_demos[target])
        canvas, cursor = states[int(rng.integers(len(states)))]
        return StartState(target, canvas.copy(), cursor, -1)
    digits, labels, others, same = digit_bank(size)
    pool = others[target] if start == "digit" else same[target]
    index = int(pool[rng.integers(len(pool))])
    canvas = digits[index].copy()
    cursor = centre
    if start == "partial":
        # Keep a uniformly random fraction of the target digit's ink: a curriculum from
        # nearly blank to nearly finished canvases.
        ink = np.flatnonzero(canvas)
        erase = rng.permutation(ink)[: len(ink) - int(rng.integers(len(ink) + 1))]
        canvas.reshape(-1)[erase] = 0
    elif start == "stroke":
        cursor = _keep_stroke(canvas, rng) or centre
    return StartState(target, canvas, cursor, int(labels[index]))


@functools.lru_cache(maxsize=64)
def demo_states(
    canvas_size: int, grid: int, brush: int, actions: tuple[int, ...]
) -> tuple[tuple[np.ndarray, tuple[int, int]], ...]:
    """The (canvas, pen) after each prefix of 1.. ``len(actions)`` stroke actions from a
    blank canvas with the pen at the centre (the stroke mode's own dynamics, read-only)."""
    anchors = anchor_points(canvas_size, grid)
    canvas = np.zeros((1, canvas_size, canvas_size), np.uint8)
    cursor = np.array([[canvas_size // 2, canvas_size // 2]], np.int64)
    states = []
    for action in actions:
        anchor = anchors[action % (grid * grid)][None]
        kind = np.array([action // (grid * grid)])
        if kind[0] > 0:
            strokes, start, end = stroke_segments(cursor, anchor, kind)
            rasterize_lines(canvas, np.zeros(len(strokes), np.int64), start, end, brush)
        cursor = anchor.copy()
        state = canvas[0].copy()
        state.setflags(write=False)
        states.append((state, (int(cursor[0, 0]), int(cursor[0, 1]))))
    return tuple(states)


def _keep_stroke(canvas: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    """Keep the first pixels of a depth-first trace of the canvas's ink (8-neighbours) from a
    random ink pixel, a random number of them; return the last one (the pen's place)."""
    size = canvas.shape[0]
    ink = np.argwhere(canvas)
    keep = int(rng.integers(len(ink) + 1))
    start = tuple(int(v) for v in ink[rng.integers(len(ink))])
    trace, seen, stack = [], {start}, [start]
    while stack and len(trace) < keep:
        row, col = stack.pop()
        trace.append((row, col))
        for dr, dc in _NEIGHBOURS:
            cell = (row + dr, col + dc)
            if 0 <= cell[0] < size and 0 <= cell[1] < size and canvas[cell] and cell not in seen:
                seen.add(cell)
                stack.append(cell)
    canvas.fill(0)
    for cell in trace:
        canvas[cell] = 1
    return trace[-1] if trace else None


# ------------------------------------------------------------------ vector options


def seed_list(seed: SeedArg, n: int) -> list[int | None]:
    """SyncVectorEnv's seed rule: None, ``seed + i`` for an int, or one per env."""
    if seed is None:
        return [None] * n
    if isinstance(seed, int):
        return [seed + i for i in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"a list of seeds must have length num_envs={n}, got {len(seeds)}")
    return seeds


def reset_mask(options: Mapping[str, Any] | None, n: int) -> np.ndarray:
    if options is None or "reset_mask" not in options:
        return np.ones(n, dtype=bool)
    mask = options["reset_mask"]
    # Gymnasium's checks on options["reset_mask"], with its error types.
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"options['reset_mask'] must be a numpy array, got {type(mask)}")
    if mask.shape != (n,):
        raise ValueError(f"options['reset_mask'] must have shape ({n},), got {mask.shape}")
    if mask.dtype != np.bool_:
        raise TypeError(f"options['reset_mask'] must have dtype bool, got {mask.dtype}")
    if not mask.any():
        raise ValueError("options['reset_mask'] must have at least one True value")
    return mask.copy()


_OPTION_KEYS = frozenset({"reset_mask", "target", "_target", "canvas", "_canvas"})


def per_env_options(
    options: Mapping[str, Any] | None, n: int, size: int
) -> list[dict[str, Any] | None]:
    """Split vector reset options into one ``PaintEnv`` options dict (or None) per env."""
    if options is None:
        return [None] * n
    if not isinstance(options, Mapping):
        raise ValueError(f"options must be a dict or None, got {type(options).__name__}")
    unknown = set(options) - _OPTION_KEYS
    if unknown:
        # Fail loudly, as PaintEnv does: a misspelt key would silently give default episodes.
        raise ValueError(
            f"unknown reset options {sorted(map(str, unknown))}; allowed: {sorted(_OPTION_KEYS)}"
        )
    per_env: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, single_ndim in (("target", 0), ("canvas", 2)):
        if options.get(key) is None:
            if options.get(f"_{key}") is not None:
                raise ValueError(f"options['_{key}'] given without options['{key}']")
            continue
        for i, value in _spread(options, key, single_ndim, n, size):
            per_env[i][key] = value
    return [d or None for d in per_env]


def _spread(
    options: Mapping[str, Any], key: str, single_ndim: int, n: int, size: int
) -> list[tuple[int, Any]]:
    """(env, value) pairs for option ``key``: one value for every env, or a batch of ``n``
    values under the optional ``_key`` mask. The values are checked later, by PaintEnv."""
    value = options[key]
    if np.ndim(value) == single_ndim:
        if f"_{key}" in options:
            raise ValueError(f"options['_{key}'] needs a batched options['{key}']")
        return [(i, value) for i in range(n)]
    batch = np.asarray(value)
    expected = (n,) if single_ndim == 0 else (n, size, size)
    if batch.shape != expected:
        raise ValueError(
            f"options['{key}'] must be one value or a batch of shape {expected}, got {batch.shape}"
        )
    mask = options.get(f"_{key}")
    if mask is None:
        mask = np.ones(n, dtype=bool)
    mask = np.asarray(mask)
    if mask.shape != (n,) or mask.dtype != np.bool_:
        raise ValueError(f"options['_{key}'] must be a bool array of shape ({n},)")
    # .item() turns a numpy int target into the Python int PaintEnv checks it as.
    return [(i, batch[i].item() if single_ndim == 0 else batch[i]) for i in np.flatnonzero(mask)]
