"""Data: labelled images (embedded digits, MNIST 5k, MNIST, your own), outliers, and the one
image conversion every classifier input goes through (:mod:`flatnet_rl.data.images`)."""

from flatnet_rl.data.digits import binarize, load_embedded_digits, load_mnist, load_mnist5k
from flatnet_rl.data.images import (
    BINARY,
    CanvasError,
    InputSpec,
    frames_to_canvas,
    resize,
)
from flatnet_rl.data.labelled import (
    DIGIT_CLASS_NAMES,
    NUM_CLASSES,
    SOURCES,
    DatasetNotFoundError,
    DataSpec,
    DataSplit,
    DigitSplit,
)
from flatnet_rl.data.outliers import (
    FAMILIES,
    IMAGE_FAMILIES,
    TRAIN_FAMILIES,
    families_for,
    make_family,
    make_outliers,
)
from flatnet_rl.data.sources import load_dataset

__all__ = [
    "BINARY",
    "DIGIT_CLASS_NAMES",
    "FAMILIES",
    "IMAGE_FAMILIES",
    "NUM_CLASSES",
    "SOURCES",
    "TRAIN_FAMILIES",
    "CanvasError",
    "DataSpec",
    "DataSplit",
    "DatasetNotFoundError",
    "DigitSplit",
    "InputSpec",
    "binarize",
    "families_for",
    "frames_to_canvas",
    "load_dataset",
    "load_embedded_digits",
    "load_mnist",
    "load_mnist5k",
    "make_family",
    "make_outliers",
    "resize",
]
