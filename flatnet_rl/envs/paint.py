"""The bare painting environment: an agent edits a binary canvas, one pixel, pen move or
stroke a step.

This module knows nothing about classifiers. Its reward is always ``0.0``; a reward wrapper
(built from a trained digit classifier) turns canvases into rewards elsewhere. Keeping the
two apart lets the same environment serve every reward model. The dynamics live in
:mod:`~flatnet_rl.envs.paint_core` (a one-env :class:`~flatnet_rl.envs.paint_core.PaintBatch`
here, ``N`` envs in the vector envs) and the arguments in
:class:`~flatnet_rl.envs.paint_config.PaintConfig`: this module is the env's specification.
"""

from __future__ import annotations

import operator
from typing import Any, ClassVar, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.envs.paint_config import (
    ACTION_MODES,
    MAX_CANVAS,
    MIN_CANVAS,
    PEN_DC,
    PEN_DR,
    PEN_STEPS_PER_ROW,
    STARTS,
    PaintConfig,
    PaintConfigAttributes,
    check_canvas_size,
    parse_start,
)
from flatnet_rl.envs.paint_core import PaintBatch

__all__ = [
    "ACTION_MODES",
    "MAX_CANVAS",
    "MIN_CANVAS",
    "PEN_DC",
    "PEN_DR",
    "PEN_STEPS_PER_ROW",
    "STARTS",
    "PaintEnv",
    "check_canvas_size",
    "paint_spaces",
    "parse_start",
]


def paint_spaces(config: PaintConfig) -> tuple[spaces.Dict, spaces.Discrete]:
    """The single-env observation and action spaces of a paint config."""
    size = config.canvas_size
    obs_spaces: dict[str, spaces.Space[Any]] = {
        "canvas": spaces.Box(0, 1, (size, size), np.uint8),
        "target": spaces.Discrete(NUM_CLASSES),
    }
    if config.has_cursor:
        obs_spaces["cursor"] = spaces.MultiDiscrete([size, size])
    return spaces.Dict(obs_spaces), spaces.Discrete(config.n_actions)


class PaintEnv(PaintConfigAttributes, gym.Env[dict[str, Any], int]):
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
    still painted.

    ``action_mode="stroke"``: ``Discrete(2 * G * G + 1)`` over a ``G x G`` grid of anchor
    points (evenly spaced; above 8x8 over the canvas less a border of ``H // 7`` pixels,
    where digits do not go), with a pen that starts at ``(H // 2, W // 2)``, as SPIRAL's
    drawing agents pick stroke end points on a grid.

    | Action                | Meaning                                               |
    |-----------------------|-------------------------------------------------------|
    | ``a < G²``            | move the pen to anchor ``a`` (row-major) without ink  |
    | ``G² <= a < 2 G²``    | draw a straight line of ``stroke_width`` pixels from  |
    |                       | the pen to anchor ``a - G²``; the pen ends there      |
    | ``2 G²``              | stop (ends the episode)                               |

    With ``stroke_curves=True``: ``Discrete(4 * G * G + 1)``; ``2 G² <= a < 3 G²`` draws a
    curve to anchor ``a - 2 G²`` bending to the left of the direction of travel,
    ``3 G² <= a < 4 G²`` one bending right (a quadratic Bezier whose control point is 0.8
    chords off the chord's middle: two left curves between two anchors make a ring), and
    ``4 G²`` stops.

    Defaults per canvas size (``stroke_grid``, ``stroke_width``, ``max_steps``), measured by
    ``benchmarks/bench_stroke_reach.py`` (the brush matches the width of the shipped models'
    training strokes, the steps leave room for a digit's strokes and the moves between them):

    | canvas | anchors ``G x G`` | brush | steps |
    |--------|-------------------|-------|-------|
    | 8x8    | 8 x 8             | 1 px  | 8     |
    | 14x14  | 7 x 7             | 1 px  | 10    |
    | 28x28  | 7 x 7             | 2 px  | 12    |

    ``stop_action`` holds the stop action of every mode.

    ## Observation

    ``spaces.Dict`` with

    - ``"canvas"``: ``Box(0, 1, (H, W), uint8)``, 1 = ink. The bounds are 0..1 on purpose:
      a ``(H, W)`` uint8 box with 0..255 bounds would be taken for an image by
      Stable-Baselines3 and divided by 255.
    - ``"target"``: ``Discrete(10)``, the digit to paint.
    - ``"cursor"`` (pen and stroke modes): ``MultiDiscrete([H, W])``, the pen's (row, column).

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
    random ink pixel, with the pen on the piece's last pixel (a curriculum: a half-drawn
    digit to continue from where a pen would be). ``start="demo"`` (stroke mode): the canvas
    and pen after a random prefix (1 action to all) of the target's sequence in
    ``stroke_demos``, drawn by the env's own stroke dynamics (a backward curriculum along a
    drawing the agent's actions can make; :func:`flatnet_rl.agents.search_stroke_demos`
    finds one per digit with the reward model). ``start`` may also map modes to weights,
    e.g. ``{"blank": 0.5, "partial": 0.5}``, to draw the mode per episode.
    ``reset(options={"canvas": ...})`` replaces the start canvas for one episode and
    ``reset(options={"target": k})`` the target.

    ## Episode end

    Termination: the agent takes the stop action. Truncation: after ``max_steps`` steps
    (default ``H * W // 2`` in pixel mode; ``8 * H`` in pen mode: 64 at 8x8, 112 at 14x14, a
    digit's strokes take a few canvas widths, and at 14x14 the pen learned to draw every
    digit in 2M steps with 112 steps an episode but not with 196; stroke mode: the table
    above). Stopping on the last step sets both flags, as
    :class:`gymnasium.wrappers.TimeLimit` would.

    ## Info

    ``{"target": int, "steps": int, "ink": int}`` (``ink`` = pixels on), plus
    ``"cursor": (row, col)`` in pen and stroke modes; ``reset`` adds ``"start_label"`` (the
    class of the start digit, or ``-1`` when the start canvas is not an embedded digit).

    ## Arguments

    - ``canvas_size`` (int, 4..64): side ``H = W`` of the canvas.
    - ``action_mode`` (``"pixel"`` | ``"pen"`` | ``"stroke"``): see Action space.
    - ``target`` (int 0..9 | None): fixed target; None draws one at every reset.
    - ``start`` (``"blank"`` | ``"noise"`` | ``"digit"`` | ``"partial"`` | ``"stroke"`` |
      ``"demo"`` | a mapping of them to weights): see Starting state.
    - ``max_steps`` (int >= 1 | None): truncation horizon; None picks the default above.
    - ``noise_density`` (float in [0, 1]): pixel probability for ``start="noise"``.
    - ``pixel_op`` (``"paint"`` | ``"toggle"``): what a pixel action does. Pixel mode only:
      a toggling pen would erase the cell it just painted on the next move.
    - ``stroke_grid`` (int >= 3 | None), ``stroke_width`` (int >= 1 | None): stroke mode's
      anchors per side and brush width; None picks the defaults above.
    - ``stroke_curves`` (bool): stroke mode's curve actions (see Action space).
    - ``stroke_demos`` (10 sequences of stroke actions | None): per class, the drawing
      ``start="demo"`` replays a prefix of.
    - ``render_mode`` (None | ``"rgb_array"`` | ``"ansi"`` | ``"human"``).
    - ``render_scale`` (int >= 1 | None): screen pixels per canvas pixel for
      ``"rgb_array"``/``"human"``; None gives ``max(1, 256 // H)``.

    All but ``render_mode`` form a :class:`~flatnet_rl.envs.paint_config.PaintConfig`
    (``PaintEnv(config=...)`` takes one directly; keyword arguments then replace its fields).

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
        *,
        config: PaintConfig | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        self.config = PaintConfig.from_kwargs(config, **kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.observation_space, self.action_space = paint_spaces(self.config)
        # The episode state is valid before the first reset so the read-only properties
        # work, but step() refuses to run until reset() has seeded everything.
        self._batch = PaintBatch(1, self.config)
        self._batch.target[0] = 0 if self.config.target is None else self.config.target
        self._fig: Any = None
        self._ax: Any = None
        self._image: Any = None

    # ------------------------------------------------------------------ read-only state

    @property
    def canvas(self) -> np.ndarray:
        """A copy of the current canvas, ``uint8`` of shape ``(H, W)``."""
        return self._batch.canvas[0].copy()

    @property
    def target(self) -> int:
        """The digit class of the current episode."""
        return int(self._batch.target[0])

    @property
    def cursor(self) -> tuple[int, int]:
        """The pen ``(row, col)`` (stays at the centre in pixel mode)."""
        row, col = self._batch.cursor[0].tolist()
        return (row, col)

    # ------------------------------------------------------------------------ gym API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        # The batch draws from this env's generator: the same draws as a vector's env.
        self._batch.set_generator(0, self.np_random)
        info = self._batch.reset([0], options=[options])[0]
        if self.render_mode == "human":
            self._render_human()
        return self._batch.observation(0), info

    def step(
        self, action: int | np.integer
    ) -> tuple[dict[str, Any], SupportsFloat, bool, bool, dict[str, Any]]:
        batch = self._batch
        if batch.needs_reset[0]:
            raise gym.error.ResetNeeded(
                "PaintEnv: the episode ended (or never started): call reset() before step()"
            )
        if isinstance(action, bool | np.bool_):
            raise TypeError(f"action must be an integer, got the bool {action!r}")
        try:
            a = operator.index(action)
        except TypeError:
            raise TypeError(f"action must be an integer, got {action!r}") from None
        if not 0 <= a <= self.config.stop_action:
            raise ValueError(f"action must be in 0..{self.config.stop_action}, got {a}")
        terminated, truncated = batch.step(np.array([a], dtype=np.int64))
        if self.render_mode == "human":
            self._render_human()
        return (
            batch.observation(0),
            0.0,
            bool(terminated[0]),
            bool(truncated[0]),
            batch.info(0),
        )

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            gym.logger.warn(
                "PaintEnv.render() called without a render_mode; pass "
                f"render_mode= one of {self.metadata['render_modes']} to the constructor"
            )
            return None
        if self.render_mode == "rgb_array":
            return self._batch.frames()[0]
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

    def _ansi_frame(self) -> str:
        canvas = self._batch.canvas[0]
        chars = np.where(canvas.astype(bool), "#", ".")
        if self.config.has_cursor:
            row, col = self.cursor
            chars[row, col] = "%" if canvas[row, col] else "@"
        rows = ["".join(row) for row in chars]
        rows.append(f"target: {self.target}  step: {int(self._batch.steps[0])}")
        return "\n".join(rows)

    def _render_human(self) -> None:
        # matplotlib is imported only here so that headless training never pays for it.
        import matplotlib.pyplot as plt

        frame = self._batch.frames()[0]
        if self._fig is None or not plt.fignum_exists(self._fig.number):
            plt.ion()
            self._fig, self._ax = plt.subplots()
            self._ax.set_axis_off()
            self._image = self._ax.imshow(frame, interpolation="nearest")
        else:
            self._image.set_data(frame)
        self._ax.set_title(f"target: {self.target}  step: {int(self._batch.steps[0])}")
        plt.pause(1 / self.metadata["render_fps"])

    def __getstate__(self) -> dict[str, Any]:
        # Figures cannot be pickled (and belong to this process); a copy opens its own.
        state = self.__dict__.copy()
        state["_fig"] = state["_ax"] = state["_image"] = None
        return state
