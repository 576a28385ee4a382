"""Where the wrappers find the image and the target in an environment's output.

One :class:`ObservationReader` serves the single-env and the vectorized wrappers, so both
read observations the same way (and the same tests cover both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from flatnet_rl.data.canvas import CanvasError, frames_to_canvas
from flatnet_rl.reward.functions import check_targets

TargetSpec = int | Literal["obs"] | Callable[[Any], Any] | None
ImageSpec = str  # "auto", "obs", "render" or a Dict observation key


def _is_image_box(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Box) and len(space.shape) in (2, 3)


class ObservationReader:
    """Extract canvases and targets from (possibly batched) observations.

    Args:
        observation_space: the single env's observation space.
        canvas_size: the classifier's canvas side.
        image: ``"auto"`` (a Dict's ``"canvas"`` key, else the observation itself when it is
            an image Box), ``"obs"`` (the whole observation), ``"render"`` (``env.render()``
            frames; single env only) or a Dict key.
        target: an int, ``"obs"`` (``obs["target"]``), a callable ``f(obs) -> int`` (batched:
            ``-> (N,)``), or ``None`` for ``"obs"`` when the observation has a ``"target"``.
        threshold: grey level at or above which a pixel is ink after resizing.
        invert: ``True`` for dark ink on a light background; ``"auto"`` decides once, on the
            first image seen, and keeps the decision (a per-frame decision could be gamed by
            an agent that fills the canvas). Exact binary canvases are never inverted.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        canvas_size: int,
        num_classes: int,
        *,
        image: ImageSpec = "auto",
        target: TargetSpec = None,
        threshold: float = 0.5,
        invert: bool | Literal["auto"] = "auto",
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold}")
        if invert not in (True, False, "auto"):
            raise ValueError(f"invert must be True, False or 'auto', got {invert!r}")
        self.canvas_size = canvas_size
        self.num_classes = num_classes
        self.threshold = threshold
        self.invert = invert
        self.key = self._resolve_image(observation_space, image)
        self.from_render = image == "render"
        self.target = self._resolve_target(observation_space, target)

    def _resolve_image(self, space: spaces.Space, image: ImageSpec) -> str | None:
        is_dict = isinstance(space, spaces.Dict)
        if image == "render":
            return None
        if image == "obs":
            if not _is_image_box(space):
                raise ValueError(f"image='obs' needs an image Box observation, got {space}")
            return None
        if image == "auto":
            if is_dict and "canvas" in space.spaces:
                return "canvas"
            if _is_image_box(space):
                return None
            raise ValueError(
                f"cannot find an image in observation space {space}: pass image=<Dict key>, "
                "image='obs' or image='render'"
            )
        if not is_dict or image not in space.spaces:
            raise ValueError(f"image={image!r} is not a key of observation space {space}")
        if not _is_image_box(space[image]):
            raise ValueError(f"observation[{image!r}] is {space[image]}, not an image Box")
        return image

    def _resolve_target(self, space: spaces.Space, target: TargetSpec) -> TargetSpec:
        has_target = isinstance(space, spaces.Dict) and "target" in space.spaces
        if target is None:
            if not has_target:
                raise ValueError(
                    "no target: pass target=<class index>, a callable, or use an observation "
                    "with a 'target' entry"
                )
            return "obs"
        if target == "obs":
            if not has_target:
                raise ValueError(f"target='obs' but the observation space has no 'target': {space}")
            return target
        if callable(target):
            return target
        if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
            raise ValueError(f"target must be an int, 'obs', a callable or None, got {target!r}")
        check_targets(np.array([target]), self.num_classes)
        return int(target)

    def image(self, obs: Any) -> Any:
        return obs[self.key] if self.key is not None else obs

    def canvases(self, images: Any, *, batched: bool) -> np.ndarray:
        """Binary canvases ``uint8 (N, c, c)`` from images (one, or a batch)."""
        arr = np.asarray(images)
        c = self.canvas_size
        exact = arr.shape[-2:] == (c, c) and arr.ndim == 2 + int(batched)
        if self.invert == "auto":
            if exact:
                self.invert = False
            else:
                # Decide once from the first frame: mostly light means dark ink on light.
                first = frames_to_canvas(arr, c, batched=batched, threshold=0.5, invert=False)
                gray_light = float(np.mean(first)) > 0.5
                self.invert = bool(gray_light)
        if (
            exact
            and arr.dtype == np.uint8
            and not self.invert
            and (arr.size == 0 or arr.max() <= 1)
        ):
            return arr.reshape(-1, c, c)  # already a binary canvas: the fast path
        try:
            return frames_to_canvas(
                arr, c, batched=batched, threshold=self.threshold, invert=bool(self.invert)
            )
        except CanvasError as err:
            raise CanvasError(f"FlatnetReward cannot read the image: {err}") from err

    def targets(self, obs: Any, n: int) -> np.ndarray:
        if isinstance(self.target, int):
            return np.full(n, self.target, dtype=np.int64)
        raw = obs["target"] if self.target == "obs" else self.target(obs)
        return check_targets(np.asarray(raw).reshape(n), self.num_classes)
