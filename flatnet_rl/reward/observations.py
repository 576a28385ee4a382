"""Where the wrappers find the image and the target in an environment's output.

One :class:`ObservationReader` serves the single-env and the vectorized wrappers, so both
read observations the same way (and the same tests cover both). It turns images into the
classifier's input with the value range the observation space declares (never guessed from
the data), decides inversion once per env (each env of a vector by itself, at its first
image, so a batch gives every env the reward its own wrapper would), and warns once when
the images cannot mean anything to the classifier (colour frames for a grey model, or
nothing but identical, e.g. empty, inputs over the first steps): never a silent constant
reward.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from flatnet_rl.classifier import Classifier
from flatnet_rl.data.frames import (
    check_pixels,
    image_key,
    needs_pixel_check,
    render_value_range,
    space_value_range,
)
from flatnet_rl.data.images import BINARY, CanvasError, ValueRange, has_colour
from flatnet_rl.data.layout import channel_axis
from flatnet_rl.reward.frame_stacks import find_frame_stack, unstacked_space
from flatnet_rl.reward.functions import check_targets
from flatnet_rl.reward.spec import RewardSpec

#: Calls (env steps and resets) watched for a changing input before warning of a constant
#: reward: a vector's reset batch alone holds many identical blank canvases.
WATCH_STEPS = 64


class ImageWarning(UserWarning):
    """The env's images look meaningless to the classifier (a one-time warning)."""


def _is_exact_binary(space: spaces.Space, value_range: ValueRange) -> bool:
    return isinstance(space, spaces.Box) and space.dtype == np.uint8 and value_range == BINARY


class ObservationReader:
    """Extract model inputs and targets from (possibly batched) observations.

    Args:
        observation_space: the single env's observation space.
        classifier: the reward classifier (its input spec and class names).
        spec: the reward spec (``image``, ``target``, ``threshold``, ``invert``,
            ``value_range``).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        classifier: Classifier,
        spec: RewardSpec,
        env: Any = None,
    ) -> None:
        self.classifier = classifier
        self.spec = spec
        self.from_render = spec.image == "render"
        self.key = (
            None
            if self.from_render
            else image_key(unstacked_space(observation_space, env), spec.image)
        )
        box = (
            None
            if self.from_render
            else (observation_space if self.key is None else observation_space[self.key])
        )
        #: The stack the wrapped env builds (``env``: the env or VecEnv under the wrapper).
        self.stack = None if self.from_render else find_frame_stack(env, self.key)
        self.layout = {"layout": spec.layout, "alpha": spec.alpha}
        if spec.frames == "all":
            self.layout = {"layout": self._stack_layout(box, classifier), "alpha": False}
            self.stack = None  # the classifier reads the whole stack
        if box is not None and isinstance(box, spaces.Box):
            shape = box.shape if self.stack is None else self.stack.frame_shape(box.shape)
            stacked = classifier.input_spec.channels
            try:  # a layout that cannot be read is an error now, before any step
                channel_axis(shape, stacked=None if stacked in (1, 3) else stacked, **self.layout)
            except CanvasError as err:
                raise ValueError(f"FlatnetReward cannot read {box}: {err}") from None
        # image="auto" never scores codes as pixels: checked on the first non-blank images.
        self._check_pixels = not self.from_render and needs_pixel_check(
            observation_space, spec.image, self.key
        )
        if spec.value_range is not None:
            self.value_range = spec.value_range
        elif box is None:
            self.value_range = render_value_range()
        else:
            self.value_range = space_value_range(box)
        input_spec = classifier.input_spec
        if spec.threshold is not None:
            if not input_spec.is_binary:
                raise ValueError(
                    f"threshold= applies to binary digit models; {classifier.name!r} takes "
                    "normalized images"
                )
            input_spec = dataclasses.replace(input_spec, threshold=spec.threshold)
        self.input_spec = input_spec
        # Ink polarity is a question for binary digit models only (image models learned
        # their pictures as they are), and an exact binary canvas is read as it is.
        exact = box is not None and _is_exact_binary(box, self.value_range)
        if spec.invert != "auto":
            self.invert: bool | None = bool(spec.invert)
        else:
            self.invert = None if input_spec.is_binary and not exact else False
        # invert="auto": each env's polarity, decided at its first image and then kept (an
        # agent must not flip it by filling the canvas). Envs of a vector may differ.
        # One entry per env index seen: 1 light paper (invert), 0 dark paper, -1 not yet.
        self._env_invert = np.full(0, -1, dtype=np.int8)
        self._num_envs: int | None = None  # rows of the first call (the reset)
        self._checked_colour = False
        self._first: torch.Tensor | None = None
        self._watched = 0
        self.has_target = isinstance(observation_space, spaces.Dict) and (
            "target" in observation_space.spaces
        )
        self.target = self._resolve_target(spec.target)

    def _stack_layout(self, box: spaces.Space | None, classifier: Classifier) -> str:
        """``frames="all"``: the layout of the stack, whose frames the classifier takes as
        its channels (checked now: their number, grey frames, a stack at all)."""
        stack = self.stack
        if stack is None or box is None or not isinstance(box, spaces.Box):
            raise ValueError(
                "frames='all' reads a frame stack, but the env has none (VecFrameStack or "
                "FrameStackObservation under the wrapper); use frames='last'"
            )
        frame = stack.frame_shape(box.shape)
        if stack.new_axis:
            if len(frame) != 2:
                raise ValueError(
                    f"frames='all' stacks grey frames as channels; these frames are {frame}"
                )
            layout, count = "CHW", box.shape[0]
        else:
            if len(box.shape) != 3 or stack.size != 1:
                raise ValueError(
                    f"frames='all' stacks grey frames as channels; these frames are {frame}"
                )
            layout = "CHW" if stack.axis == 0 else "HWC"
            count = box.shape[stack.axis]
        if classifier.input_spec.channels != count:
            raise ValueError(
                f"frames='all' gives {count} frames as channels but classifier "
                f"{classifier.name!r} takes {classifier.input_spec.channels}"
            )
        return layout

    # -- targets --------------------------------------------------------------------------
    def _resolve_target(self, target: Any) -> Any:
        if target is None:
            if not self.has_target:
                raise ValueError(
                    "no target: pass target=<class index or name>, a callable, or use an "
                    "observation with a 'target' entry"
                )
            return "obs"
        if isinstance(target, str) and target == "obs":
            if not self.has_target:
                raise ValueError("target='obs' but the observation space has no 'target'")
            return target
        if callable(target):
            return target
        return self.classifier.class_index(target)

    def targets(self, obs: Any, n: int) -> np.ndarray:
        """Target class per image ``(n,)``; a fixed target must agree with the observation's."""
        if self.target == "obs":
            return check_targets(np.asarray(obs["target"]).reshape(n), self.classifier.num_classes)
        if callable(self.target):
            values = np.asarray(self.target(obs)).reshape(n)
            return check_targets(values, self.classifier.num_classes)
        return np.full(n, self.target, dtype=np.int64)

    def check_fixed_target(self, obs: Any, n: int) -> None:
        """A fixed target and a target carried by the observation must agree (at reset)."""
        if not isinstance(self.target, int) or not self.has_target:
            return
        carried = np.asarray(obs["target"]).reshape(n)
        if np.any(carried != self.target):
            raise ValueError(
                f"the reward is fixed to class {self.target} "
                f"({self.classifier.class_names[self.target]!r}) but the observation asks for "
                f"{sorted(set(carried.tolist()))}: pass target=None (leave out --target) to "
                "reward the observation's target, or make the env with the same fixed target "
                "(--env-kwargs '{\"target\": ...}')"
            )

    # -- images ---------------------------------------------------------------------------
    def image(self, obs: Any, batched: bool) -> Any:
        """The image of one observation or a batch: of a frame stack, the newest frame."""
        image = obs[self.key] if self.key is not None else obs
        return image if self.stack is None else self.stack.last(image, batched)

    def _light(self, images: Any, batched: bool) -> np.ndarray:
        """Per image: mostly light, i.e. dark ink on light paper ``(N,)``."""
        grey = dataclasses.replace(
            self.input_spec, channels=1, threshold=None, mean=None, std=None, any_size=True
        )
        x, _ = grey.prepare(images, value_range=self.value_range, batched=batched, **self.layout)
        return (x.mean(dim=(1, 2, 3)) > 0.5).cpu().numpy()

    def _row_inverts(
        self, images: Any, batched: bool, envs: Sequence[int] | np.ndarray | None
    ) -> np.ndarray:
        """The polarity of every row: its env's, decided at the env's first image.

        Without ``envs``, row ``i`` is env ``i`` for the envs of the first call (the reset:
        one row per env); rows after them (terminal observations a vector wrapper appends)
        take the envs' common polarity, or their own image's when the envs differ. Runs at
        every step: array operations only, the images are measured only when needed.
        """
        n = len(images) if batched else 1
        if envs is None:
            if self._num_envs is None:
                self._num_envs = n
            rows = np.arange(n)
            named = rows < self._num_envs
        else:
            rows = np.asarray(envs, dtype=np.int64).reshape(-1)
            if len(rows) != n:
                raise ValueError(f"envs names {len(rows)} envs for {n} images")
            named = np.ones(n, dtype=bool)
        env_of = rows[named]
        if len(env_of) and env_of.max() >= len(self._env_invert):
            grown = np.full(int(env_of.max()) + 1, -1, dtype=np.int8)
            grown[: len(self._env_invert)] = self._env_invert
            self._env_invert = grown
        undecided = self._env_invert[env_of] < 0
        common = self._common_invert()
        all_named = bool(named.all())
        light = None
        if undecided.any() or (not all_named and common is None):
            light = self._light(images, batched)
        if undecided.any():  # each such env's first row decides
            new_envs, first = np.unique(env_of[undecided], return_index=True)
            self._env_invert[new_envs] = light[np.flatnonzero(named)[undecided][first]]
            common = self._common_invert()
        out = np.empty(n, dtype=bool)
        out[named] = self._env_invert[env_of] == 1
        if not all_named:
            out[~named] = light[~named] if common is None else common
        return out

    def _common_invert(self) -> bool | None:
        """The polarity all decided envs share; None if none is decided or they differ."""
        decided = self._env_invert[self._env_invert >= 0]
        if not len(decided) or decided.min() != decided.max():
            return None
        return bool(decided[0])

    def _describe_invert(self) -> str:
        if self.invert is not None or not (self._env_invert >= 0).any():
            return str(self.invert)
        common = self._common_invert()
        if common is not None:
            return str(common)
        per_env = {i: bool(v) for i, v in enumerate(self._env_invert.tolist()) if v >= 0}
        return f"per env {per_env}"

    def prepare(
        self,
        images: Any,
        *,
        batched: bool,
        envs: Sequence[int] | np.ndarray | None = None,
        steps: int = 1,
    ) -> torch.Tensor:
        """Model input ``(N, C, H, W)`` of one image or a batch.

        ``envs``: the env index of each row of a batch (for the ink polarity, decided per
        env); default: row ``i`` is env ``i`` (see :meth:`_row_inverts`). ``steps``: the env
        steps the batch covers (a rollout scored at once covers many), for the warning about
        a constant input.
        """
        if self._check_pixels:
            where = "the observation" if self.key is None else f"observation[{self.key!r}]"
            self._check_pixels = not check_pixels(images, where)
        try:
            invert = self.invert
            if invert is None:
                invert = self._row_inverts(images, batched, envs)
            if not self._checked_colour and self.input_spec.channels == 1:
                self._warn_if_colour(images, batched)
            x, _ = self.input_spec.prepare(
                images,
                value_range=self.value_range,
                batched=batched,
                resize_to_fit=True,
                invert=invert,
                **self.layout,
            )
        except CanvasError as err:
            raise CanvasError(f"FlatnetReward cannot read the image: {err}") from err
        if self._watched < WATCH_STEPS:
            self._watch(x, steps)
        return x

    def _warn_if_colour(self, images: Any, batched: bool) -> None:
        self._checked_colour = True
        rgb = dataclasses.replace(
            self.input_spec, channels=3, threshold=None, mean=None, std=None, any_size=True
        )
        try:
            x, _ = rgb.prepare(images, value_range=self.value_range, batched=batched, **self.layout)
        except CanvasError:
            return  # grey frames: nothing lost
        if has_colour(x):
            warnings.warn(
                f"FlatnetReward: the env's frames are in colour but classifier "
                f"{self.classifier.name!r} takes grey {self.input_spec.size[0]}x"
                f"{self.input_spec.size[1]} inputs: colour is discarded (red, green and blue "
                "strokes of equal brightness look the same). Use a classifier trained on "
                "colour images (flatnet-rl train-classifier --data ...) if colour matters.",
                ImageWarning,
                stacklevel=4,
            )

    def _watch(self, x: torch.Tensor, steps: int = 1) -> None:
        if self._first is None and len(x):
            self._first = x[0].clone()
        if self._first is None:
            return
        if not bool((x == self._first).all()):
            self._watched = WATCH_STEPS + 1  # something changed: stop watching
            return
        self._watched += steps
        if self._watched >= WATCH_STEPS:
            empty = self.input_spec.is_binary and not bool(self._first.any())
            what = "an empty canvas" if empty else "the same input"
            warnings.warn(
                f"FlatnetReward: every image of the first {self._watched} steps converted to "
                f"{what} for "
                f"classifier {self.classifier.name!r}: the reward is constant. Check invert= "
                f"(now {self._describe_invert()}), threshold= and value_range= "
                f"(now {self.value_range}); "
                "the frames may be too faint or inverted for the classifier.",
                ImageWarning,
                stacklevel=4,
            )
