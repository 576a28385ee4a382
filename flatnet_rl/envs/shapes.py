"""A colour-picture environment that is not about digits: draw a shape with coloured cells.

Like :class:`~flatnet_rl.envs.paint.PaintEnv` its reward is always 0; the point is the
*pictures*: RGB frames (``render()``) of shapes that only a classifier trained on such
pictures can judge (``flatnet-rl train-classifier --data`` on
:func:`flatnet_rl.data.shapes.write_shape_folder`), wrapped with
``FlatnetReward(env, classifier, target="ring", image="render")``. The agent observes the grid
of cells, as many envs give an agent state while a reward model looks at pixels.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from flatnet_rl.data.shapes import GRID, PALETTE, SHAPE_CLASSES, render_cells, shape_cells
from flatnet_rl.util.checks import is_int, is_plain_int


class ShapesEnv(gym.Env[dict[str, Any], int]):
    """Paint cells of an 8x8 grid in the episode's ink colour to draw a cross, ring or slash.

    ## Action space

    ``Discrete(65)``: ``a < 64`` paints cell ``(a // 8, a % 8)``; ``64`` stops.

    ## Observation

    ``spaces.Dict`` with ``"canvas"``: the painted cells, ``Box(0, 1, (8, 8), uint8)``, and
    ``"target"``: ``Discrete(3)``, the shape to draw (index into :data:`SHAPE_CLASSES`).
    ``render()`` (``render_mode="rgb_array"``) is the picture: ``(64, 64, 3)`` ``uint8``,
    ink on light paper.

    ## Reward

    Always ``0.0``: a classifier reward wrapper judges the picture.

    ## Starting state

    An ink colour drawn from :data:`~flatnet_rl.data.shapes.PALETTE`, the target (fixed, or
    drawn per episode when ``target=None``) and a blank grid, or, with probability
    ``partial_starts``, a random instance of the target shape with a uniformly random
    fraction of its cells erased (a curriculum, as the paint env's ``partial`` start).

    ## Episode end

    Termination: the stop action. Truncation: after ``max_steps`` steps (default 24).

    ## Arguments

    - ``target`` (class name, index or None), ``max_steps`` (int >= 1),
      ``partial_starts`` (probability in [0, 1]), ``image_size`` (multiple of 8, default 64),
      ``render_mode`` (None or ``"rgb_array"``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 8}

    def __init__(
        self,
        target: str | int | None = None,
        max_steps: int = 24,
        image_size: int = 64,
        render_mode: str | None = None,
        partial_starts: float = 0.0,
    ) -> None:
        super().__init__()
        if isinstance(target, str):
            if target not in SHAPE_CLASSES:
                raise ValueError(f"target must be one of {SHAPE_CLASSES}, got {target!r}")
            target = SHAPE_CLASSES.index(target)
        if target is not None and (not is_int(target) or not 0 <= target < len(SHAPE_CLASSES)):
            raise ValueError(f"target must be a shape name, an index or None, got {target!r}")
        if not is_plain_int(max_steps) or max_steps < 1:
            raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
        if not isinstance(image_size, int) or image_size < GRID or image_size % GRID:
            raise ValueError(f"image_size must be a multiple of {GRID}, got {image_size!r}")
        if not isinstance(partial_starts, int | float) or not 0.0 <= partial_starts <= 1.0:
            raise ValueError(f"partial_starts must be a probability, got {partial_starts!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self._fixed_target = None if target is None else int(target)
        self._max_steps = max_steps
        self._size = image_size
        self._partial = float(partial_starts)
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(GRID * GRID + 1)
        self.observation_space = spaces.Dict(
            {
                "canvas": spaces.Box(0, 1, (GRID, GRID), np.uint8),
                "target": spaces.Discrete(len(SHAPE_CLASSES)),
            }
        )
        self._cells = np.zeros((GRID, GRID), dtype=bool)
        self._colour = PALETTE[0]
        self._target = 0
        self._steps = 0
        self._needs_reset = True

    @property
    def target(self) -> int:
        return self._target

    def _obs(self) -> dict[str, Any]:
        return {"canvas": self._cells.astype(np.uint8), "target": np.int64(self._target)}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        self._colour = PALETTE[int(rng.integers(len(PALETTE)))]
        self._target = (
            self._fixed_target
            if self._fixed_target is not None
            else int(rng.integers(len(SHAPE_CLASSES)))
        )
        self._cells[...] = False
        if self._partial and rng.random() < self._partial:
            shape = shape_cells(SHAPE_CLASSES[self._target], rng).ravel()
            ink = np.flatnonzero(shape)
            keep = rng.permutation(ink)[: int(rng.integers(len(ink) + 1))]
            self._cells.reshape(-1)[keep] = True
        self._steps = 0
        self._needs_reset = False
        return self._obs(), {"target": self._target}

    def step(self, action: int):
        if self._needs_reset:
            raise gym.error.ResetNeeded("ShapesEnv: call reset() before step()")
        if isinstance(action, bool | np.bool_) or not self.action_space.contains(int(action)):
            raise ValueError(f"action must be an int in 0..{GRID * GRID}, got {action!r}")
        a = int(action)
        terminated = a == GRID * GRID
        if not terminated:
            self._cells[a // GRID, a % GRID] = True
        self._steps += 1
        truncated = self._steps >= self._max_steps
        self._needs_reset = terminated or truncated
        return self._obs(), 0.0, terminated, truncated, {"target": self._target}

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return render_cells(self._cells, self._size, self._colour)
