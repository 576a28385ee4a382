"""Data: labelled images (embedded digits, MNIST 5k, MNIST, your own), outliers, and the one
image conversion every classifier input goes through (:mod:`flatnet_rl.data.images`).

Names are imported on first use (:mod:`flatnet_rl.util.lazy`): the command line reads
the config dataclasses without torch.
"""

from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.data.digits": (
            "binarize",
            "load_embedded_digits",
            "load_mnist",
            "load_mnist5k",
        ),
        "flatnet_rl.data.images": (
            "BINARY",
            "CanvasError",
            "InputSpec",
            "frames_to_canvas",
            "resize",
        ),
        "flatnet_rl.data.labelled": (
            "DIGIT_CLASS_NAMES",
            "NUM_CLASSES",
            "SOURCES",
            "DatasetNotFoundError",
            "DataSpec",
            "DataSplit",
            "DigitSplit",
        ),
        "flatnet_rl.data.outliers": (
            "FAMILIES",
            "IMAGE_FAMILIES",
            "TRAIN_FAMILIES",
            "families_for",
            "make_family",
            "make_outliers",
        ),
        "flatnet_rl.data.sources": ("load_dataset",),
    },
)
