"""The bare painting environment: an agent edits a binary canvas, one pixel or pen stroke a step.

This module knows nothing about classifiers. Its reward is always ``0.0``; a reward wrapper
(built from a trained digit classifier) turns canvases into rewards elsewhere. Keeping the
two apart lets the same environment serve every reward model.

This module is long because the env's docstring is its specification (spaces, starts,
episode end, arguments), as Minigrid and HighwayEnv document theirs.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from flatnet_rl.data import NUM_CLASSES, DataSpec, load_dataset
from flatnet_rl.data.images import MIN_SIDE

ACTION_MODES = ("pixel", "pen")
STARTS = ("blank", "noise", "digit", "partial", "stroke")
PIXEL_OPS = ("paint", "toggle")
MIN_CANVAS = MIN_SIDE
MAX_CANVAS = 64

# Pen moves 0..3 (pen up) and 4..7 (pen down) share these directions: up, down, left, right.
PEN_DR = (-1, 1, 0, 0)
PEN_DC = (0, 0, -1, 1)
_PEN_STOP = 8
#: Pen-mode episode length per canvas row (the default ``max_steps`` is this times H).
PEN_STEPS_PER_ROW = 8
#: 8-neighbourhood in the order a ``"stroke"`` start's trace pushes it.
_NEIGHBOURS = ((-1, 0), (0, 1), (1, 0), (0, -1), (-1, -1), (-1, 1), (1, 1), (1, -1))


#: The largest canvas whose start digits are scikit-learn's 8x8 digits.
SMALL_CANVAS = 8


@functools.lru_cache(maxsize=8)
def _digit_bank(
    canvas_size: int,
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Training digits at ``canvas_size``, their labels, and per target the indices of
    digits of *other* classes (the pool ``start="digit"`` draws from) and of the target's
    own class (``start="partial"``, ``"stroke"``). Up to 8x8 scikit-learn's digits; larger
    canvases the 5,000 real MNIST digits (``mnist5k``), the data of the shipped 14x14 and
    28x28 models (upsampled 8x8 digits are blocky shapes those models give p(label) 0.36).

    Cached because binarizing the digits takes tens of milliseconds and every environment
    in a vector of environments would otherwise redo it; the arrays are made read-only
    since all environments share them.
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


def parse_start(start: str | Mapping[str, float]) -> tuple[tuple[str, ...], np.ndarray]:
    """A start mode, or a mapping mode -> weight for a mixture (weights are normalised)."""
    if isinstance(start, str):
        if start not in STARTS:
            raise ValueError(
                f"start must be one of {STARTS} or a mapping of them to weights, got {start!r}"
            )
        return (start,), np.ones(1)
    if not isinstance(start, Mapping) or not start:
        raise ValueError(
            f"start must be one of {STARTS} or a mapping of them to weights, got {start!r}"
        )
    unknown = set(start) - set(STARTS)
    numeric = all(
        isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, (bool, np.bool_))
        for w in start.values()
    )
    weights = np.array(list(start.values()), dtype=float) if numeric else np.array([np.nan])
    with np.errstate(over="ignore"):
        total = weights.sum()
    if (
        unknown
        or not np.all(np.isfinite(weights))
        or np.any(weights < 0)
        or not np.isfinite(total)
        or total <= 0
    ):
        raise ValueError(
            f"start mixture must map modes in {STARTS} to weights >= 0 (not all 0), got {start!r}"
        )
    return tuple(start), weights / total


def _is_int(value: object) -> bool:
    # bool is an int subclass, but PaintEnv(canvas_size=True) is surely a mistake.
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_canvas_size(canvas_size: object) -> int:
    """``canvas_size`` as an int in ``MIN_CANVAS..MAX_CANVAS``, the sides this env paints.

    Raises:
        ValueError: not an int (a bool is refused), or out of range.
    """
    if not _is_int(canvas_size) or not MIN_CANVAS <= canvas_size <= MAX_CANVAS:
        raise ValueError(
            f"canvas_size must be an int in {MIN_CANVAS}..{MAX_CANVAS}, got {canvas_size!r}"
        )
    return int(canvas_size)


class PaintEnv(gym.Env[dict[str, Any], int]):
    """Paint a digit on a small binary canvas.

    The agent sees a square ``canvas_size x canvas_size`` canvas of 0/1 pixels and a target
    digit class, and edits the canvas until it chooses to stop. This is the *bare*
    environment: its reward is always ``0.0``; wrap it with a classifier-based reward
    wrapper to train an agent.

    ## Action space

    ``action_mode="pixel"``: ``Discrete(H * W + 1)``.

    - ``a < H * W``: paint pixel ``(a // W, a % W)`` (set it to 1; with
      ``pixel_op="toggle"`` flip it instead).
    - ``a == H * W``: stop (ends the episode).

    ``action_mode="pen"``: ``Discrete(9)``, with a cursor that starts each episode at
    ``(H // 2, W // 2)``.

    | Action | Meaning                                                      |
    |--------|--------------------------------------------------------------|
    | 0..3   | move up / down / left / right with the pen up                |
    | 4..7   | move up / down / left / right with the pen down: paint the    |
    |        | cell left and the cell entered                               |
    | 8      | stop (ends the episode)                                      |

    Moving into a wall leaves the cursor in place; with the pen down the current cell is
    still painted. ``stop_action`` holds the stop action of either mode.

    ## Observation

    ``spaces.Dict`` with

    - ``"canvas"``: ``Box(0, 1, (H, W), uint8)``, 1 = ink. The bounds are 0..1 on purpose:
      a ``(H, W)`` uint8 box with 0..255 bounds would be taken for an image by
      Stable-Baselines3 and divided by 255.
    - ``"target"``: ``Discrete(10)``, the digit to paint.
    - ``"cursor"`` (pen mode only): ``MultiDiscrete([H, W])``, the cursor's (row, column).

    Observations are copies: changing them does not change the environment.

    ## Reward

    Always ``0.0``. The reward comes from a wrapper.

    ## Starting state

    ``start="blank"``: all pixels off. ``start="noise"``: each pixel on with probability
    ``noise_density``. ``start="digit"``: a random embedded training digit of a class
    *different* from the target, so the task is to edit it into the target (its label is
    ``info["start_label"]`` after ``reset``). ``start="partial"``: a random embedded digit of
    the target class with a uniformly random fraction of its ink erased (a curriculum: the
    agent learns which pixels complete a digit). ``start="stroke"``: a connected piece of a
    random embedded digit of the target class, of uniformly random length, traced from a
    random ink pixel, with the cursor on the piece's last pixel (the pen's curriculum: a
    half-drawn digit to continue from where a pen would be). ``start`` may also map modes to
    weights, e.g. ``{"blank": 0.5, "partial": 0.5}``, to draw the mode per episode.
    ``reset(options={"canvas": ...})`` replaces the
    start canvas for one episode and ``reset(options={"target": k})`` the target.

    ## Episode end

    Termination: the agent takes the stop action. Truncation: after ``max_steps`` steps
    (default ``H * W // 2`` in pixel mode, ``8 * H`` in pen mode: 64 at 8x8, 112 at 14x14;
    a digit's strokes take a few canvas widths, and at 14x14 the pen learned to draw every
    digit in 2M steps with 112 steps an episode but not with 196). Stopping on the last step
    sets both flags, as :class:`gymnasium.wrappers.TimeLimit` would.

    ## Info

    ``{"target": int, "steps": int, "ink": int}`` (``ink`` = pixels on), plus
    ``"cursor": (row, col)`` in pen mode; ``reset`` adds ``"start_label"`` (the class of the
    start digit, or ``-1`` when the start canvas is not an embedded digit).

    ## Arguments

    - ``canvas_size`` (int, 4..64): side ``H = W`` of the canvas.
    - ``action_mode`` (``"pixel"`` | ``"pen"``): see Action space.
    - ``target`` (int 0..9 | None): fixed target; None draws one at every reset.
    - ``start`` (``"blank"`` | ``"noise"`` | ``"digit"`` | ``"partial"`` | ``"stroke"`` | a
      mapping of them to weights): see Starting state.
    - ``max_steps`` (int >= 1 | None): truncation horizon; None picks the default above.
    - ``noise_density`` (float in [0, 1]): pixel probability for ``start="noise"``.
    - ``pixel_op`` (``"paint"`` | ``"toggle"``): what a pixel action does. Pixel mode only:
      a toggling pen would erase the cell it just painted on the next move.
    - ``render_mode`` (None | ``"rgb_array"`` | ``"ansi"`` | ``"human"``).
    - ``render_scale`` (int >= 1 | None): screen pixels per canvas pixel for
      ``"rgb_array"``/``"human"``; None gives ``max(1, 256 // H)``.

    ## Example

    >>> env = PaintEnv()
    >>> obs, info = env.reset(seed=0)
    >>> obs, r, term, trunc, info = env.step(env.stop_action)
    >>> r, term, trunc
    (0.0, True, False)
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": ["rgb_array", "ansi", "human"],
        "render_fps": 8,
    }

    def __init__(
        self,
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
        super().__init__()
        size = check_canvas_size(canvas_size)
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        if target is not None and (not _is_int(target) or not 0 <= target < NUM_CLASSES):
            raise ValueError(
                f"target must be None or an int in 0..{NUM_CLASSES - 1}, got {target!r}"
            )
        start_modes, start_probs = parse_start(start)
        if max_steps is not None and (not _is_int(max_steps) or max_steps < 1):
            raise ValueError(f"max_steps must be None or an int >= 1, got {max_steps!r}")
        if (
            isinstance(noise_density, (bool, np.bool_))
            or not isinstance(noise_density, (int, float, np.integer, np.floating))
            or not 0.0 <= noise_density <= 1.0
        ):
            raise ValueError(f"noise_density must be a float in [0, 1], got {noise_density!r}")
        if pixel_op not in PIXEL_OPS:
            raise ValueError(f"pixel_op must be one of {PIXEL_OPS}, got {pixel_op!r}")
        if pixel_op == "toggle" and action_mode == "pen":
            raise ValueError(
                "pixel_op='toggle' is only allowed with action_mode='pixel' (a toggling pen "
                "would erase each cell it painted on the next move); use pixel_op='paint'"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        if render_scale is not None and (not _is_int(render_scale) or render_scale < 1):
            raise ValueError(f"render_scale must be None or an int >= 1, got {render_scale!r}")

        self._size = size
        self._action_mode = action_mode
        self._pen = action_mode == "pen"
        self._toggle = pixel_op == "toggle"
        self._fixed_target = None if target is None else int(target)
        self._start_modes = start_modes
        self._start_probs = start_probs
        self._noise_density = float(noise_density)
        self._n_pixels = size * size
        self._stop_action = _PEN_STOP if self._pen else self._n_pixels
        default_steps = PEN_STEPS_PER_ROW * size if self._pen else self._n_pixels // 2
        self._max_steps = default_steps if max_steps is None else int(max_steps)
        self.render_mode = render_mode
        self._render_scale = max(1, 256 // size) if render_scale is None else int(render_scale)
        if {"digit", "partial", "stroke"} & set(start_modes):
            # Load now so a broken data set fails at construction, not at the first reset.
            _digit_bank(size)

        self.action_space = spaces.Discrete(self._stop_action + 1)
        obs_spaces: dict[str, spaces.Space[Any]] = {
            "canvas": spaces.Box(0, 1, (size, size), np.uint8),
            "target": spaces.Discrete(NUM_CLASSES),
        }
        if self._pen:
            obs_spaces["cursor"] = spaces.MultiDiscrete([size, size])
        self.observation_space = spaces.Dict(obs_spaces)

        # The episode state is valid before the first reset so the read-only properties
        # work, but step() refuses to run until reset() has seeded everything.
        self._canvas = np.zeros((size, size), dtype=np.uint8)
        self._target = 0 if self._fixed_target is None else self._fixed_target
        self._row = self._col = size // 2
        self._steps = 0
        # Kept up to date incrementally: counting the canvas every step would cost O(H*W).
        self._ink = 0
        self._start_label = -1
        self._needs_reset = True
        self._fig: Any = None
        self._ax: Any = None
        self._image: Any = None

    # ------------------------------------------------------------------ read-only state

    @property
    def canvas(self) -> np.ndarray:
        """A copy of the current canvas, ``uint8`` of shape ``(H, W)``."""
        return self._canvas.copy()

    @property
    def target(self) -> int:
        """The digit class of the current episode."""
        return self._target

    @property
    def canvas_size(self) -> int:
        return self._size

    @property
    def action_mode(self) -> str:
        return self._action_mode

    @property
    def stop_action(self) -> int:
        """The action that ends the episode: ``H * W`` in pixel mode, ``8`` in pen mode."""
        return self._stop_action

    @property
    def max_steps(self) -> int:
        return self._max_steps

    @property
    def cursor(self) -> tuple[int, int]:
        """The pen cursor ``(row, col)`` (stays at the centre in pixel mode)."""
        return (self._row, self._col)

    # ------------------------------------------------------------------------ gym API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        target, canvas = self._parse_options(options)
        rng = self.np_random
        # Draw the target before the canvas: a "digit" start depends on the target.
        if target is None:
            target = (
                self._fixed_target
                if self._fixed_target is not None
                else int(rng.integers(NUM_CLASSES))
            )
        self._target = target
        self._start_label = -1
        self._row = self._col = self._size // 2
        if canvas is not None:
            self._canvas[...] = canvas
        else:
            start = self._start_modes[0]
            if len(self._start_modes) > 1:
                start = self._start_modes[
                    int(rng.choice(len(self._start_modes), p=self._start_probs))
                ]
            if start == "blank":
                self._canvas.fill(0)
            elif start == "noise":
                self._canvas[...] = rng.random((self._size, self._size)) < self._noise_density
            else:
                digits, labels, others, same = _digit_bank(self._size)
                pool = others[target] if start == "digit" else same[target]
                index = int(pool[rng.integers(len(pool))])
                self._canvas[...] = digits[index]
                self._start_label = int(labels[index])
                if start == "partial":
                    # Keep a uniformly random fraction of the target digit's ink: a
                    # curriculum from nearly blank to nearly finished canvases.
                    ink = np.flatnonzero(self._canvas)
                    erase = rng.permutation(ink)[: len(ink) - int(rng.integers(len(ink) + 1))]
                    self._canvas.reshape(-1)[erase] = 0
                elif start == "stroke":
                    self._keep_stroke(rng)
        self._steps = 0
        self._ink = int(np.count_nonzero(self._canvas))
        self._needs_reset = False

        info = self._info()
        info["start_label"] = self._start_label
        if self.render_mode == "human":
            self._render_human()
        return self._obs(), info

    def _keep_stroke(self, rng: np.random.Generator) -> None:
        """Keep the first pixels of a depth-first trace of the canvas's ink (8-neighbours)
        from a random ink pixel; a random number of them, the cursor on the last one."""
        size, canvas = self._size, self._canvas
        ink = np.argwhere(canvas)
        keep = int(rng.integers(len(ink) + 1))
        start = tuple(int(v) for v in ink[rng.integers(len(ink))])
        trace, seen, stack = [], {start}, [start]
        while stack and len(trace) < keep:
            row, col = stack.pop()
            trace.append((row, col))
            for dr, dc in _NEIGHBOURS:
                cell = (row + dr, col + dc)
                if (
                    0 <= cell[0] < size
                    and 0 <= cell[1] < size
                    and canvas[cell]
                    and cell not in seen
                ):
                    seen.add(cell)
                    stack.append(cell)
        canvas.fill(0)
        for cell in trace:
            canvas[cell] = 1
        if trace:
            self._row, self._col = trace[-1]

    def step(
        self, action: int | np.integer
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        if self._needs_reset:
            raise gym.error.ResetNeeded(
                "PaintEnv: the episode ended (or never started): call reset() before step()"
            )
        if isinstance(action, bool | np.bool_):
            raise TypeError(f"action must be an integer, got the bool {action!r}")
        try:
            a = operator.index(action)
        except TypeError:
            raise TypeError(f"action must be an integer, got {action!r}") from None
        if not 0 <= a <= self._stop_action:
            raise ValueError(f"action must be in 0..{self._stop_action}, got {a}")

        terminated = a == self._stop_action
        if not terminated:
            canvas = self._canvas
            if self._pen:
                row, col = self._row, self._col
                direction = a & 3
                new_row = row + PEN_DR[direction]
                new_col = col + PEN_DC[direction]
                inside = 0 <= new_row < self._size and 0 <= new_col < self._size
                if a >= 4:
                    if not canvas[row, col]:
                        canvas[row, col] = 1
                        self._ink += 1
                    if inside and not canvas[new_row, new_col]:
                        canvas[new_row, new_col] = 1
                        self._ink += 1
                if inside:
                    self._row, self._col = new_row, new_col
            else:
                row, col = divmod(a, self._size)
                if canvas[row, col]:
                    if self._toggle:
                        canvas[row, col] = 0
                        self._ink -= 1
                else:
                    canvas[row, col] = 1
                    self._ink += 1

        self._steps += 1
        truncated = self._steps >= self._max_steps
        # Stepping a finished episode is an error, as Gymnasium's OrderEnforcing makes it.
        self._needs_reset = terminated or truncated
        if self.render_mode == "human":
            self._render_human()
        return self._obs(), 0.0, terminated, truncated, self._info()

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            gym.logger.warn(
                "PaintEnv.render() called without a render_mode; pass "
                f"render_mode= one of {self.metadata['render_modes']} to the constructor"
            )
            return None
        if self.render_mode == "rgb_array":
            return self._rgb_frame()
        if self.render_mode == "ansi":
            return self._ansi_frame()
        self._render_human()
        return None

    def close(self) -> None:
        if self._fig is not None:
            import matplotlib.pyplot as plt

            plt.close(self._fig)
            self._fig = self._ax = self._image = None

    # ------------------------------------------------------------------------ helpers

    def _obs(self) -> dict[str, Any]:
        obs: dict[str, Any] = {"canvas": self._canvas.copy(), "target": np.int64(self._target)}
        if self._pen:
            obs["cursor"] = np.array((self._row, self._col), dtype=np.int64)
        return obs

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"target": self._target, "steps": self._steps, "ink": self._ink}
        if self._pen:
            info["cursor"] = (self._row, self._col)
        return info

    def _parse_options(
        self, options: Mapping[str, Any] | None
    ) -> tuple[int | None, np.ndarray | None]:
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
        if target is not None and (not _is_int(target) or not 0 <= target < NUM_CLASSES):
            raise ValueError(
                f"options['target'] must be an int in 0..{NUM_CLASSES - 1}, got {target!r}"
            )
        canvas = options.get("canvas")
        if canvas is not None:
            canvas = np.asarray(canvas)
            shape = (self._size, self._size)
            if canvas.shape != shape:
                raise ValueError(f"options['canvas'] must have shape {shape}, got {canvas.shape}")
            if canvas.dtype.kind not in "biuf" or not np.all((canvas == 0) | (canvas == 1)):
                raise ValueError("options['canvas'] must hold only 0 and 1")
        return (None if target is None else int(target)), canvas

    def _rgb_frame(self) -> np.ndarray:
        scale = self._render_scale
        ink = np.repeat(np.repeat(self._canvas, scale, axis=0), scale, axis=1) * np.uint8(255)
        frame = np.repeat(ink[:, :, None], 3, axis=2)
        if self._pen:
            top, left = self._row * scale, self._col * scale
            bottom, right = top + scale - 1, left + scale - 1
            red = np.array((255, 0, 0), dtype=np.uint8)
            frame[top, left : right + 1] = red
            frame[bottom, left : right + 1] = red
            frame[top : bottom + 1, left] = red
            frame[top : bottom + 1, right] = red
        return frame

    def _ansi_frame(self) -> str:
        chars = np.where(self._canvas.astype(bool), "#", ".")
        if self._pen:
            chars[self._row, self._col] = "%" if self._canvas[self._row, self._col] else "@"
        rows = ["".join(row) for row in chars]
        rows.append(f"target: {self._target}  step: {self._steps}")
        return "\n".join(rows)

    def _render_human(self) -> None:
        # matplotlib is imported only here so that headless training never pays for it.
        import matplotlib.pyplot as plt

        frame = self._rgb_frame()
        if self._fig is None or not plt.fignum_exists(self._fig.number):
            plt.ion()
            self._fig, self._ax = plt.subplots()
            self._ax.set_axis_off()
            self._image = self._ax.imshow(frame, interpolation="nearest")
        else:
            self._image.set_data(frame)
        self._ax.set_title(f"target: {self._target}  step: {self._steps}")
        plt.pause(1 / self.metadata["render_fps"])

    def __getstate__(self) -> dict[str, Any]:
        # Figures cannot be pickled (and belong to this process); a copy opens its own.
        state = self.__dict__.copy()
        state["_fig"] = state["_ax"] = state["_image"] = None
        return state
