"""Data: binary digit canvases (embedded scikit-learn digits, MNIST) and outlier canvases."""

from flatnet_rl.data.canvas import CanvasError, frames_to_canvas, to_canvas_batch
from flatnet_rl.data.digits import (
    NUM_CLASSES,
    DatasetNotFoundError,
    DataSpec,
    DigitSplit,
    binarize,
    load_dataset,
    load_embedded_digits,
    load_mnist,
)
from flatnet_rl.data.outliers import FAMILIES, TRAIN_FAMILIES, make_family, make_outliers

__all__ = [
    "FAMILIES",
    "NUM_CLASSES",
    "TRAIN_FAMILIES",
    "CanvasError",
    "DataSpec",
    "DatasetNotFoundError",
    "DigitSplit",
    "binarize",
    "load_dataset",
    "load_embedded_digits",
    "load_mnist",
    "make_family",
    "make_outliers",
    "frames_to_canvas",
    "to_canvas_batch",
]
