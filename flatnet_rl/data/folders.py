"""Your own labelled images: an ``ImageFolder`` directory or an ``.npz`` file.

* ``PATH/<class>/<file>.png`` (torchvision's ``ImageFolder`` layout): class names are the
  folder names, in sorted order (numerically when all are integers: ``2`` before ``10``);
  images are read with PIL as they are: EXIF orientation applied, 16-bit grey scaled to 8
  bits, grey folders kept grey (one channel), alpha dropped, modes without a declared range
  (32-bit, float) and decompression bombs refused; hidden files (``.*``, ``._*``) skipped.
* ``PATH.npz`` with ``x`` (``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)``; ``uint8``
  0..255, ``float`` 0..1 or ``bool``), ``y`` (integer labels ``0..K-1``) and optionally
  ``class_names`` (unique, non-empty), ``layout`` (``"HWC"``/``"CHW"``, for shapes such as
  ``(N, 3, 16, 3)``) and ``alpha`` (a fourth channel is alpha; never assumed).

Images are kept as ``(N, H, W, C)`` (``uint8`` where the source is), converted to one grey
channel when ``grey`` is set and resized on read to ``canvas`` when given, else to their
largest side capped at :data:`DEFAULT_MAX_SIDE` unless they share one square size within it
(a note says so; non-square images are squashed). The split is stratified and seeded like
the digit sources.
"""

from __future__ import annotations

import dataclasses
import warnings
import zipfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF

from flatnet_rl.data.images import resize, to_unit
from flatnet_rl.data.labelled import (
    DatasetNotFoundError,
    DataSpec,
    DataSplit,
    stratified_split,
)
from flatnet_rl.data.layout import CanvasError, channel_axis, check_layout, to_nchw
from flatnet_rl.data.resizing import resize_crop

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm")


#: PIL modes read as grey; the others are read as RGB (alpha dropped: a mask, not a colour).
GREY_MODES = ("1", "L", "LA", "I;16", "I;16L", "I;16B", "I;16N")
#: PIL modes whose values have no declared range (32-bit integers, floats): refused.
UNSCALED_MODES = ("I", "F", "I;32", "I;32L", "I;32B")


#: Largest side ``--data`` images get by default (``--image-size`` sets any size): a model's
#: cost grows with its input area, and 256x256 frames at full size ran out of memory. On
#: 1,000 256x256 RGB frames (flatnet architecture, 2 cores shared with two PPO runs) an
#: epoch took 11 s at 32x32 and 56 s at 64x64: at 64 the default 40 epochs took half an hour.
DEFAULT_MAX_SIDE = 32
#: Images converted to floats at once while resizing (bounds the memory of a load).
RESIZE_CHUNK = 256


def default_side(shapes: Sequence[tuple[int, ...]]) -> int | None:
    """The side ``--data`` images are resized to when no size is given: their largest side,
    at most :data:`DEFAULT_MAX_SIDE`; ``None``: keep them (one square size within the cap)."""
    sizes = {tuple(s[:2]) for s in shapes}
    largest = max(max(h, w) for h, w in sizes)
    if len(sizes) == 1 and largest <= DEFAULT_MAX_SIDE and len({*next(iter(sizes))}) == 1:
        return None
    return min(largest, DEFAULT_MAX_SIDE)


def _size_note(
    shapes: Sequence[tuple[int, ...]], side: int, chosen: bool, crop: bool = False
) -> str:
    sizes = Counter(tuple(s[:2]) for s in shapes)
    listed = ", ".join(f"{h}x{w}" for (h, w), _ in sizes.most_common(3))
    how = (
        f"the default, largest side capped at {DEFAULT_MAX_SIDE}; --image-size sets another"
        if chosen
        else "--image-size"
    )
    note = f"images resized on load from {listed} to {side}x{side} ({how})"
    if any(h != w for h, w in sizes) and crop:
        note += (
            "; non-square images keep their aspect ratio: the shortest side scaled, then a "
            "centre crop (--crop), as the reward wrappers crop the env's frames for this model"
        )
    elif any(h != w for h, w in sizes):
        note += (
            "; non-square images are squashed to the square (aspect ratio not kept; --crop "
            "keeps it by a centre crop), as the reward wrappers squash the env's frames for "
            "this model"
        )
    return note


def _target_side(shapes: Sequence[tuple[int, ...]], spec: DataSpec) -> tuple[int | None, list[str]]:
    """The side images are resized to (``None``: as they are) and the note that says so."""
    if spec.canvas is not None:
        resized = any(tuple(s[:2]) != (spec.canvas, spec.canvas) for s in shapes)
        return spec.canvas, [_size_note(shapes, spec.canvas, False, spec.crop)] if resized else []
    side = default_side(shapes)
    return side, [] if side is None else [_size_note(shapes, side, True, spec.crop)]


def class_order(names: Sequence[str]) -> list[str]:
    """Class folders in order: numerically when every name is an integer (``2`` before
    ``10``), else by name."""
    if names and all(n.isdigit() for n in names):
        return sorted(names, key=lambda n: (int(n), n))
    return sorted(names)


def _visible(path: Path) -> bool:
    """Not a hidden file: dotfiles and macOS ``._*`` resource forks are not images."""
    return not path.name.startswith(".")


def _decode(file: Path) -> tuple[np.ndarray, bool]:
    """One image as ``uint8 (H, W, C)`` and whether it is grey: EXIF orientation applied,
    16-bit grey scaled to 8 bits (not clipped), modes without a value range refused.

    Raises:
        ValueError: unreadable, a decompression bomb, or a mode without a value range.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as opened:
                mode = opened.mode
                if mode in UNSCALED_MODES:
                    raise ValueError(
                        f"image {file} has PIL mode {mode!r} (32-bit integer or float "
                        "values) whose range is not declared: save it as 8- or 16-bit PNG"
                    )
                img = ImageOps.exif_transpose(opened)
                if mode.startswith("I;16"):
                    values = np.asarray(img, dtype=np.uint16).astype(np.float64)
                    grey = np.rint(values / 257.0).astype(np.uint8)  # 0..65535 -> 0..255
                    return grey[..., None], True
                if mode in GREY_MODES:
                    return np.array(img.convert("L"), dtype=np.uint8)[..., None], True
                return np.array(img.convert("RGB"), dtype=np.uint8), False
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(f"image {file} is refused as a decompression bomb: {err}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot read image {file}: {err}") from None


def _header_shape(file: Path) -> tuple[int, int]:
    """An image's (height, width) from its header, before any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as img:
                return img.height, img.width
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ValueError(f"image {file} is refused as a decompression bomb: {err}") from None
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"cannot read image {file}: {err}") from None


def _read_folder(
    root: Path, spec: DataSpec
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], list[str]]:
    """Images read one at a time and resized on read: memory holds the resized set only."""
    names = [p.name for p in root.iterdir() if p.is_dir() and _visible(p)]
    classes = class_order(names)
    if len(classes) < 2:
        raise ValueError(
            f"image folder {root} must hold one sub-folder per class (at least 2), "
            f"found {classes or 'none'}"
        )
    files, labels = [], []
    for label, name in enumerate(classes):
        found = sorted(
            f
            for f in (root / name).iterdir()
            if f.suffix.lower() in IMAGE_SUFFIXES and _visible(f) and f.is_file()
        )
        if not found:
            raise ValueError(f"class folder {root / name} holds no images ({IMAGE_SUFFIXES})")
        files += found
        labels += [label] * len(found)
    side, notes = _target_side([_header_shape(f) for f in files], spec)
    sized = dataclasses.replace(spec, canvas=side)
    images = []
    for file in files:
        image, _ = _decode(file)
        images.append(_prepare(image[None], sized, root)[0] if side is not None else image)
    # A folder of grey images trains a grey model; any colour: every image RGB.
    if any(im.shape[-1] == 3 for im in images):
        images = [np.repeat(im, 3, axis=-1) if im.shape[-1] == 1 else im for im in images]
    return np.stack(images), np.asarray(labels, dtype=np.int64), tuple(classes), notes


def _npz_layout(data: Any, path: Path) -> tuple[str | None, bool]:
    """The optional ``layout`` (``"HWC"``/``"CHW"``) and ``alpha`` entries of an ``.npz``."""
    layout = str(data["layout"]) if "layout" in data else None
    alpha = bool(data["alpha"]) if "alpha" in data else False
    try:
        check_layout(layout)
    except CanvasError as err:
        raise ValueError(f"{path}: {err}") from None
    return layout, alpha


def _read_npz(
    path: Path,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...] | None, tuple[str | None, bool]]:
    # np.load takes anything that is not a zip or .npy file for a pickle and, with
    # allow_pickle=False, blames "pickled data": say what the file is not instead.
    with path.open("rb") as handle:  # an unreadable file raises its own PermissionError
        is_archive = zipfile.is_zipfile(handle)
    if not is_archive:
        raise ValueError(
            f"{path} is neither an .npz archive (arrays 'x' and 'y') nor an image folder "
            "(one sub-folder of images per class)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data or "y" not in data:
                raise ValueError(f"{path} must hold arrays 'x' (images) and 'y' (labels)")
            x, y = data["x"], data["y"]
            names = tuple(str(n) for n in data["class_names"]) if "class_names" in data else None
            layout = _npz_layout(data, path)
    except (OSError, EOFError) as err:
        raise ValueError(f"cannot read {path} as an .npz file: {err}") from err
    if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != len(x):
        raise ValueError(
            f"{path}: 'y' must be integer labels of shape ({len(x)},), got {y.dtype} {y.shape}"
        )
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{path}: 'x' must be (N, H, W), (N, H, W, C) or (N, C, H, W), got shape {x.shape}"
        )
    return x, y.astype(np.int64), names, layout


def _npz_class_names(
    labels: np.ndarray, names: tuple[str, ...] | None, path: Path
) -> tuple[str, ...]:
    """The class names of an ``.npz``: its own (unique, non-empty), or ``"0"`` .. ``"K-1"``;
    labels checked against them first (a label of 10**9 builds no 10**9 names)."""
    low = int(labels.min()) if len(labels) else 0
    high = int(labels.max()) if len(labels) else -1
    if names is not None:
        if any(not n.strip() for n in names):
            raise ValueError(f"{path}: class_names must be non-empty, got {list(names)!r:.120}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{path}: class_names must be unique; repeated: {repeated!r:.120}")
        if low < 0 or high >= len(names):
            raise ValueError(
                f"{path}: labels must be in 0..{len(names) - 1} (one per class name), got "
                f"{low}..{high}"
            )
        return names
    if low < 0 or high >= max(len(labels) // 2, 2):
        raise ValueError(
            f"{path}: labels must be class indices 0..K-1 with at least 2 images per class; "
            f"got {low}..{high} for {len(labels)} images"
        )
    return tuple(str(k) for k in range(high + 1))


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    """``(N, C, H, W)`` floats in [0, 1] -> ``uint8 (N, H, W, C)``."""
    return (images * 255.0).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _prepare(
    x: np.ndarray,
    spec: DataSpec,
    source: Path,
    layout: str | None = "HWC",
    alpha: bool = True,
) -> np.ndarray:
    """Grey conversion and resizing as the spec asks; ``(N, H, W, C)`` out.

    ``layout``, ``alpha``: how each image's channels lie (:func:`channel_axis`; a folder's
    decoded images are ``HWC``, an ``.npz`` declares or leaves nothing ambiguous).
    """
    if x.ndim == 3:
        x = x[..., None]
    else:
        try:
            axis = channel_axis(x.shape[1:], layout, alpha)
        except CanvasError as err:
            raise ValueError(f"{source}: 'x' of shape {x.shape}: {err}") from None
        if axis == 0:
            x = np.moveaxis(x, 1, -1)
    needs_work = spec.grey and x.shape[-1] != 1 or x.shape[-1] == 4
    needs_work |= spec.canvas is not None and x.shape[1:3] != (spec.canvas, spec.canvas)
    if not needs_work:
        return x
    try:
        unit = to_unit(torch.from_numpy(np.ascontiguousarray(x)))
        images = to_nchw(unit, batched=True, layout="HWC", alpha=True)
    except CanvasError as err:
        raise ValueError(f"{source}: {err}") from err
    images = images[:, :3]
    if spec.grey and images.shape[1] == 3:
        images = TF.rgb_to_grayscale(images)
    if spec.canvas is not None and spec.crop:
        # InputSpec.prepare's own crop (resize_crop with the "area" default), so a frame
        # the reward wrappers score is resized as the training images were.
        images = resize_crop(images, (spec.canvas, spec.canvas), "area")
    elif spec.canvas is not None:
        images = resize(images, (spec.canvas, spec.canvas))
    return _to_uint8(images)


def load_images(spec: DataSpec) -> DataSplit:
    """Read, convert and split the images at ``spec.path`` (see the module docstring).

    Raises:
        DatasetNotFoundError: ``path`` does not exist.
        ValueError: unreadable files, fewer than 2 classes, inconsistent shapes or labels.
    """
    path = Path(spec.path)
    if not path.exists():
        raise DatasetNotFoundError(f"image data {path} does not exist")
    if path.is_dir():
        x, labels, names, notes = _read_folder(path, spec)
        x = _prepare(x, dataclasses.replace(spec, canvas=None), path)  # grey, RGBA
    else:
        raw, labels, names, (layout, alpha) = _read_npz(path)
        names = _npz_class_names(labels, names, path)  # before any image work
        if raw.ndim == 4:
            try:
                axis = channel_axis(raw.shape[1:], layout, alpha)
            except CanvasError as err:
                raise ValueError(f"{path}: 'x' of shape {raw.shape}: {err}") from None
            sides = raw.shape[2:4] if axis == 0 else raw.shape[1:3]
        else:
            sides = raw.shape[1:3]
        side, notes = _target_side([sides], spec)
        sized = dataclasses.replace(spec, canvas=side)
        # In chunks: float copies of the full-size set never exist at once.
        x = np.concatenate(
            [
                _prepare(raw[i : i + RESIZE_CHUNK], sized, path, layout, alpha)
                for i in range(0, max(len(raw), 1), RESIZE_CHUNK)
            ]
        )
        del raw
        if x.dtype == np.bool_:
            x = x.astype(np.uint8) * np.uint8(255)
    if len(names) < 2:
        raise ValueError(f"{path}: need at least 2 classes, got {len(names)}")
    counts = np.bincount(labels, minlength=len(names))
    if counts.min() < 2:
        raise ValueError(f"{path}: every class needs at least 2 images, got counts {counts}")
    if x.dtype.kind == "f":
        if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
            raise ValueError(f"{path}: float images must lie in [0, 1]")
        x = x.astype(np.float32)
        value_range = (0.0, 1.0)
    elif x.dtype == np.uint8:
        value_range = (0.0, 255.0)
    else:
        raise ValueError(f"{path}: images must be uint8, float or bool, got {x.dtype}")
    split = stratified_split(x, labels, spec, names, value_range)
    return dataclasses.replace(split, notes=(*notes, *split.notes))


def save_image_folder(
    images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], root: str | Path
) -> Path:
    """Write ``uint8`` images ``(N, H, W[, C])`` as PNGs in ``ImageFolder`` layout."""
    from PIL import Image

    root = Path(root)
    for k, name in enumerate(class_names):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in np.flatnonzero(labels == k):
            image = (
                images[i][..., 0] if images[i].ndim == 3 and images[i].shape[-1] == 1 else images[i]
            )
            Image.fromarray(np.asarray(image, dtype=np.uint8)).save(root / name / f"{i:05d}.png")
    return root
