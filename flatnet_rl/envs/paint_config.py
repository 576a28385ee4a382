"""The paint env's arguments, validated once: :class:`PaintConfig`.

Every paint env (the single :class:`~flatnet_rl.envs.paint.PaintEnv`, the batched core and both
vector adapters) takes its arguments through this frozen dataclass, as every reward wrapper
takes :class:`~flatnet_rl.reward.spec.RewardSpec`. It owns the derived values (action count,
stop action, default horizon, render scale, stroke anchors), so none of them is computed twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.data.images import MIN_SIDE
from flatnet_rl.envs.paint_strokes import anchor_points
from flatnet_rl.util.checks import is_int, is_real

ACTION_MODES = ("pixel", "pen", "stroke")
STARTS = ("blank", "noise", "digit", "partial", "stroke", "demo")
PIXEL_OPS = ("paint", "toggle")
MIN_CANVAS = MIN_SIDE
MAX_CANVAS = 64

# Pen moves 0..3 (pen up) and 4..7 (pen down) share these directions: up, down, left, right.
PEN_DR = (-1, 1, 0, 0)
PEN_DC = (0, 0, -1, 1)
PEN_STOP = 8
#: Pen-mode episode length per canvas row (the default ``max_steps`` is this times H).
PEN_STEPS_PER_ROW = 8

#: Stroke-mode defaults per canvas size: (anchors per side, brush width in pixels, steps per
#: episode). Chosen by ``benchmarks/bench_stroke_reach.py``, which searches for stroke
#: sequences that the shipped flat model of each size reads as each digit: the brush is the
#: width of the model's training strokes (binarized MNIST strokes are 2-3 px at 28x28, 1 px at
#: 8x8), and the steps leave room for 4-6 strokes plus the pen moves between them.
STROKE_DEFAULTS: dict[int, tuple[int, int, int]] = {8: (8, 1, 8), 14: (7, 1, 10), 28: (7, 2, 12)}
#: Stroke actions per anchor: move and line; with ``stroke_curves`` also a curve bending left
#: and one bending right (:func:`~flatnet_rl.envs.paint_strokes.stroke_segments`).
STROKE_KINDS = 2
STROKE_KINDS_WITH_CURVES = 4


def parse_start(start: str | Mapping[str, float]) -> tuple[tuple[str, ...], np.ndarray]:
    """A start mode, or a mapping mode -> weight for a mixture (weights are normalised)."""
    message = f"start must be one of {STARTS} or a mapping of them to weights, got {start!r}"
    if isinstance(start, str):
        if start not in STARTS:
            raise ValueError(message)
        return (start,), np.ones(1)
    if not isinstance(start, Mapping) or not start:
        raise ValueError(message)
    unknown = set(start) - set(STARTS)
    numeric = all(is_real(w) for w in start.values())
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


def check_canvas_size(canvas_size: object) -> int:
    """``canvas_size`` as an int in ``MIN_CANVAS..MAX_CANVAS``, the sides this env paints.

    Raises:
        ValueError: not an int (a bool is refused), or out of range.
    """
    if not is_int(canvas_size) or not MIN_CANVAS <= canvas_size <= MAX_CANVAS:
        raise ValueError(
            f"canvas_size must be an int in {MIN_CANVAS}..{MAX_CANVAS}, got {canvas_size!r}"
        )
    return int(canvas_size)


def stroke_defaults(canvas_size: int) -> tuple[int, int, int]:
    """(anchors per side, brush width, steps per episode) of stroke mode at a canvas size:
    the measured entry of :data:`STROKE_DEFAULTS` for 8, 14 and 28, else the nearest size's
    anchors and brush scaled with the side."""
    if canvas_size in STROKE_DEFAULTS:
        return STROKE_DEFAULTS[canvas_size]
    nearest = min(STROKE_DEFAULTS, key=lambda side: abs(side - canvas_size))
    grid, brush, steps = STROKE_DEFAULTS[nearest]
    grid = max(3, min(grid, canvas_size))
    return grid, max(1, round(brush * canvas_size / nearest)), steps


def _check_fraction(name: str, value: object) -> float:
    if not is_real(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a float in [0, 1], got {value!r}")
    return float(value)


def _check_optional_int(name: str, value: object, low: int, high: int | None = None) -> None:
    if value is None:
        return
    if not is_int(value) or value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name} must be None or an int {bound}, got {value!r}")


@dataclass(frozen=True)
class PaintConfig:
    """Everything that defines a paint env, validated at construction (see
    :class:`~flatnet_rl.envs.paint.PaintEnv` for the meaning of each field).

    Derived values (``stop_action``, ``n_actions``, ``horizon``, ``scale``, ``grid``,
    ``brush``, ``anchors``, ``start_modes``/``start_probs``) are attributes computed once here.

    Raises:
        ValueError: one line naming the argument and what it takes.
    """

    canvas_size: int = 8
    action_mode: str = "pixel"
    target: int | None = None
    start: str | Mapping[str, float] = "blank"
    max_steps: int | None = None
    noise_density: float = 0.1
    pixel_op: str = "paint"
    render_scale: int | None = None
    stroke_grid: int | None = None
    stroke_width: int | None = None
    stroke_demos: tuple[tuple[int, ...], ...] | None = None
    stroke_curves: bool = False

    # Derived (not arguments).
    stop_action: int = field(init=False, repr=False, compare=False)
    horizon: int = field(init=False, repr=False, compare=False)
    scale: int = field(init=False, repr=False, compare=False)
    grid: int = field(init=False, repr=False, compare=False)
    brush: int = field(init=False, repr=False, compare=False)
    start_modes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    start_probs: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        size = check_canvas_size(self.canvas_size)
        if self.action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {self.action_mode!r}")
        if self.target is not None and (
            not is_int(self.target) or not 0 <= self.target < NUM_CLASSES
        ):
            raise ValueError(
                f"target must be None or an int in 0..{NUM_CLASSES - 1}, got {self.target!r}"
            )
        modes, probs = parse_start(self.start)
        _check_optional_int("max_steps", self.max_steps, 1)
        _check_fraction("noise_density", self.noise_density)
        if self.pixel_op not in PIXEL_OPS:
            raise ValueError(f"pixel_op must be one of {PIXEL_OPS}, got {self.pixel_op!r}")
        if self.pixel_op == "toggle" and self.action_mode != "pixel":
            raise ValueError(
                "pixel_op='toggle' is only allowed with action_mode='pixel' (a toggling pen "
                "would erase each cell it painted on the next move); use pixel_op='paint'"
            )
        _check_optional_int("render_scale", self.render_scale, 1)
        _check_optional_int("stroke_grid", self.stroke_grid, 3, size)
        _check_optional_int("stroke_width", self.stroke_width, 1, size)
        if not isinstance(self.stroke_curves, (bool, np.bool_)):
            raise ValueError(f"stroke_curves must be True or False, got {self.stroke_curves!r}")
        if self.action_mode != "stroke" and (
            self.stroke_grid is not None or self.stroke_width is not None or self.stroke_curves
        ):
            raise ValueError(
                "stroke_grid, stroke_width and stroke_curves are options of "
                f"action_mode='stroke', not of {self.action_mode!r}"
            )
        grid, brush, steps = stroke_defaults(size)
        grid = grid if self.stroke_grid is None else int(self.stroke_grid)
        brush = brush if self.stroke_width is None else int(self.stroke_width)
        kinds = STROKE_KINDS_WITH_CURVES if self.stroke_curves else STROKE_KINDS
        object.__setattr__(self, "stroke_curves", bool(self.stroke_curves))
        object.__setattr__(self, "stroke_demos", self._check_demos(modes, kinds * grid * grid))
        if self.action_mode == "pixel":
            stop, default_steps = size * size, size * size // 2
        elif self.action_mode == "pen":
            stop, default_steps = PEN_STOP, PEN_STEPS_PER_ROW * size
        else:
            stop, default_steps = kinds * grid * grid, steps
        derived = {
            "canvas_size": size,
            "stop_action": stop,
            "horizon": default_steps if self.max_steps is None else int(self.max_steps),
            "scale": max(1, 256 // size) if self.render_scale is None else int(self.render_scale),
            "grid": grid,
            "brush": brush,
            "start_modes": modes,
            "start_probs": probs,
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def _check_demos(
        self, modes: tuple[str, ...], n_moves: int
    ) -> tuple[tuple[int, ...], ...] | None:
        """``stroke_demos`` as tuples (JSON gives lists): per class, a sequence of stroke
        actions (no stop) that ``start="demo"`` replays a prefix of."""
        demos = self.stroke_demos
        if "demo" in modes and self.action_mode != "stroke":
            raise ValueError(f"start='demo' is for action_mode='stroke', not {self.action_mode!r}")
        if demos is None:
            if "demo" in modes:
                raise ValueError(
                    "start='demo' replays stroke_demos: pass stroke_demos (one sequence of "
                    "stroke actions per class; agents search them with the reward model)"
                )
            return None
        if self.action_mode != "stroke":
            raise ValueError(f"stroke_demos are for action_mode='stroke', not {self.action_mode!r}")
        message = (
            f"stroke_demos must be {NUM_CLASSES} sequences (one per class) of 1 or more stroke "
            f"actions in 0..{n_moves - 1} (no stop)"
        )
        if isinstance(demos, (str, bytes)) or not isinstance(demos, (list, tuple)):
            raise ValueError(f"{message}, got {type(demos).__name__}")
        if len(demos) != NUM_CLASSES:
            raise ValueError(f"{message}, got {len(demos)} sequences")
        checked = []
        for seq in demos:
            if (
                not isinstance(seq, (list, tuple))
                or not seq
                or not all(is_int(a) and 0 <= a < n_moves for a in seq)
            ):
                raise ValueError(f"{message}, got {seq!r}")
            checked.append(tuple(int(a) for a in seq))
        return tuple(checked)

    @classmethod
    def from_kwargs(cls, config: PaintConfig | None = None, **kwargs: Any) -> PaintConfig:
        """``config`` with ``kwargs`` replaced, or a new config from ``kwargs`` alone."""
        if config is None:
            return cls(**kwargs)
        if not isinstance(config, PaintConfig):
            raise ValueError(f"config must be a PaintConfig, got {type(config).__name__}")
        return dataclasses.replace(config, **kwargs) if kwargs else config

    @property
    def n_actions(self) -> int:
        return self.stop_action + 1

    @property
    def has_cursor(self) -> bool:
        """Pen and stroke modes have a pen position, observed as ``"cursor"``."""
        return self.action_mode != "pixel"

    @property
    def needs_digits(self) -> bool:
        """Whether a start mode draws from the embedded digits."""
        return bool({"digit", "partial", "stroke"} & set(self.start_modes))

    @property
    def anchors(self) -> np.ndarray:
        """Stroke mode's anchor points (:func:`anchor_points`)."""
        return anchor_points(self.canvas_size, self.grid)

    def kwargs(self) -> dict[str, Any]:
        """The arguments (not the derived values), e.g. to rebuild or describe the env."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init}


class PaintConfigAttributes:
    """The config values every paint env (single, batch, vector) exposes as read-only
    properties, read from its ``config``."""

    config: PaintConfig

    @property
    def canvas_size(self) -> int:
        return self.config.canvas_size

    @property
    def action_mode(self) -> str:
        return self.config.action_mode

    @property
    def stop_action(self) -> int:
        """The action that ends an episode (see ``PaintEnv``'s action space)."""
        return self.config.stop_action

    @property
    def max_steps(self) -> int:
        """The truncation horizon."""
        return self.config.horizon
