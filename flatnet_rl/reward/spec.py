"""One validated description of a classifier reward, shared by the three wrappers.

``FlatnetReward``, ``FlatnetRewardVecEnv`` and ``FlatnetRewardVector`` take the same keyword
arguments; each builds a :class:`RewardSpec` from them (or takes one, ``spec=``), so every
option is defined, defaulted and checked in this one place.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from flatnet_rl.data.images import check_value_range
from flatnet_rl.data.layout import LAYOUTS
from flatnet_rl.util.checks import is_int, is_real

MODES = ("prob", "log_prob", "pmi", "delta", "delta_log", "final", "entropy")
#: Modes for CLIP classifiers only, beside :data:`MODES` (VLM-RMs' goal-baseline reward).
CLIP_MODES = ("goal_baseline",)
#: The default ``baseline_alpha`` of the goal-baseline reward (VLM-RMs' middle setting).
GOAL_BASELINE_ALPHA = 0.5
TargetSpec = int | str | Callable[[Any], Any] | None
ImageSpec = str  # "auto", "obs", "render" or a Dict observation key
#: What of a frame stack the classifier sees.
FRAMES = ("last", "all")


@dataclass(frozen=True)
class RewardSpec:
    """How a classifier's opinion of an env's image becomes a reward.

    Attributes:
        target: the class to reward: an index, a class name (``"circle"``), ``"obs"`` (the
            observation's ``"target"`` entry), a callable ``f(obs) -> index`` (batched in
            the vector wrappers: ``-> (N,)``), or ``None``: ``"obs"`` when the observation
            has a target. A fixed target must agree with a target the observation carries
            (checked at every reset: a mismatch is an error, not a reward for the wrong class).
        mode: reward mode, one of :data:`MODES` (see :mod:`flatnet_rl.reward.functions`), or
            for CLIP classifiers ``"goal_baseline"`` (:data:`CLIP_MODES`).
        image: where the image is: ``"auto"`` (a Dict's ``canvas``/``image``/``pixels``/
            ``rgb`` entry, else the observation itself), ``"obs"``, ``"render"``
            (``env.render()`` frames; single env only) or a Dict key.
        env_reward_weight: weight of the wrapped env's own reward added to the learned one.
        gamma: discount of the potential-based modes (``delta``, ``delta_log``); 1 makes an
            episode's return telescope exactly.
        threshold: override the classifier's ink threshold (binary digit models only).
        invert: ``True`` for dark ink on light paper, ``False`` for light on dark, ``"auto"``
            (binary digit models only: decide once from the first image of the env, mostly
            light meaning dark ink; exact binary canvases and image models are not inverted).
        value_range: the ``(low, high)`` the images' values span; default: the observation
            space's bounds (``render`` frames: 0..255).
        device: where the classifier runs (``"auto"``: CUDA when present).
        layout: ``"HWC"`` or ``"CHW"``: the channel axis of the env's frames, for shapes
            where it is ambiguous (``(3, 16, 3)``); ``None``: inferred where unambiguous.
        alpha: the frames' fourth channel is alpha (RGBA); 4 channels are otherwise never
            read as colour. Frame stacks (SB3's ``VecFrameStack``, Gymnasium's
            ``FrameStackObservation``) are found in the wrapped env and read by ``frames``.
        frames: what of a frame stack the classifier sees: ``"last"`` (the newest frame) or
            ``"all"`` (every frame, as channels: a model whose input spec takes that many
            channels; grey frames only).
        baseline, baseline_alpha: mode ``goal_baseline`` (CLIP classifiers only): the
            baseline prompts (e.g. ``("a blank sheet of paper",)``) and the projection
            strength in [0, 1].
    """

    target: TargetSpec = None
    mode: str = "delta"
    image: ImageSpec = "auto"
    env_reward_weight: float = 0.0
    gamma: float = 1.0
    threshold: float | None = None
    invert: bool | Literal["auto"] = "auto"
    value_range: tuple[float, float] | None = None
    device: str = "auto"
    layout: str | None = None
    alpha: bool = False
    frames: str = "last"
    baseline: tuple[str, ...] | None = None
    baseline_alpha: float = GOAL_BASELINE_ALPHA

    def __post_init__(self) -> None:
        if self.mode not in MODES + CLIP_MODES:
            raise ValueError(
                f"unknown reward mode {self.mode!r}; expected one of {MODES + CLIP_MODES}"
            )
        if (self.mode == "goal_baseline") != (self.baseline is not None):
            raise ValueError(
                "reward mode goal_baseline needs baseline=[prompts], and baseline applies to "
                f"mode goal_baseline only (mode {self.mode!r}, baseline {self.baseline!r:.60})"
            )
        if self.baseline is not None:
            if isinstance(self.baseline, str) or not all(
                isinstance(p, str) and p.strip() for p in self.baseline
            ):
                raise ValueError(f"baseline must be a list of prompts, got {self.baseline!r:.60}")
            object.__setattr__(self, "baseline", tuple(self.baseline))
        if not is_real(self.baseline_alpha) or not 0.0 <= self.baseline_alpha <= 1.0:
            raise ValueError(f"baseline_alpha must be in [0, 1], got {self.baseline_alpha!r}")
        if not is_real(self.env_reward_weight) or not math.isfinite(self.env_reward_weight):
            raise ValueError(
                f"env_reward_weight must be a finite number, got {self.env_reward_weight!r}"
            )
        if not is_real(self.gamma) or not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if self.threshold is not None and (
            not is_real(self.threshold) or not 0.0 < self.threshold < 1.0
        ):
            raise ValueError(f"threshold must be None or in (0, 1), got {self.threshold!r}")
        if self.invert not in (True, False, "auto") or isinstance(self.invert, np.bool_):
            raise ValueError(f"invert must be True, False or 'auto', got {self.invert!r}")
        if not isinstance(self.image, str) or not self.image:
            raise ValueError(
                f"image must be 'auto', 'obs', 'render' or a Dict key, got {self.image!r}"
            )
        if self.layout not in (None, *LAYOUTS):
            raise ValueError(f"layout must be None, 'HWC' or 'CHW', got {self.layout!r}")
        if not isinstance(self.alpha, bool):
            raise ValueError(f"alpha must be True or False, got {self.alpha!r}")
        if self.frames not in FRAMES:
            raise ValueError(f"frames must be one of {FRAMES}, got {self.frames!r}")
        if self.value_range is not None:
            object.__setattr__(self, "value_range", check_value_range(self.value_range))
        target = self.target
        if not (target is None or callable(target) or isinstance(target, str) or is_int(target)):
            raise ValueError(
                f"target must be a class index, a class name, 'obs', a callable or None, "
                f"got {target!r}"
            )

    @classmethod
    def from_options(cls, spec: RewardSpec | None, options: dict[str, Any]) -> RewardSpec:
        """``spec`` as is, or a spec from the wrapper's keyword options (not both)."""
        if spec is not None:
            if options:
                raise TypeError(f"pass either spec= or options, not both (got {sorted(options)})")
            if not isinstance(spec, RewardSpec):
                raise TypeError(f"spec must be a RewardSpec, got {type(spec).__name__}")
            return spec
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"unknown reward options {unknown}; expected some of {sorted(known)}")
        return cls(**options)
