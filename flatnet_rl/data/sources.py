"""One entry point for every data source: :func:`load_dataset`."""

from __future__ import annotations

from flatnet_rl.data.digits import load_embedded_digits, load_mnist, load_mnist5k
from flatnet_rl.data.folders import load_images
from flatnet_rl.data.labelled import DataSpec, DataSplit


def load_dataset(spec: DataSpec | None = None, *, download: bool = False) -> DataSplit:
    """Load the labelled images a :class:`DataSpec` names."""
    spec = spec or DataSpec()
    if spec.source == "digits":
        return load_embedded_digits(spec)
    if spec.source == "mnist5k":
        return load_mnist5k(spec)
    if spec.source == "mnist":
        return load_mnist(spec, download=download or spec.mnist_download)
    return load_images(spec)
