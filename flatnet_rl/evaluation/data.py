"""The seeded images every model of a comparison is scored on.

Built once per data set and image size from one ``seed`` (:func:`build_eval_data`), so two
models of the same size see exactly the same images, targets and morph paths:

* the labelled test split of the data (the embedded digits at the model's canvas by default,
  or ``--data``: MNIST 5k, your image folder / ``.npz``);
* outlier families (:data:`EVAL_FAMILIES` for digit canvases: Bernoulli noise at four
  densities, inverted, shuffled, scribble and the held-out blocks; the image families for
  images), each with a random target class per image, the same for every model;
* morph paths (flatnet's protocol) from test images to random ones and back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flatnet_rl.data import DataSpec, DataSplit, load_dataset, make_family
from flatnet_rl.data.images import BINARY, MIN_SIDE, ValueRange
from flatnet_rl.data.outliers import IMAGE_FAMILIES, IMAGE_OUTLIER_RANGE, outlier_format
from flatnet_rl.evaluation.morph import image_morph_paths, morph_paths
from flatnet_rl.util.checks import is_int

#: Densities of the Bernoulli outlier families (each pixel on with this probability).
BERNOULLI_DENSITIES: tuple[float, ...] = (0.05, 0.15, 0.3, 0.5)
#: Outlier families every digit model is scored on, in report order.
EVAL_FAMILIES: tuple[str, ...] = (
    *(f"bernoulli@{d:g}" for d in BERNOULLI_DENSITIES),
    "inverted",
    "shuffled",
    "scribble",
    "blocks",
)
#: ... and every image model.
IMAGE_EVAL_FAMILIES: tuple[str, ...] = IMAGE_FAMILIES
#: Density of the random canvas at the end of a forward morph path (start of a reverse one).
PATH_DENSITY = 0.3
#: Chunks of an image morph path (digit paths flip one pixel per step).
IMAGE_PATH_STEPS = 64

# Random streams derived from the seed: family ``i`` uses stream ``i``; the others are far
# away so adding a family never changes the other draws.
_STREAM_TARGETS = 1000
_STREAM_PATH_DIGITS = 1001
_STREAM_PATH_ENDS = 1002
_STREAM_FORWARD = 1003
_STREAM_REVERSE = 1004


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _int_seed(seed: int, stream: int) -> int:
    """An int seed for APIs that take one (``morph_paths``), derived like :func:`_rng`."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


@dataclass(frozen=True)
class EvalData:
    """The seeded images every model of one data set and size is scored on.

    Attributes:
        data: the data spec the test images came from.
        seed: the seed everything below was drawn from.
        x_test, y_test: test images and labels.
        value_range: the range the images' values span (binary canvases: 0..1).
        class_names: the data's classes.
        outliers: family name -> images ``(n_outliers, ...)``.
        targets: family name -> random target class per outlier image ``(n_outliers,)``.
        path_labels: label of each morph path's start image ``(P,)``.
        forward: morph paths test image -> random image, path ``i`` ``(L_i+1, ...)``.
        reverse: morph paths from the same random image back to the same test image, with
            an independent order.
    """

    data: DataSpec
    seed: int
    x_test: np.ndarray
    y_test: np.ndarray
    value_range: ValueRange
    class_names: tuple[str, ...]
    outliers: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    path_labels: np.ndarray
    forward: list[np.ndarray]
    reverse: list[np.ndarray]

    @property
    def canvas(self) -> int:
        return int(self.x_test.shape[2])

    @property
    def is_binary(self) -> bool:
        return self.x_test.ndim == 3

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(self.outliers)

    @property
    def n_outliers(self) -> int:
        return len(next(iter(self.targets.values())))

    @property
    def n_paths(self) -> int:
        return len(self.forward)

    def outlier_range(self) -> ValueRange:
        """Generated outliers are binary canvases (digits) or ``uint8`` images."""
        return BINARY if self.is_binary else IMAGE_OUTLIER_RANGE


def _check_count(value: int, name: str, minimum: int) -> int:
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _outliers(split: DataSplit, families: tuple[str, ...], n: int, seed: int) -> dict:
    shape, x, _ = outlier_format(split.x_test)  # float images: families are uint8
    out = {}
    for i, family in enumerate(families):
        base, _, density = family.partition("@")
        kwargs: dict[str, Any] = {"density": float(density)} if density else {}
        if base in ("inverted", "shuffled"):
            kwargs["examples"] = x
        out[family] = make_family(base, n, shape, _rng(seed, i), **kwargs)
    return out


def build_eval_data(
    canvas: int | None = None,
    *,
    seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    data: DataSpec | None = None,
) -> EvalData:
    """Draw the evaluation images; deterministic for ``seed``.

    Args:
        canvas: digit canvas side (the embedded digits at that size) when ``data`` is None.
        data: the labelled images to evaluate on (overrides ``canvas``).

    Each outlier family gets its own generator ``default_rng([seed, i])`` (``i`` its index in
    the family list); ``inverted`` and ``shuffled`` are made from the test images, so no
    model saw them in training. Morph-path images are drawn without replacement from the
    test split (with replacement only when ``n_paths`` exceeds its size).
    """
    seed = _check_count(seed, "seed", 0)
    n_outliers = _check_count(n_outliers, "n_outliers", 1)
    n_paths = _check_count(n_paths, "n_paths", 1)
    if data is None:
        data = DataSpec(
            canvas=_check_count(canvas if canvas is not None else 8, "canvas", MIN_SIDE)
        )
    split = load_dataset(data)
    split.tell_notes()
    families = EVAL_FAMILIES if split.is_binary else IMAGE_EVAL_FAMILIES
    outliers = _outliers(split, families, n_outliers, seed)
    # One target draw shared by all models: differences in p_target are the models', not
    # the dice's.
    target_rng = _rng(seed, _STREAM_TARGETS)
    k = split.num_classes
    targets = {f: target_rng.integers(0, k, size=n_outliers) for f in families}

    x_test = split.x_test
    pick = _rng(seed, _STREAM_PATH_DIGITS).choice(
        len(x_test), size=n_paths, replace=n_paths > len(x_test)
    )
    starts = x_test[pick]
    if split.is_binary:
        ends = make_family(
            "bernoulli", n_paths, split.canvas, _rng(seed, _STREAM_PATH_ENDS), density=PATH_DENSITY
        )
        forward = morph_paths(starts, ends, _int_seed(seed, _STREAM_FORWARD))
        reverse = morph_paths(ends, starts, _int_seed(seed, _STREAM_REVERSE))
    else:
        if starts.dtype != np.uint8:
            starts = (starts * 255).round().astype(np.uint8)
        shape = (*split.image_size, split.channels)
        ends = make_family("noise", n_paths, shape, _rng(seed, _STREAM_PATH_ENDS))
        forward = image_morph_paths(
            starts, ends, _int_seed(seed, _STREAM_FORWARD), IMAGE_PATH_STEPS
        )
        reverse = image_morph_paths(
            ends, starts, _int_seed(seed, _STREAM_REVERSE), IMAGE_PATH_STEPS
        )
    value_range = split.value_range if split.is_binary else (0.0, 255.0)
    if not split.is_binary and x_test.dtype != np.uint8:
        x_test = (x_test * 255).round().astype(np.uint8)
    return EvalData(
        data,
        seed,
        x_test,
        split.y_test,
        value_range,
        split.class_names,
        outliers,
        targets,
        split.y_test[pick],
        forward,
        reverse,
    )
