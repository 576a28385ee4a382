"""The one place where arrays become classifier inputs.

A classifier *declares* what it takes (:class:`InputSpec`, stored in its checkpoint): the
number of channels, the image size, and its preprocessing as data: binary digit models
threshold grey canvases, image models normalize RGB. Anything a user, an environment or a
data set hands to a classifier goes through :meth:`InputSpec.prepare`:

1. **value range**, declared and never guessed from the batch: ``bool`` is binary, ``uint8``
   is 0..255 and floats are 0..1 unless ``value_range`` says otherwise (the reward wrappers
   take it from the observation space's bounds: the paint env's ``uint8`` canvas declares
   0..1); other integer dtypes must state their range. Values outside it, NaN or inf are an
   error. So the same image gives the same input whatever else is in the batch.
2. **layout**: ``(H, W)``, ``(H, W, C)``, ``(C, H, W)`` or a batch of them, with C in
   {1, 3} -> ``(N, C, H, W)``; declared where ambiguous (``layout="CHW"``/``"HWC"``), and
   4 channels only as declared RGBA (``alpha=True``: alpha is dropped), never guessed: a
   stack of 4 grey frames has the same shape (:func:`channel_axis`).
3. **channels**: RGB -> grey (ITU-R 601-2 luma, ``torchvision.transforms.v2``) for one-channel
   models; a grey image given to an RGB model is an error (the colours are not there).
4. **size**: area averaging when shrinking, bilinear when enlarging (:func:`resize`, also what
   the data sets use to make 14x14 or 28x28 canvases). Binary digit models refuse a
   wrong-sized canvas in a direct call (a mismatch is then usually a bug) unless the caller
   asks for resizing, as the reward wrappers do for env frames. Vision-language models
   (CLIP) declare their own resizing instead: ``interpolation="bicubic"`` with ``crop``
   (shortest side to the input size, then a centre crop).
5. optional **inversion** (dark ink on light paper; the wrappers decide it once per env),
   then **threshold** (binary models) or **normalize** (image models).

An RGB model that declares ``canvas_ink`` also takes one-channel canvases (ink = 1): they are
upscaled by nearest neighbour (bicubic blurs 1-px strokes), drawn as dark ink on white paper
(``"dark"``, how drawings look in CLIP's training pictures) or as they are (``"light"``), and
repeated to three channels, before the model's normalization.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF

from flatnet_rl.data.layout import CanvasError, to_nchw  # noqa: F401 (re-exported)

# Re-exported: the rest of the package imports these from here, the one conversion module.
from flatnet_rl.data.resizing import resize, resize_crop
from flatnet_rl.data.values import (
    BINARY,
    ArrayLike,
    ValueRange,
    _as_tensor,
    check_value_range,
    to_unit,
)
from flatnet_rl.util.checks import is_int

#: Smallest image side any model accepts (3x3 convolutions on a 4x4 canvas still see it).
MIN_SIDE = 4
#: Most stacked frames a model may take as channels.
MAX_STACKED = 64
MAX_SIDE = 1024
_LAYOUT_CHANNELS = (1, 3, 4)  # grey, RGB, RGBA
#: How an image is resized to the model input: ``area`` (area when shrinking, bilinear when
#: enlarging; the digit models and data sets) or ``bicubic`` (CLIP's own preprocessing).
INTERPOLATIONS = ("area", "bicubic")
#: How a one-channel canvas is shown to an RGB model (``canvas_ink``): dark or light ink.
CANVAS_INKS = ("dark", "light")


def has_colour(images: torch.Tensor, tolerance: float = 2 / 255) -> bool:
    """Whether ``(N, C, H, W)`` images in [0, 1] hold colour (channels that differ)."""
    if images.shape[1] < 3 or images.numel() == 0:
        return False
    rgb = images[:, :3]
    return bool((rgb.amax(dim=1) - rgb.amin(dim=1)).max() > tolerance)


@dataclass(frozen=True)
class InputSpec:
    """What a classifier takes, and how any image is turned into it.

    Stored in every checkpoint (``metadata["input"]``), so a model carries its own
    preprocessing. Build one with :meth:`binary` (digit canvases) or :meth:`image`.

    Attributes:
        channels: 1 (grey) or 3 (RGB) input channels; any other count (up to
            :data:`MAX_STACKED`) is a stack of frames taken as channels, as they are (a
            model for the reward wrappers' ``frames="all"``).
        size: ``(height, width)`` of the model input.
        threshold: binary models: a pixel at or above it becomes ink (1), else 0.
        mean, std: image models: per-channel normalization ``(x - mean) / std`` after resizing.
        any_size: accept any image size in direct calls (resized); ``False`` for digit
            canvases, whose size must match unless the caller passes ``resize=True``.
        interpolation: ``"area"`` (default) or ``"bicubic"`` (see :data:`INTERPOLATIONS`).
        crop: resize the shortest side, then centre-crop (CLIP); else resize to the size.
        canvas_ink: RGB models only: take one-channel canvases, drawn with ``"dark"`` ink
            on white paper or ``"light"`` ink as they are (``None``: refuse grey images).
    """

    channels: int = 1
    size: tuple[int, int] = (8, 8)
    threshold: float | None = 0.5
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    any_size: bool = False
    interpolation: str = "area"
    crop: bool = False
    canvas_ink: str | None = None

    def __post_init__(self) -> None:
        if not is_int(self.channels) or not 1 <= self.channels <= MAX_STACKED:
            raise ValueError(
                f"channels must be 1 (grey), 3 (RGB) or up to {MAX_STACKED} stacked frames, "
                f"got {self.channels!r}"
            )
        if self.channels not in (1, 3) and self.threshold is not None:
            raise ValueError("a binary (thresholded) input has one channel")
        size = tuple(self.size) if isinstance(self.size, Sequence) else ()
        if len(size) != 2 or not all(is_int(s) for s in size):
            raise ValueError(f"size must be (height, width) integers, got {self.size!r}")
        if not all(MIN_SIDE <= s <= MAX_SIDE for s in size):
            raise ValueError(f"image sides must be in {MIN_SIDE}..{MAX_SIDE}, got {self.size!r}")
        object.__setattr__(self, "size", (int(size[0]), int(size[1])))
        if self.threshold is not None and not (
            isinstance(self.threshold, int | float) and 0.0 < self.threshold < 1.0
        ):
            raise ValueError(f"threshold must be None or in (0, 1), got {self.threshold!r}")
        if (self.mean is None) != (self.std is None):
            raise ValueError("mean and std must be given together")
        if self.mean is not None:
            if self.threshold is not None:
                raise ValueError("a binary (thresholded) input cannot also be normalized")
            mean, std = tuple(map(float, self.mean)), tuple(map(float, self.std))
            if len(mean) != self.channels or len(std) != self.channels:
                raise ValueError(f"mean and std need {self.channels} values each")
            if not all(math.isfinite(v) for v in mean) or not all(
                math.isfinite(s) and s > 0 for s in std
            ):
                raise ValueError(f"mean must be finite and std > 0, got {mean}, {std}")
            object.__setattr__(self, "mean", mean)
            object.__setattr__(self, "std", std)
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"interpolation must be one of {INTERPOLATIONS}, got {self.interpolation!r}"
            )
        if not isinstance(self.crop, bool):
            raise ValueError(f"crop must be a bool, got {self.crop!r}")
        if self.canvas_ink is not None and (
            self.canvas_ink not in CANVAS_INKS or self.channels != 3
        ):
            raise ValueError(
                f"canvas_ink must be None or one of {CANVAS_INKS} (RGB models only), got "
                f"{self.canvas_ink!r} for {self.channels} channel(s)"
            )

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def binary(cls, canvas: int | tuple[int, int], threshold: float = 0.5) -> InputSpec:
        """A digit-canvas model: grey, thresholded, strict about the canvas size."""
        size = (canvas, canvas) if isinstance(canvas, int | np.integer) else canvas
        return cls(channels=1, size=tuple(size), threshold=threshold, any_size=False)

    @classmethod
    def image(
        cls,
        size: int | tuple[int, int],
        channels: int = 3,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
        *,
        interpolation: str = "area",
        crop: bool = False,
        canvas_ink: str | None = None,
    ) -> InputSpec:
        """An image model: grey or RGB, any input size (resized), optionally normalized."""
        size = (size, size) if isinstance(size, int | np.integer) else size
        return cls(
            channels=channels,
            size=tuple(size),
            threshold=None,
            mean=None if mean is None else tuple(mean),
            std=None if std is None else tuple(std),
            any_size=True,
            interpolation=interpolation,
            crop=crop,
            canvas_ink=canvas_ink,
        )

    # -- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        values = {
            "channels": self.channels,
            "size": list(self.size),
            "threshold": self.threshold,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
            "any_size": self.any_size,
        }
        # Written only when set, so the specs (and checkpoint bytes) of earlier models stay.
        for key, default in (("interpolation", "area"), ("crop", False), ("canvas_ink", None)):
            if getattr(self, key) != default:
                values[key] = getattr(self, key)
        values["steps"] = self.steps()
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> InputSpec:
        """Inverse of :meth:`to_dict` (``steps`` is derived, so it is ignored)."""
        if not isinstance(values, dict):
            raise ValueError(f"input spec must be a mapping, got {type(values).__name__}")
        known = {"channels", "size", "threshold", "mean", "std", "any_size"}
        known |= {"interpolation", "crop", "canvas_ink"}
        unknown = set(values) - known - {"steps"}
        if unknown:
            raise ValueError(f"unknown input spec fields {sorted(unknown)}")
        kwargs = {k: values[k] for k in known if k in values}
        if "size" in kwargs and isinstance(kwargs["size"], list):
            kwargs["size"] = tuple(kwargs["size"])
        return cls(**kwargs)

    @property
    def is_binary(self) -> bool:
        return self.threshold is not None

    @property
    def square_side(self) -> int | None:
        """The side of a square input (``None`` when height != width)."""
        return self.size[0] if self.size[0] == self.size[1] else None

    def steps(self) -> list[str]:
        """The preprocessing, in order, as readable data (stored in checkpoints)."""
        steps = ["to [0, 1] by the declared value range", "drop alpha"]
        if self.channels == 1:
            steps.append("RGB -> grey")
        elif self.channels != 3:
            steps.append(f"{self.channels} stacked frames as channels, as they are")
        elif self.canvas_ink is None:
            steps.append("grey refused (needs RGB)")
        else:
            steps.append(
                f"one-channel canvases: nearest upscale, {self.canvas_ink} ink on "
                f"{'white' if self.canvas_ink == 'dark' else 'black'} paper, 3 channels"
            )
        how = "any size" if self.any_size else "size must match unless resize_to_fit"
        kind = "bicubic" if self.interpolation == "bicubic" else "area/bilinear"
        crop = ", shortest side then centre crop" if self.crop else ""
        steps.append(f"resize to {self.size[0]}x{self.size[1]} ({kind}{crop}; {how})")
        if self.threshold is not None:
            steps.append(f"threshold >= {self.threshold:g} -> 1")
        if self.mean is not None:
            steps.append(f"normalize mean={list(self.mean)} std={list(self.std)}")
        return steps

    # -- conversion -----------------------------------------------------------------------
    def is_batch(self, t: torch.Tensor) -> bool:
        """Whether an input without an explicit ``batched`` flag is a batch.

        ``(H, W)`` is one image, 4-d arrays are batches; a 3-d array is a batch of grey images
        for one-channel models and one colour image for RGB models.
        """
        if t.ndim == 3:
            return self.channels == 1 and t.shape[-1] not in (3, 4)
        return t.ndim == 4

    def prepare(
        self,
        images: Any,
        *,
        value_range: Any = None,
        batched: bool | None = None,
        resize_to_fit: bool | None = None,
        invert: bool | Sequence[bool] | np.ndarray = False,
        layout: str | None = None,
        alpha: bool = False,
    ) -> tuple[torch.Tensor, bool]:
        """Convert images to model input ``(N, C, H, W)`` float32 (on the input's device).

        Args:
            images: numpy or torch, one image or a batch (see the module docstring).
            value_range: ``(low, high)`` the values span; default by dtype (bool binary,
                uint8 0..255, floats 0..1).
            batched: whether ``images`` has a leading batch axis (default: :meth:`is_batch`).
            resize_to_fit: resize a wrong-sized image (default: :attr:`any_size`).
            invert: flip grey levels (``1 - x``) before thresholding/normalizing: one bool
                for every image, or one per image (the vector wrappers' envs may differ).
            layout: ``"HWC"`` or ``"CHW"`` for shapes whose channel axis is ambiguous
                (:func:`channel_axis`); ``None`` infers it where only one axis can be it.
            alpha: a fourth channel is alpha (dropped); otherwise 4 channels are refused
                (a stack of 4 grey frames has the same shape).

        Returns:
            ``(batch, single)``: the model input and whether one image was given.

        Raises:
            CanvasError: unreadable dtype, shape or channels, NaN/inf, values outside the
                declared range, or a wrong size where resizing is not allowed.
        """
        t = _as_tensor(images)
        single = not (self.is_batch(t) if batched is None else batched)
        stacked = None if self.channels in (1, 3) else self.channels
        x = to_nchw(
            to_unit(t, value_range), batched=not single, layout=layout, alpha=alpha, stacked=stacked
        )
        if x.shape[1] == 4 and alpha:
            x = x[:, :3]  # declared alpha does not change what is drawn
        canvas = False  # a one-channel canvas drawn for an RGB model (canvas_ink)
        if x.shape[1] != self.channels:
            if self.channels == 1 and x.shape[1] == 3:
                x = TF.rgb_to_grayscale(x)
            elif x.shape[1] == 1 and self.canvas_ink is not None:
                canvas = True
            else:
                raise CanvasError(
                    f"the classifier takes {self.channels}-channel images, got "
                    f"{x.shape[1]}-channel images of shape {tuple(t.shape)}"
                )
        if tuple(x.shape[-2:]) != self.size:
            fit = self.any_size if resize_to_fit is None else resize_to_fit
            if not fit:
                raise CanvasError(
                    f"expected images of size {self.size[0]}x{self.size[1]} (shape (H, W) or "
                    f"(N, H, W) with H, W = {self.size}), got shape {tuple(t.shape)}; pass "
                    "resize_to_fit=True to resize, or use a classifier trained for this size"
                )
            if canvas or self.crop or self.interpolation != "area":
                x = resize_crop(x.float(), self.size, "nearest" if canvas else self.interpolation)
            else:
                x = resize(x.float(), self.size)
        if np.ndim(invert) == 0:  # one flag for all: no tensor built on the per-step path
            if bool(invert):
                x = 1.0 - x
        else:
            flip = torch.as_tensor(np.asarray(invert, dtype=bool), device=x.device)
            if flip.shape != (len(x),):
                raise CanvasError(f"invert has {flip.numel()} values for {len(x)} images")
            x = torch.where(flip.view(-1, 1, 1, 1), 1.0 - x, x)
        if canvas:
            x = (1.0 - x if self.canvas_ink == "dark" else x).expand(-1, 3, -1, -1)
        if self.threshold is not None:
            x = (x >= self.threshold).to(torch.float32)
        elif self.mean is not None:
            x = TF.normalize(x, list(self.mean), list(self.std))
        return x, single


def frames_to_canvas(
    frames: ArrayLike,
    canvas: int,
    *,
    batched: bool,
    threshold: float = 0.5,
    invert: bool | str = "auto",
    value_range: Any = None,
    layout: str | None = None,
    alpha: bool = False,
) -> np.ndarray:
    """Binary canvases ``uint8 (N, canvas, canvas)`` from images of any size and layout
    (``layout``, ``alpha``: as :meth:`InputSpec.prepare`).

    ``invert``: ``True`` for dark ink on light paper, ``False`` for light ink on dark,
    ``"auto"`` to decide per image (a mostly light image is taken as dark-on-light). The
    reward wrappers decide once per env instead, so an agent cannot flip the decision.
    """
    spec = InputSpec.binary(canvas, threshold)
    if invert == "auto":
        grey, _ = InputSpec.image(canvas, channels=1).prepare(
            frames, value_range=value_range, batched=batched, layout=layout, alpha=alpha
        )
        light = grey.mean(dim=(1, 2, 3), keepdim=True) > 0.5
        out = (torch.where(light, 1.0 - grey, grey) >= threshold).to(torch.uint8)
        return out[:, 0].cpu().numpy()
    x, _ = spec.prepare(
        frames,
        value_range=value_range,
        batched=batched,
        resize_to_fit=True,
        invert=bool(invert),
        layout=layout,
        alpha=alpha,
    )
    return x[:, 0].to(torch.uint8).cpu().numpy()


__all__ = [
    "BINARY",
    "CANVAS_INKS",
    "INTERPOLATIONS",
    "ArrayLike",
    "CanvasError",
    "InputSpec",
    "ValueRange",
    "check_value_range",
    "frames_to_canvas",
    "has_colour",
    "resize",
    "resize_crop",
    "to_nchw",
    "to_unit",
]
