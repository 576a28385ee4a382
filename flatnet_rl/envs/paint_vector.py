"""Natively vectorized painting environments: ``N`` canvases in one array, one numpy step.

A vector of :class:`~flatnet_rl.envs.paint.PaintEnv` (``SyncVectorEnv``, ``DummyVecEnv``) pays
one Python ``step`` call per env and per step. Here all canvases live in one ``(N, H, W)``
``uint8`` array and a step applies all ``N`` actions with a handful of numpy operations, so the
cost of a vector step barely grows with ``N``.

* :class:`PaintBatch`: the batched core (state, dynamics, resets, observations, infos), shared
  by both adapters.
* :class:`PaintVectorEnv`: a Gymnasium ``VectorEnv`` (``next_step``, ``same_step`` or
  ``disabled`` autoreset); :func:`make_paint_vector_env` is its ``vector_entry_point`` for
  ``gymnasium.make_vec``.
* :class:`PaintVecEnv`: a Stable-Baselines3 ``VecEnv`` (resets finished envs inside ``step``).

Same dynamics and the same random draws as ``PaintEnv``: env ``i`` of a vector reset with
``seed`` follows exactly the trajectory of ``PaintEnv(...).reset(seed=seed + i)`` under the same
actions, across autoresets too (each env keeps its own ``np.random.Generator``, made by
``gymnasium.utils.seeding.np_random`` as ``PaintEnv.reset`` makes it).

The dynamics run no Python per env. Resets do: each draws the target and start canvas of one
env, by calling ``PaintEnv.reset`` on one private prototype ``PaintEnv`` lent that env's
generator, so the start-state logic (modes, mixtures, draw order, options) exists once, in
``paint.py``, and cannot drift from it. (So do SB3's list of info dicts and the final
observations of finished envs, which the two APIs define per env.)

Example:
    >>> envs = PaintVectorEnv(4, canvas_size=8)
    >>> obs, infos = envs.reset(seed=0)
    >>> obs["canvas"].shape
    (4, 8, 8)
    >>> obs, rewards, terminated, truncated, infos = envs.step(np.full(4, 64))
    >>> terminated.tolist(), rewards.tolist()
    ([True, True, True, True], [0.0, 0.0, 0.0, 0.0])

This module is long on purpose: the batched dynamics core, the per-env view that
``get_attr``/``call`` need, and the two adapters (Gymnasium and SB3, with their different
autoreset conventions) are one environment; splitting them would scatter its invariants.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from flatnet_rl.envs.paint import _PEN_STOP, PEN_DC, PEN_DR, PaintEnv, _is_int

__all__ = ["PaintBatch", "PaintEnvView", "PaintVecEnv", "PaintVectorEnv", "make_paint_vector_env"]

RENDER_MODES = ("rgb_array",)

_RED = np.array((255, 0, 0), dtype=np.uint8)
# Pen action -> 1 if it puts the pen down (4..7), else 0 (moves with the pen up, stop).
_PEN_DOWN = np.array([int(4 <= a < _PEN_STOP) for a in range(_PEN_STOP + 1)], dtype=np.uint8)

SeedArg = int | Sequence[int | None] | None
EnvOptions = Mapping[str, Any] | None


# ----------------------------------------------------------------------------- the core


@functools.lru_cache(maxsize=8)
def _pen_moves(size: int) -> np.ndarray:
    """``moves[cell, action]``: the flat cell (``row * W + col``) the cursor is on after
    ``action`` from ``cell``; walls and the stop action leave it in place.

    A table turns a step's bounds checks and moves into one fancy-index read; it is built from
    PaintEnv's direction constants.
    """
    cells = np.arange(size * size)
    row, col = np.divmod(cells, size)
    moves = np.empty((size * size, _PEN_STOP + 1), dtype=np.int64)
    for direction, (dr, dc) in enumerate(zip(PEN_DR, PEN_DC, strict=True)):
        new_row, new_col = row + dr, col + dc
        inside = (new_row >= 0) & (new_row < size) & (new_col >= 0) & (new_col < size)
        moves[:, direction] = moves[:, direction + 4] = np.where(
            inside, new_row * size + new_col, cells
        )
    moves[:, _PEN_STOP] = cells
    moves.setflags(write=False)
    return moves


class PaintBatch:
    """``N`` painting environments stepped together: the state and dynamics of both adapters.

    The state is public numpy arrays, updated in place (never rebound), one row per env:

    - ``canvas``: ``(N, H, W)`` uint8, 1 = ink.
    - ``target``, ``steps``, ``ink``, ``start_label``: ``(N,)`` int64.
    - ``cursor``: ``(N, 2)`` int64 (row, column); stays at the centre in pixel mode.
    - ``needs_reset``: ``(N,)`` bool, True before the first reset and after an episode ended.

    Arguments are :class:`PaintEnv`'s (validated by building a ``PaintEnv`` with them) plus
    ``num_envs``; ``render_mode`` is limited to None or ``"rgb_array"``.

    :meth:`step` applies validated actions (:meth:`check_actions`) to all envs, or to a subset,
    without a Python loop over envs; :meth:`reset` starts new episodes in the listed envs.
    Neither resets automatically: that is the adapters' business.
    """

    def __init__(
        self,
        num_envs: int,
        *,
        canvas_size: int = 8,
        action_mode: str = "pixel",
        target: int | None = None,
        start: str | Mapping[str, float] = "blank",
        max_steps: int | None = None,
        noise_density: float = 0.1,
        pixel_op: str = "paint",
        render_mode: str | None = None,
        render_scale: int | None = None,
    ) -> None:
        if not _is_int(num_envs) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(RENDER_MODES)} for vectorized "
                f"painting, got {render_mode!r}"
            )
        # The prototype checks every argument exactly as PaintEnv does, owns the single-env
        # spaces and draws every reset (see reset). It never renders: rendering is batched here.
        self._proto = PaintEnv(
            canvas_size=canvas_size,
            action_mode=action_mode,
            target=target,
            start=start,
            max_steps=max_steps,
            noise_density=noise_density,
            pixel_op=pixel_op,
            render_scale=render_scale,
        )
        n = int(num_envs)
        size = self._proto.canvas_size
        self.num_envs = n
        self.canvas_size = size
        self.action_mode = action_mode
        # NumPy scalars: comparing an array with a Python int costs twice as much per step.
        self._stop = np.int64(self._proto.stop_action)
        self._stop_unsigned = np.uint64(self._proto.stop_action)
        self._max_steps = np.int64(self._proto.max_steps)
        self.render_mode = render_mode
        # PaintEnv's default scale, repeated because PaintEnv keeps it private; the frames are
        # tested equal to PaintEnv.render().
        self.render_scale = max(1, 256 // size) if render_scale is None else int(render_scale)
        self.single_observation_space: spaces.Dict = self._proto.observation_space
        self.single_action_space: spaces.Discrete = self._proto.action_space
        self._pen = action_mode == "pen"
        self._toggle = pixel_op == "toggle"

        self.canvas = np.zeros((n, size, size), dtype=np.uint8)
        self.target = np.zeros(n, dtype=np.int64)
        self.cursor = np.full((n, 2), size // 2, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)
        # Kept up to date incrementally, as in PaintEnv: counting N canvases a step costs more.
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
        self._generators: list[np.random.Generator | None] = [None] * n
        self._seeds: list[int | None] = [None] * n
        self._obs_arrays = {"canvas": self.canvas, "target": self.target, "cursor": self.cursor}
        self._obs_keys = tuple(self.single_observation_space.spaces)
        self.views = tuple(PaintEnvView(self, i) for i in range(n))

    @property
    def stop_action(self) -> int:
        """The action that ends an episode: ``H * W`` in pixel mode, ``8`` in pen mode."""
        return int(self._stop)

    @property
    def max_steps(self) -> int:
        """The truncation horizon."""
        return int(self._max_steps)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Pickle stores the flat canvas as its own array: make it a view of canvas again.
        self.__dict__.update(state)
        self._pixels = self.canvas.reshape(-1)

    # ----------------------------------------------------------------------- random state

    def np_random(self, index: int) -> np.random.Generator:
        """Env ``index``'s generator, created from a random seed if it has none yet (as
        ``Env.np_random`` does)."""
        return self._generator(index, None)

    def np_random_seed(self, index: int) -> int:
        """The seed env ``index``'s generator was made from."""
        self._generator(index, None)
        seed = self._seeds[index]
        assert seed is not None
        return seed

    def _generator(self, index: int, seed: int | None) -> np.random.Generator:
        # Env.reset's rule: a seed replaces the generator, None keeps it (or makes a first one).
        generator = self._generators[index]
        if seed is not None or generator is None:
            generator, self._seeds[index] = seeding.np_random(seed)
            self._generators[index] = generator
        return generator

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

    def _apply(self, offsets: np.ndarray, select: slice | np.ndarray, actions: np.ndarray) -> None:
        if self._pen:
            self._move_pens(offsets, select, actions)
        else:
            self._write_pixels(offsets, select, actions)

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
        entered = self._moves[cell * (_PEN_STOP + 1) + actions]
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

    # --------------------------------------------------------------------------- resets

    def reset(
        self,
        ids: Iterable[int],
        seeds: Sequence[int | None] | None = None,
        options: Sequence[EnvOptions] | None = None,
    ) -> list[dict[str, Any]]:
        """Start a new episode in each env of ``ids``; ``seeds[k]`` and ``options[k]`` (same
        length as ``ids``, default None) are env ``ids[k]``'s ``reset`` arguments, with
        :class:`PaintEnv`'s meaning (options ``"target"`` and ``"canvas"``). Returns the
        envs' reset infos, as ``PaintEnv.reset`` gives them.
        """
        proto = self._proto
        infos: list[dict[str, Any]] = []
        for k, index in enumerate(np.asarray(ids, dtype=np.int64).reshape(-1).tolist()):
            # Lending the env's generator to PaintEnv.reset makes the draws PaintEnv's own, in
            # its order, and checks the options as PaintEnv does.
            proto.np_random = self._generator(index, None if seeds is None else seeds[k])
            obs, info = proto.reset(options=None if options is None else options[k])
            # Scalar writes per env: cheaper than gathering lists for the few envs that
            # usually reset in one step.
            self.canvas[index] = obs["canvas"]
            self.target[index] = info["target"]
            self.ink[index] = info["ink"]
            self.start_label[index] = info["start_label"]
            self.steps[index] = 0
            # The cursor where PaintEnv put it (the centre, or a "stroke" start's end).
            row, col = proto.cursor
            self._cell[index] = row * self.canvas_size + col
            self.cursor[index] = (row, col)
            # Per env, so that after refused options the envs not yet reset still need it.
            self.needs_reset[index] = False
            infos.append(info)
        return infos

    # ------------------------------------------------------------- observations and infos

    def observations(self) -> dict[str, np.ndarray]:
        """The batched observation (copies), keyed as ``single_observation_space``."""
        return {key: self._obs_arrays[key].copy() for key in self._obs_keys}

    def observation(self, index: int) -> dict[str, Any]:
        """Env ``index``'s observation exactly as ``PaintEnv`` returns it (copies)."""
        obs: dict[str, Any] = {
            "canvas": self.canvas[index].copy(),
            "target": np.int64(self.target[index]),
        }
        if self._pen:
            obs["cursor"] = self.cursor[index].copy()
        return obs

    def vector_infos(
        self, mask: np.ndarray | None = None, reset: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Gymnasium vector infos: ``target``, ``steps``, ``ink`` (and ``cursor``, ``(N, 2)``,
        in pen mode), each with its ``_key`` mask; entries outside ``mask`` (default: all
        envs) are 0, as Gymnasium's ``_add_info`` leaves them. ``reset`` (a mask) adds
        ``start_label`` for the envs that were just reset.
        """
        infos: dict[str, np.ndarray] = {}
        columns = [("target", self.target), ("steps", self.steps), ("ink", self.ink)]
        if self._pen:
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

    def info_dicts(self) -> list[dict[str, Any]]:
        """All envs' step infos as ``PaintEnv`` dicts (one Python dict per env: SB3's API)."""
        targets, steps, ink = self.target.tolist(), self.steps.tolist(), self.ink.tolist()
        if not self._pen:
            return [
                {"target": t, "steps": s, "ink": k}
                for t, s, k in zip(targets, steps, ink, strict=True)
            ]
        return [
            {"target": t, "steps": s, "ink": k, "cursor": (rc[0], rc[1])}
            for t, s, k, rc in zip(targets, steps, ink, self.cursor.tolist(), strict=True)
        ]

    # ---------------------------------------------------------------------------- render

    def frames(self, ids: np.ndarray | None = None) -> np.ndarray:
        """RGB frames ``(n, H * s, W * s, 3)`` uint8 of envs ``ids`` (default: all), each equal
        to ``PaintEnv.render()`` in ``"rgb_array"`` mode (white ink, red pen cursor box).

        PaintEnv draws from its own single-env state, so the drawing is redone here batched.
        """
        envs = self._all if ids is None else np.asarray(ids, dtype=np.int64)
        scale = self.render_scale
        ink = self.canvas[envs].repeat(scale, axis=1).repeat(scale, axis=2) * np.uint8(255)
        frames = np.repeat(ink[..., None], 3, axis=3)
        if self._pen and len(envs):
            n = np.arange(len(envs))[:, None]
            top = self.cursor[envs, 0:1] * scale
            left = self.cursor[envs, 1:2] * scale
            span = np.arange(scale)
            frames[n, top, left + span] = _RED
            frames[n, top + scale - 1, left + span] = _RED
            frames[n, top + span, left] = _RED
            frames[n, top + span, left + scale - 1] = _RED
        return frames


class PaintEnvView:
    """Env ``index`` of a :class:`PaintBatch` as ``get_attr``/``set_attr``/``env_method``
    (``call``) see it: :class:`PaintEnv`'s read-only properties and ``render()``.

    The envs of a batch are rows of arrays, not objects; a view stands in for the sub-env
    object a ``SyncVectorEnv``/``DummyVecEnv`` would hold. Setting a read-only property raises
    ``AttributeError``; other attributes set on a view are stored on it and change nothing in
    the dynamics.
    """

    def __init__(self, batch: PaintBatch, index: int) -> None:
        self._batch = batch
        self._index = index

    @property
    def canvas(self) -> np.ndarray:
        """A copy of the current canvas, ``uint8`` of shape ``(H, W)``."""
        return self._batch.canvas[self._index].copy()

    @property
    def target(self) -> int:
        return int(self._batch.target[self._index])

    @property
    def cursor(self) -> tuple[int, int]:
        row, col = self._batch.cursor[self._index].tolist()
        return (row, col)

    @property
    def steps(self) -> int:
        return int(self._batch.steps[self._index])

    @property
    def ink(self) -> int:
        return int(self._batch.ink[self._index])

    @property
    def start_label(self) -> int:
        return int(self._batch.start_label[self._index])

    @property
    def canvas_size(self) -> int:
        return self._batch.canvas_size

    @property
    def action_mode(self) -> str:
        return self._batch.action_mode

    @property
    def stop_action(self) -> int:
        return self._batch.stop_action

    @property
    def max_steps(self) -> int:
        return self._batch.max_steps

    @property
    def render_mode(self) -> str | None:
        return self._batch.render_mode

    @property
    def observation_space(self) -> spaces.Dict:
        return self._batch.single_observation_space

    @property
    def action_space(self) -> spaces.Discrete:
        return self._batch.single_action_space

    @property
    def np_random(self) -> np.random.Generator:
        return self._batch.np_random(self._index)

    @property
    def np_random_seed(self) -> int:
        return self._batch.np_random_seed(self._index)

    def render(self) -> np.ndarray | None:
        """This env's RGB frame in ``"rgb_array"`` mode, else None."""
        if self._batch.render_mode != "rgb_array":
            return None
        return self._batch.frames(np.array([self._index]))[0]


# ------------------------------------------------------------------------ Gymnasium


class PaintVectorEnv(VectorEnv[dict[str, np.ndarray], np.ndarray, np.ndarray]):
    """``num_envs`` :class:`PaintEnv` canvases as one Gymnasium ``VectorEnv``, stepped in numpy.

    ## Spaces

    ``single_observation_space`` and ``single_action_space`` are ``PaintEnv``'s;
    ``observation_space`` and ``action_space`` are their ``gymnasium.vector.utils.batch_space``
    batches: ``canvas`` ``Box(0, 1, (N, H, W), uint8)``, ``target`` ``MultiDiscrete([10] * N)``,
    ``cursor`` (pen) ``Box(0, H - 1, (N, 2), int64)``; actions ``MultiDiscrete([A] * N)``.
    Actions must be an integer array of shape ``(N,)`` within range: bool or float arrays raise
    ``TypeError``, bad shapes or values ``ValueError``.

    ## Reward

    Always ``0.0`` (float64 array): a reward wrapper adds the classifier reward
    (:class:`~flatnet_rl.reward.FlatnetRewardVector`).

    ## Episode end and autoreset

    Per env as ``PaintEnv``: termination on the stop action, truncation after ``max_steps``.
    ``autoreset_mode`` (also in ``metadata["autoreset_mode"]``) follows ``SyncVectorEnv``:

    - ``AutoresetMode.NEXT_STEP`` (default): the step after an env's episode ended resets it
      and ignores its action; that step returns its reset observation and info (with
      ``start_label``), reward 0, terminated and truncated False.
    - ``AutoresetMode.SAME_STEP``: an env whose episode ends is reset in the same step; the
      step returns its new observation, while its last observation and info are in
      ``infos["final_obs"]`` (object array of single-env observations, None elsewhere) and
      ``infos["final_info"]`` (vector infos), masked by ``_final_obs`` and ``_final_info``.
    - ``AutoresetMode.DISABLED``: stepping an ended env raises ``ResetNeeded``; reset envs with
      ``reset(options={"reset_mask": mask})``.

    ## Infos

    Gymnasium vector infos (arrays with ``_key`` masks): ``target``, ``steps``, ``ink`` (int64
    ``(N,)``), in pen mode ``cursor`` (int64 ``(N, 2)``; a ``SyncVectorEnv`` of ``PaintEnv``
    would give an object array of tuples), and ``start_label`` for the envs reset by this call.

    ## Reset

    ``seed``: None, an int (env ``i`` gets ``seed + i``) or a list of ``N`` ints/None.
    ``options`` (all optional): ``"reset_mask"`` (bool ``(N,)``: reset only these envs, as in
    Gymnasium); ``"target"``: an int for every env, or an int array ``(N,)`` with an optional
    bool mask ``"_target"`` (envs outside it draw their target as usual); ``"canvas"``: an
    ``(H, W)`` 0/1 canvas for every env, or ``(N, H, W)`` with an optional ``"_canvas"`` mask.

    ## Rendering

    ``render_mode``: None or ``"rgb_array"`` (``render()`` returns a tuple of ``N`` frames,
    each as ``PaintEnv.render()``); ``"ansi"`` and ``"human"`` are not offered.

    ## Arguments

    ``num_envs`` (int >= 1), then keyword-only ``PaintEnv``'s arguments (``canvas_size``,
    ``action_mode``, ``target``, ``start``, ``max_steps``, ``noise_density``, ``pixel_op``,
    ``render_mode``, ``render_scale``) and ``autoreset_mode`` (an ``AutoresetMode`` or its
    value, e.g. ``"SameStep"``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": PaintEnv.metadata["render_fps"],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        *,
        canvas_size: int = 8,
        action_mode: str = "pixel",
        target: int | None = None,
        start: str | Mapping[str, float] = "blank",
        max_steps: int | None = None,
        noise_density: float = 0.1,
        pixel_op: str = "paint",
        render_mode: str | None = None,
        render_scale: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        super().__init__()
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.batch = PaintBatch(
            num_envs,
            canvas_size=canvas_size,
            action_mode=action_mode,
            target=target,
            start=start,
            max_steps=max_steps,
            noise_density=noise_density,
            pixel_op=pixel_op,
            render_mode=render_mode,
            render_scale=render_scale,
        )
        self.num_envs = self.batch.num_envs
        # An instance copy: the class-level dict must not carry one instance's mode.
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        self.single_observation_space = self.batch.single_observation_space
        self.single_action_space = self.batch.single_action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        # NEXT_STEP: the envs whose episode ended in the previous step.
        self._autoreset = np.zeros(self.num_envs, dtype=bool)

    @property
    def canvas_size(self) -> int:
        return self.batch.canvas_size

    @property
    def stop_action(self) -> int:
        return self.batch.stop_action

    @property
    def max_steps(self) -> int:
        return self.batch.max_steps

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        """Every env's generator (as ``SyncVectorEnv.np_random``)."""
        return tuple(self.batch.np_random(i) for i in range(self.num_envs))

    @property
    def np_random_seed(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(self.batch.np_random_seed(i) for i in range(self.num_envs))

    def reset(
        self, *, seed: SeedArg = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        seeds = _seed_list(seed, self.num_envs)
        mask = _reset_mask(options, self.num_envs)
        ids = np.flatnonzero(mask)
        per_env = _per_env_options(options, self.num_envs, self.canvas_size)
        self.batch.reset(ids, [seeds[i] for i in ids], [per_env[i] for i in ids])
        self._autoreset[ids] = False
        partial = None if mask.all() else mask
        return self.batch.observations(), self.batch.vector_infos(partial, reset=mask)

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        checked = self.batch.check_actions(actions)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            terminated, truncated, infos = self._step_next(checked)
        elif self.autoreset_mode == AutoresetMode.SAME_STEP:
            terminated, truncated, infos = self._step_same(checked)
        else:
            terminated, truncated = self.batch.step(checked)
            infos = self.batch.vector_infos()
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        return self.batch.observations(), rewards, terminated, truncated, infos

    def _step_next(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        resetting = self._autoreset
        if not np.count_nonzero(resetting):
            terminated, truncated = self.batch.step(actions)
            infos = self.batch.vector_infos()
        else:
            # The envs that ended last step only reset; their actions are ignored.
            terminated, truncated = self.batch.step(actions, np.flatnonzero(~resetting))
            self.batch.reset(np.flatnonzero(resetting))
            infos = self.batch.vector_infos(reset=resetting)
        self._autoreset = terminated | truncated
        return terminated, truncated, infos

    def _step_same(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        terminated, truncated = self.batch.step(actions)
        done = terminated | truncated
        if not np.count_nonzero(done):
            return terminated, truncated, self.batch.vector_infos()
        ids = np.flatnonzero(done)
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in ids.tolist():
            final_obs[i] = self.batch.observation(i)
        infos: dict[str, Any] = {
            "final_obs": final_obs,
            "_final_obs": done.copy(),
            "final_info": self.batch.vector_infos(done),
            "_final_info": done.copy(),
        }
        self.batch.reset(ids)
        infos.update(self.batch.vector_infos(reset=done))
        return terminated, truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Every env's RGB frame (``render_mode="rgb_array"``), else None with a warning."""
        if self.render_mode != "rgb_array":
            gym.logger.warn(
                "PaintVectorEnv.render() called without render_mode='rgb_array'; pass it to "
                "the constructor"
            )
            return None
        return tuple(self.batch.frames())

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call (or read) ``name`` on every env's :class:`PaintEnvView`."""
        results = []
        for view in self.batch.views:
            value = getattr(view, name)
            results.append(value(*args, **kwargs) if callable(value) else value)
        return tuple(results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | Any) -> None:
        """Set ``name`` on every env's view: one value each (list/tuple) or one for all."""
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"values must have length num_envs={self.num_envs}, got {len(values)}")
        for view, value in zip(self.batch.views, values, strict=True):
            setattr(view, name, value)


def make_paint_vector_env(
    num_envs: int = 1,
    *,
    canvas_size: int = 8,
    action_mode: str = "pixel",
    target: int | None = None,
    start: str | Mapping[str, float] = "blank",
    max_steps: int | None = None,
    noise_density: float = 0.1,
    pixel_op: str = "paint",
    render_mode: str | None = None,
    render_scale: int | None = None,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    max_episode_steps: int | None = None,
) -> PaintVectorEnv:
    """``vector_entry_point`` for ``gymnasium.register``: ``gymnasium.make_vec`` calls it as
    ``make_paint_vector_env(num_envs=n, **kwargs)``, passing the spec's ``max_episode_steps``
    when it has one.

    ``max_episode_steps`` acts as ``gymnasium.make``'s ``TimeLimit`` on a ``PaintEnv``:
    episodes are truncated after ``min(max_steps, max_episode_steps)`` steps. Since
    ``make_vec`` refuses ``vector_kwargs`` for entry points, ``autoreset_mode`` is an ordinary
    keyword: ``make_vec(id, num_envs=n, autoreset_mode=AutoresetMode.SAME_STEP)``.
    """
    if max_episode_steps is not None:
        if not _is_int(max_episode_steps) or max_episode_steps < 1:
            raise ValueError(
                f"max_episode_steps must be None or an int >= 1, got {max_episode_steps!r}"
            )
        default = PaintEnv(canvas_size=canvas_size, action_mode=action_mode, max_steps=max_steps)
        max_steps = min(default.max_steps, int(max_episode_steps))
    return PaintVectorEnv(
        num_envs,
        canvas_size=canvas_size,
        action_mode=action_mode,
        target=target,
        start=start,
        max_steps=max_steps,
        noise_density=noise_density,
        pixel_op=pixel_op,
        render_mode=render_mode,
        render_scale=render_scale,
        autoreset_mode=autoreset_mode,
    )


def _seed_list(seed: SeedArg, n: int) -> list[int | None]:
    """SyncVectorEnv's seed rule: None, ``seed + i`` for an int, or one per env."""
    if seed is None:
        return [None] * n
    if isinstance(seed, int):
        return [seed + i for i in range(n)]
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"a list of seeds must have length num_envs={n}, got {len(seeds)}")
    return seeds


def _reset_mask(options: Mapping[str, Any] | None, n: int) -> np.ndarray:
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


def _per_env_options(
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


# ------------------------------------------------------------------ Stable-Baselines3


class PaintVecEnv(VecEnv):
    """``num_envs`` :class:`PaintEnv` canvases as one Stable-Baselines3 ``VecEnv``, in numpy.

    Spaces are ``PaintEnv``'s (SB3 keeps single-env spaces on a ``VecEnv``); observations are
    dicts of batched arrays, as ``DummyVecEnv`` returns them. Actions: as
    :class:`PaintVectorEnv` (integer array of shape ``(N,)``, checked in ``step_async``).

    ## Reward

    Always ``0.0`` (float32 array); wrap with :class:`~flatnet_rl.reward.FlatnetRewardVecEnv`.

    ## Episode end and autoreset (SB3's, as ``DummyVecEnv``)

    ``dones = terminated | truncated``. An env that is done is reset inside the same
    ``step``: the returned observation is its new episode's first, its last observation is in
    ``infos[i]["terminal_observation"]`` and its reset info in ``reset_infos[i]``. Every
    info has ``"TimeLimit.truncated"``: True when the episode was truncated and not
    terminated.

    ## Seeding and options

    ``seed(s)`` gives env ``i`` seed ``s + i`` and ``set_options(...)`` ``PaintEnv`` reset
    options (``"target"``, ``"canvas"``), both at the next ``reset()`` only.

    ## Infos

    A list of ``PaintEnv`` info dicts: ``target``, ``steps``, ``ink`` and in pen mode
    ``cursor`` (a tuple), plus the keys above. ``reset_infos`` also hold ``start_label``.

    ## Sub-env access

    ``get_attr``, ``set_attr`` and ``env_method`` act on :class:`PaintEnvView` objects (the
    ``PaintEnv`` properties and ``render``); ``env_is_wrapped`` is False (no gym wrappers).
    ``render_mode``: None or ``"rgb_array"`` (``get_images``/``render`` as in SB3).
    """

    def __init__(
        self,
        num_envs: int = 1,
        *,
        canvas_size: int = 8,
        action_mode: str = "pixel",
        target: int | None = None,
        start: str | Mapping[str, float] = "blank",
        max_steps: int | None = None,
        noise_density: float = 0.1,
        pixel_op: str = "paint",
        render_mode: str | None = None,
        render_scale: int | None = None,
    ) -> None:
        # Before VecEnv.__init__: it reads render_mode through get_attr.
        self.batch = PaintBatch(
            num_envs,
            canvas_size=canvas_size,
            action_mode=action_mode,
            target=target,
            start=start,
            max_steps=max_steps,
            noise_density=noise_density,
            pixel_op=pixel_op,
            render_mode=render_mode,
            render_scale=render_scale,
        )
        super().__init__(
            self.batch.num_envs,
            self.batch.single_observation_space,
            self.batch.single_action_space,
        )
        # VecVideoRecorder reads the frame rate from here.
        self.metadata["render_fps"] = PaintEnv.metadata["render_fps"]
        self._actions: np.ndarray | None = None

    def reset(self) -> VecEnvObs:
        options = [options or None for options in self._options]
        self.reset_infos = self.batch.reset(range(self.num_envs), list(self._seeds), options)
        # Seeds and options are used once, as DummyVecEnv does.
        self._reset_seeds()
        self._reset_options()
        return self.batch.observations()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = self.batch.check_actions(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        actions, self._actions = self._actions, None
        terminated, truncated = self.batch.step(actions)
        dones = terminated | truncated
        infos = self.batch.info_dicts()
        # Gymnasium's split flags folded into SB3's done, as DummyVecEnv does.
        time_limit = (truncated & ~terminated).tolist()
        for info, flag in zip(infos, time_limit, strict=True):
            info["TimeLimit.truncated"] = flag
        if np.count_nonzero(dones):
            ids = np.flatnonzero(dones)
            for i in ids.tolist():
                infos[i]["terminal_observation"] = self.batch.observation(i)
            for i, reset_info in zip(ids.tolist(), self.batch.reset(ids), strict=True):
                self.reset_infos[i] = reset_info
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        return self.batch.observations(), rewards, dones, infos

    def close(self) -> None:
        """Nothing to release: no sub-processes, no windows."""

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is "
                "`rgb_array` to obtain images.",
                stacklevel=2,
            )
            return [None] * self.num_envs
        return list(self.batch.frames())

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(view, attr_name) for view in self._views(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for view in self._views(indices):
            setattr(view, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        return [
            getattr(view, method_name)(*method_args, **method_kwargs)
            for view in self._views(indices)
        ]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._views(indices)]

    def _views(self, indices: VecEnvIndices) -> list[PaintEnvView]:
        return [self.batch.views[i] for i in self._get_indices(indices)]
