"""The paint env's dynamics, written once: ``N`` canvases in one array, stepped in numpy.

:class:`PaintBatch` holds the state of ``N`` envs (``N = 1`` for the single
:class:`~flatnet_rl.envs.paint.PaintEnv`) and applies a step's actions with a handful of numpy
operations, no Python per env; its resets draw with
:func:`~flatnet_rl.envs.paint_starts.draw_start` and its stroke lines with
:func:`~flatnet_rl.envs.paint_strokes.rasterize_lines`. :meth:`PaintBatch.frames` renders all
canvases at once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from flatnet_rl.envs.paint_config import (
    PEN_DC,
    PEN_DR,
    PEN_STOP,
    PaintConfig,
    PaintConfigAttributes,
    is_int,
)
from flatnet_rl.envs.paint_starts import EnvOptions, digit_bank, draw_start
from flatnet_rl.envs.paint_strokes import rasterize_lines, stroke_segments

#: The largest canvas whose start digits are scikit-learn's 8x8 digits.
SMALL_CANVAS = 8
#: 8-neighbourhood in the order a ``"stroke"`` start's trace pushes it.
_NEIGHBOURS = ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, -1), (-1, 1), (1, 1), (1, -1))
_RED = np.array((255, 0, 0), dtype=np.uint8)
# Pen action -> 1 if it puts the pen down (4..7), else 0 (moves with the pen up, stop).
_PEN_DOWN = np.array([int(4 <= a < PEN_STOP) for a in range(PEN_STOP + 1)], dtype=np.uint8)


# ------------------------------------------------------------------------- the batch


@functools.lru_cache(maxsize=8)
def _pen_moves(size: int) -> np.ndarray:
    """``moves[cell, action]``: the flat cell (``row * W + col``) the cursor is on after
    ``action`` from ``cell``; walls and the stop action leave it in place. A table turns a
    step's bounds checks and moves into one fancy-index read."""
    cells = np.arange(size * size)
    row, col = np.divmod(cells, size)
    moves = np.empty((size * size, PEN_STOP + 1), dtype=np.int64)
    for direction, (dr, dc) in enumerate(zip(PEN_DR, PEN_DC, strict=True)):
        new_row, new_col = row + dr, col + dc
        inside = (new_row >= 0) & (new_row < size) & (new_col >= 0) & (new_col < size)
        moves[:, direction] = moves[:, direction + 4] = np.where(
            inside, new_row * size + new_col, cells
        )
    moves[:, PEN_STOP] = cells
    moves.setflags(write=False)
    return moves


class PaintBatch(PaintConfigAttributes):
    """``N`` painting envs stepped together: the state and dynamics of every paint env.

    The state is public numpy arrays, updated in place (never rebound), one row per env:

    - ``canvas``: ``(N, H, W)`` uint8, 1 = ink.
    - ``target``, ``steps``, ``ink``, ``start_label``: ``(N,)`` int64.
    - ``cursor``: ``(N, 2)`` int64 (row, column) of the pen; stays at the centre in pixel mode.
    - ``needs_reset``: ``(N,)`` bool, True before the first reset and after an episode ended.

    :meth:`step` applies validated actions (:meth:`check_actions`) to all envs, or to a subset,
    without a Python loop over envs; :meth:`reset` starts new episodes in the listed envs.
    Neither resets automatically: that is the adapters' business.
    """

    def __init__(self, num_envs: int, config: PaintConfig) -> None:
        if not is_int(num_envs) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        n, size = int(num_envs), config.canvas_size
        self.config = config
        self.num_envs = n
        if config.needs_digits:
            # Load now so a broken data set fails at construction, not at the first reset.
            digit_bank(size)
        # NumPy scalars: comparing an array with a Python int costs twice as much per step.
        self._stop = np.int64(config.stop_action)
        self._stop_unsigned = np.uint64(config.stop_action)
        self._max_steps = np.int64(config.horizon)
        self.canvas = np.zeros((n, size, size), dtype=np.uint8)
        self.target = np.zeros(n, dtype=np.int64)
        self.cursor = np.full((n, 2), size // 2, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        # Kept up to date incrementally: counting N canvases every step costs more.
        self.ink = np.zeros(n, dtype=np.int64)
        self.start_label = np.full(n, -1, dtype=np.int64)
        self.needs_reset = np.ones(n, dtype=bool)
        self._all = np.arange(n)
        # The cursor as a flat cell index: what the pen tables are indexed by.
        self._cell = np.full(n, (size // 2) * size + size // 2, dtype=np.int64)
        self._cells = np.stack(np.divmod(np.arange(size * size), size), axis=1)
        # Flat (1-D) indexing of all canvases: cheaper than 2-D fancy indexing per step.
        self._pixels = self.canvas.reshape(-1)
        self._offsets = np.arange(n) * (size * size)
        self._moves = _pen_moves(size).reshape(-1)
        # Pixel action -> the cell it writes and whether it paints (0 for stop): the stop
        # action then rewrites a cell unchanged instead of needing a masked subset.
        n_pixels = size * size
        self._pixel_cell = np.append(np.arange(n_pixels), 0)
        self._pixel_paint = (np.arange(n_pixels + 1) < n_pixels).astype(np.uint8)
        self._toggle = config.pixel_op == "toggle"
        self._generators: list[np.random.Generator | None] = [None] * n
        self._seeds: list[int | None] = [None] * n
        keys = ("canvas", "target", "cursor") if config.has_cursor else ("canvas", "target")
        self._obs_keys = keys
        self._apply = self._dynamics()

    def _dynamics(self) -> Any:
        """The step function of the action mode."""
        modes = {"pixel": self._write_pixels, "pen": self._move_pens, "stroke": self._draw_strokes}
        return modes[self.config.action_mode]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_apply"]  # a bound method: rebuilt from the config
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickle stores the flat canvas as its own array: make it a view of canvas again.
        self.__dict__.update(state)
        self._pixels = self.canvas.reshape(-1)
        self._apply = self._dynamics()

    # ----------------------------------------------------------------------- random state

    def np_random(self, index: int) -> np.random.Generator:
        """Env ``index``'s generator, made from a random seed if it has none yet (as
        ``Env.np_random`` does)."""
        return self.generator(index, None)

    def np_random_seed(self, index: int) -> int:
        """The seed env ``index``'s generator was made from (-1 if it was given one)."""
        self.generator(index, None)
        seed = self._seeds[index]
        return -1 if seed is None else seed

    def generator(self, index: int, seed: int | None) -> np.random.Generator:
        """Env.reset's rule: a seed replaces the generator, None keeps it (or makes one)."""
        generator = self._generators[index]
        if seed is not None or generator is None:
            generator, self._seeds[index] = seeding.np_random(seed)
            self._generators[index] = generator
        return generator

    def set_generator(self, index: int, generator: np.random.Generator) -> None:
        """Use ``generator`` for env ``index`` (a single ``PaintEnv`` lends its own)."""
        self._generators[index] = generator
        self._seeds[index] = None

    # ------------------------------------------------------------------------- dynamics

    def check_actions(self, actions: Any) -> np.ndarray:
        """``actions`` as a fresh int64 array of shape ``(N,)``; raises on anything else.

        Bool and float arrays are refused rather than cast: a cast would hide a policy that
        emits the wrong kind of action.
        """
        array = np.asarray(actions)
        if array.dtype.kind not in "iu":
            raise TypeError(f"actions must be an integer array, got dtype {array.dtype}")
        if array.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), got {array.shape}")
        checked = array.astype(np.int64)
        # Negative (or, from uint64, wrapped) actions are huge as unsigned: one comparison.
        bad = checked.view(np.uint64) > self._stop_unsigned
        if np.count_nonzero(bad):
            raise ValueError(
                f"actions must be in 0..{self.stop_action}, got {array[bad].tolist()} "
                f"in envs {np.flatnonzero(bad).tolist()}"
            )
        return checked

    def step(
        self, actions: np.ndarray, ids: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Apply ``actions[i]`` to env ``i`` for the envs in ``ids`` (default: all).

        ``actions`` must come from :meth:`check_actions`. Returns ``(terminated, truncated)``
        of shape ``(N,)``, False for envs not stepped. Envs that need a reset raise
        ``gymnasium.error.ResetNeeded``.
        """
        if ids is not None:
            return self._step_some(actions, ids)
        # All envs (the common case): whole-array operations, in place where possible.
        # count_nonzero, not any(): it is the cheaper test on small arrays.
        if np.count_nonzero(self.needs_reset):
            self._refuse(self._all)
        self._apply(self._offsets, slice(None), actions)
        self.steps += 1
        terminated = actions == self._stop
        truncated = self.steps >= self._max_steps
        np.logical_or(terminated, truncated, out=self.needs_reset)
        return terminated, truncated

    def _step_some(self, actions: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if np.count_nonzero(self.needs_reset[ids]):
            self._refuse(ids)
        chosen = actions[ids]
        self._apply(self._offsets[ids], ids, chosen)
        self.steps[ids] += 1
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        terminated[ids] = chosen == self._stop
        truncated[ids] = self.steps[ids] >= self._max_steps
        self.needs_reset[ids] = terminated[ids] | truncated[ids]
        return terminated, truncated

    def _refuse(self, ids: np.ndarray) -> None:
        stuck = ids[self.needs_reset[ids]].tolist()
        raise gym.error.ResetNeeded(f"envs {stuck} need reset() before step()")

    def _write_pixels(
        self, offsets: np.ndarray, select: slice | np.ndarray, actions: np.ndarray
    ) -> None:
        # One cell per env, so the fancy-index write never hits the same element twice.
        index = offsets + self._pixel_cell[actions]
        paint = self._pixel_paint[actions]
        old = self._pixels[index]
        new = old ^ paint if self._toggle else old | paint
        self._pixels[index] = new
        self.ink[select] += new.astype(np.int64) - old

    def _move_pens(
        self, offsets: np.ndarray, select: slice | np.ndarray, actions: np.ndarray
    ) -> None:
        cell = self._cell[select]
        entered = self._moves[cell * (PEN_STOP + 1) + actions]
        down = _PEN_DOWN[actions]
        # Pen down inks the cell left, then the cell entered (the same cell at a wall: the
        # second write then finds it inked and counts nothing). Pen up or stop writes back
        # what is there.
        added = np.zeros(len(actions), dtype=np.int64)
        for cells in (cell, entered):
            index = offsets + cells
            old = self._pixels[index]
            new = old | down
            self._pixels[index] = new
            added += new - old
        self.ink[select] += added
        self._cell[select] = entered
        self.cursor[select] = self._cells[entered]

    def _draw_strokes(
        self, offsets: np.ndarray, select: slice | np.ndarray, actions: np.ndarray
    ) -> None:
        # Action a < stop: kind a // G² (0 move, 1 line, 2 and 3 curves) to anchor a % G²;
        # stop leaves the pen where it is.
        envs = self._all[select]
        n_anchors = self.config.grid**2
        moving = actions < self._stop
        anchor = self.config.anchors[actions[moving] % n_anchors]
        kind = actions[moving] // n_anchors
        movers = envs[moving]
        drawing = kind > 0
        painters = movers[drawing]
        strokes, start, end = stroke_segments(self.cursor[painters], anchor[drawing], kind[drawing])
        rasterize_lines(self.canvas, painters[strokes], start, end, self.config.brush)
        self.cursor[movers] = anchor
        self._cell[movers] = anchor[:, 0] * self.canvas_size + anchor[:, 1]
        if len(painters):
            self.ink[painters] = np.count_nonzero(self.canvas[painters], axis=(1, 2))

    # --------------------------------------------------------------------------- resets

    def reset(
        self,
        ids: Iterable[int],
        seeds: Sequence[int | None] | None = None,
        options: Sequence[EnvOptions] | None = None,
    ) -> list[dict[str, Any]]:
        """Start a new episode in each env of ``ids``; ``seeds[k]`` and ``options[k]`` (same
        length as ``ids``, default None) are env ``ids[k]``'s ``reset`` arguments, with
        :class:`~flatnet_rl.envs.paint.PaintEnv`'s meaning. Returns the envs' reset infos.
        """
        infos: list[dict[str, Any]] = []
        for k, index in enumerate(np.asarray(ids, dtype=np.int64).reshape(-1).tolist()):
            rng = self.generator(index, None if seeds is None else seeds[k])
            state = draw_start(self.config, rng, None if options is None else options[k])
            # Scalar writes per env: cheaper than gathering lists for the few envs that
            # usually reset in one step.
            self.canvas[index] = state.canvas
            self.target[index] = state.target
            self.ink[index] = np.count_nonzero(state.canvas)
            self.start_label[index] = state.start_label
            self.steps[index] = 0
            row, col = state.cursor
            self._cell[index] = row * self.canvas_size + col
            self.cursor[index] = (row, col)
            # Per env, so that after refused options the envs not yet reset still need it.
            self.needs_reset[index] = False
            info = self.info(index)
            info["start_label"] = state.start_label
            infos.append(info)
        return infos

    # ------------------------------------------------------------- observations and infos

    def observations(self) -> dict[str, np.ndarray]:
        """The batched observation (copies), keyed as the single-env observation space."""
        arrays = {"canvas": self.canvas, "target": self.target, "cursor": self.cursor}
        return {key: arrays[key].copy() for key in self._obs_keys}

    def observation(self, index: int) -> dict[str, Any]:
        """Env ``index``'s observation exactly as ``PaintEnv`` returns it (copies)."""
        obs: dict[str, Any] = {
            "canvas": self.canvas[index].copy(),
            "target": np.int64(self.target[index]),
        }
        if self.config.has_cursor:
            obs["cursor"] = self.cursor[index].copy()
        return obs

    def info(self, index: int) -> dict[str, Any]:
        """Env ``index``'s step info as ``PaintEnv`` gives it."""
        info: dict[str, Any] = {
            "target": int(self.target[index]),
            "steps": int(self.steps[index]),
            "ink": int(self.ink[index]),
        }
        if self.config.has_cursor:
            row, col = self.cursor[index].tolist()
            info["cursor"] = (row, col)
        return info

    def info_dicts(self) -> list[dict[str, Any]]:
        """All envs' step infos as ``PaintEnv`` dicts (one Python dict per env: SB3's API)."""
        targets, steps, ink = self.target.tolist(), self.steps.tolist(), self.ink.tolist()
        if not self.config.has_cursor:
            return [
                {"target": t, "steps": s, "ink": k}
                for t, s, k in zip(targets, steps, ink, strict=True)
            ]
        return [
            {"target": t, "steps": s, "ink": k, "cursor": (rc[0], rc[1])}
            for t, s, k, rc in zip(targets, steps, ink, self.cursor.tolist(), strict=True)
        ]

    def vector_infos(
        self, mask: np.ndarray | None = None, reset: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Gymnasium vector infos: ``target``, ``steps``, ``ink`` (and ``cursor``, ``(N, 2)``,
        with a pen), each with its ``_key`` mask; entries outside ``mask`` (default: all
        envs) are 0, as Gymnasium's ``_add_info`` leaves them. ``reset`` (a mask) adds
        ``start_label`` for the envs that were just reset.
        """
        infos: dict[str, np.ndarray] = {}
        columns = [("target", self.target), ("steps", self.steps), ("ink", self.ink)]
        if self.config.has_cursor:
            columns.append(("cursor", self.cursor))
        if reset is not None:
            columns.append(("start_label", self.start_label))
        for key, values in columns:
            keep = reset if key == "start_label" else mask
            if keep is None:
                infos[key] = values.copy()
                infos[f"_{key}"] = np.ones(self.num_envs, dtype=bool)
            else:
                shaped = keep.reshape(-1, *([1] * (values.ndim - 1)))
                infos[key] = np.where(shaped, values, 0)
                infos[f"_{key}"] = keep.copy()
        return infos

    # ---------------------------------------------------------------------------- render

    def frames(self, ids: np.ndarray | None = None) -> np.ndarray:
        """RGB frames ``(n, H * s, W * s, 3)`` uint8 of envs ``ids`` (default: all): white
        ink on black, ``s`` screen pixels per canvas pixel, the pen's cell boxed in red."""
        envs = self._all if ids is None else np.asarray(ids, dtype=np.int64)
        scale = self.config.scale
        ink = self.canvas[envs].repeat(scale, axis=1).repeat(scale, axis=2) * np.uint8(255)
        frames = np.repeat(ink[..., None], 3, axis=3)
        if self.config.has_cursor and len(envs):
            n = np.arange(len(envs))[:, None]
            top = self.cursor[envs, 0:1] * scale
            left = self.cursor[envs, 1:2] * scale
            span = np.arange(scale)
            frames[n, top, left + span] = _RED
            frames[n, top + scale - 1, left + span] = _RED
            frames[n, top + span, left] = _RED
            frames[n, top + span, left + scale - 1] = _RED
        return frames
