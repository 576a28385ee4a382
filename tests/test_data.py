"""Data: embedded digits, MNIST 5k, MNIST loading (fake IDX files), image folders, outlier
families, and the one image conversion (declared value ranges, layouts, resizing)."""

from __future__ import annotations

import struct
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flatnet_rl.data import (
    FAMILIES,
    NUM_CLASSES,
    TRAIN_FAMILIES,
    CanvasError,
    DatasetNotFoundError,
    DataSpec,
    binarize,
    frames_to_canvas,
    load_dataset,
    load_embedded_digits,
    load_mnist,
    make_family,
    make_outliers,
)
from flatnet_rl.data.images import InputSpec
from flatnet_rl.data.labelled import MNIST_FILES


def _is_binary_uint8(a: np.ndarray) -> bool:
    return a.dtype == np.uint8 and set(np.unique(a).tolist()) <= {0, 1}


@pytest.fixture(scope="module")
def digits8():
    return load_embedded_digits(DataSpec())


# --------------------------------------------------------------------------------------
# embedded digits
# --------------------------------------------------------------------------------------
def test_embedded_digits_shapes_dtype_values(digits8):
    d = digits8
    assert d.x_train.ndim == 3 and d.x_train.shape[1:] == (8, 8)
    assert d.x_test.shape[1:] == (8, 8)
    assert _is_binary_uint8(d.x_train) and _is_binary_uint8(d.x_test)
    assert len(d.x_train) == len(d.y_train) and len(d.x_test) == len(d.y_test)
    assert len(d.x_train) + len(d.x_test) == 1797
    assert d.y_train.dtype == np.int64
    assert set(d.y_train.tolist()) == set(range(NUM_CLASSES))
    assert d.canvas == 8
    # both values actually occur: not an all-blank or all-ink artefact
    assert 0.1 < d.x_train.mean() < 0.7


def test_embedded_digits_split_is_stratified(digits8):
    # sklearn's digits are not perfectly balanced (class 8 has 174 images, others ~180), so
    # stratification means: each class's test count is its share of that class, within 1.
    test_counts = np.bincount(digits8.y_test, minlength=NUM_CLASSES)
    all_counts = test_counts + np.bincount(digits8.y_train, minlength=NUM_CLASSES)
    assert np.abs(test_counts - 0.25 * all_counts).max() <= 1
    assert test_counts.max() - test_counts.min() <= 3
    assert abs(len(digits8.x_test) - 0.25 * 1797) <= 1


def test_embedded_digits_split_deterministic_per_seed(digits8):
    again = load_embedded_digits(DataSpec(split_seed=0))
    np.testing.assert_array_equal(again.x_test, digits8.x_test)
    np.testing.assert_array_equal(again.y_test, digits8.y_test)
    other = load_embedded_digits(DataSpec(split_seed=1))
    assert other.x_test.shape == digits8.x_test.shape
    assert not np.array_equal(other.x_test, digits8.x_test)


def test_load_dataset_defaults_to_embedded(digits8):
    d = load_dataset()
    np.testing.assert_array_equal(d.x_train, digits8.x_train)


@pytest.mark.parametrize("canvas", [16, 28])
def test_embedded_digits_other_canvas_sizes_stay_binary(canvas, digits8):
    d = load_embedded_digits(DataSpec(canvas=canvas))
    assert d.x_train.shape[1:] == (canvas, canvas)
    assert d.canvas == canvas
    assert _is_binary_uint8(d.x_train) and _is_binary_uint8(d.x_test)
    # same split, same labels, only the resolution differs
    np.testing.assert_array_equal(d.y_test, digits8.y_test)
    assert d.x_train.sum(axis=(1, 2)).min() > 0


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"source": "emnist"}, "source"),
        ({"canvas": 3}, "canvas"),
        ({"canvas": 1025}, "canvas"),
        ({"canvas": 8.5}, "canvas"),
        ({"source": "images"}, "path"),
        ({"source": "digits", "path": "x"}, "path"),
        ({"test_fraction": 0.0}, "test_fraction"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": 1.0}, "threshold"),
    ],
)
def test_dataspec_validation(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DataSpec(**kwargs)


def test_dataspec_dict_round_trip_and_unknown_fields():
    spec = DataSpec(canvas=16, split_seed=3)
    assert DataSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="unknown data spec fields"):
        DataSpec.from_dict({**spec.to_dict(), "bogus": 1})


def test_binarize_threshold_and_resize():
    gray = np.array([[[0.0, 0.2], [0.5, 1.0]]], dtype=np.float32)
    out = binarize(gray, 2, threshold=0.5)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, [[[0, 0], [1, 1]]])
    # downscale by area averaging: a 4x4 block with 3/4 ink in the top-left quadrant
    big = np.zeros((1, 4, 4), np.float32)
    big[0, 0, 0] = big[0, 0, 1] = big[0, 1, 0] = 1.0
    np.testing.assert_array_equal(binarize(big, 2, 0.5), [[[1, 0], [0, 0]]])
    np.testing.assert_array_equal(binarize(big, 2, 0.8), [[[0, 0], [0, 0]]])
    # upscale stays binary; torch input accepted
    up = binarize(torch.rand(3, 8, 8), 20, 0.5)
    assert up.shape == (3, 20, 20) and _is_binary_uint8(up)


# --------------------------------------------------------------------------------------
# MNIST with fake IDX files
# --------------------------------------------------------------------------------------
def _write_idx(path: Path, array: np.ndarray) -> None:
    magic = 0x0800 | array.ndim  # 0x08 = unsigned byte
    with open(path, "wb") as fh:
        fh.write(struct.pack(">I", magic))
        fh.write(struct.pack(f">{array.ndim}I", *array.shape))
        fh.write(array.astype(np.uint8).tobytes())


def _fake_mnist(root: Path, n_train: int = 20, n_test: int = 10) -> tuple[np.ndarray, ...]:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def images(n: int) -> np.ndarray:
        out = np.zeros((n, 28, 28), np.uint8)
        for i in range(n):
            col = rng.integers(4, 18)
            out[i, 4:24, col : col + 6] = 255  # a thick vertical stroke
            out[i, 0, 0] = 40  # faint noise that must not survive binarization
        return out

    x_train, x_test = images(n_train), images(n_test)
    y_train = (np.arange(n_train) % 10).astype(np.uint8)
    y_test = (np.arange(n_test) % 10).astype(np.uint8)
    _write_idx(raw / "train-images-idx3-ubyte", x_train)
    _write_idx(raw / "train-labels-idx1-ubyte", y_train)
    _write_idx(raw / "t10k-images-idx3-ubyte", x_test)
    _write_idx(raw / "t10k-labels-idx1-ubyte", y_test)
    return x_train, y_train, x_test, y_test


def test_idx_header_format(tmp_path):
    _fake_mnist(tmp_path)
    raw = tmp_path / "MNIST" / "raw"
    head = (raw / "train-images-idx3-ubyte").read_bytes()[:16]
    assert struct.unpack(">4I", head) == (0x00000803, 20, 28, 28)
    head = (raw / "t10k-labels-idx1-ubyte").read_bytes()[:8]
    assert struct.unpack(">2I", head) == (0x00000801, 10)


def test_load_mnist_resizes_and_binarizes(tmp_path):
    x_train, y_train, x_test, y_test = _fake_mnist(tmp_path)
    spec = DataSpec(source="mnist", canvas=8, mnist_root=str(tmp_path))
    d = load_mnist(spec)
    assert d.x_train.shape == (20, 8, 8) and d.x_test.shape == (10, 8, 8)
    assert _is_binary_uint8(d.x_train) and _is_binary_uint8(d.x_test)
    np.testing.assert_array_equal(d.y_train, y_train.astype(np.int64))
    np.testing.assert_array_equal(d.y_test, y_test.astype(np.int64))
    assert d.y_train.dtype == np.int64
    # the stroke survives as ink, the faint corner pixel does not
    assert (d.x_train.sum(axis=(1, 2)) > 0).all()
    assert (d.x_train[:, 0, 0] == 0).all()
    expected = binarize(x_train.astype(np.float32) / 255.0, 8, spec.threshold)
    np.testing.assert_array_equal(d.x_train, expected)
    # load_dataset dispatches to MNIST; mnist_limit keeps the first training images
    limited_spec = DataSpec(source="mnist", canvas=8, mnist_root=str(tmp_path), mnist_limit=5)
    limited = load_dataset(limited_spec)
    assert limited.x_train.shape == (5, 8, 8) and limited.x_test.shape == (10, 8, 8)
    np.testing.assert_array_equal(limited.x_train, d.x_train[:5])


def test_load_mnist_missing_files_names_folder(tmp_path):
    spec = DataSpec(source="mnist", canvas=8, mnist_root=str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(spec)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    for name in MNIST_FILES:
        assert name in message
    assert isinstance(info.value, FileNotFoundError)


def test_load_mnist_download_offline_raises_dataset_not_found(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    calls = []

    def offline(self):
        calls.append(self.train)
        raise URLError("no network in tests")

    monkeypatch.setattr(MNIST, "download", offline)
    spec = DataSpec(source="mnist", canvas=8, mnist_root=str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(spec, download=True)
    assert calls, "download was not attempted"
    assert str(tmp_path / "MNIST" / "raw") in str(info.value)
    assert "download failed" in str(info.value)


def test_load_mnist_download_offline_through_torchvision_mirrors(tmp_path, monkeypatch):
    """The real MNIST.download loop (mirrors, retries) with the network call failing."""
    import torchvision.datasets.mnist as tv_mnist

    def no_network(*args, **kwargs):
        raise URLError("no network in tests")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", no_network)
    spec = DataSpec(source="mnist", canvas=8, mnist_root=str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match="MNIST"):
        load_dataset(spec, download=True)


# --------------------------------------------------------------------------------------
# outliers
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("canvas", [8, 16])
def test_every_family_is_binary_uint8(family, canvas):
    digits = (
        load_embedded_digits(DataSpec(canvas=canvas)).x_train
        if family in ("inverted", "shuffled")
        else None
    )
    out = make_family(family, 25, canvas, np.random.default_rng(0), examples=digits)
    assert out.shape == (25, canvas, canvas)
    assert _is_binary_uint8(out)
    if family != "inverted":
        assert out.sum() > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_family_deterministic_per_seed(family, digits8):
    a = make_family(family, 30, 8, np.random.default_rng(5), examples=digits8.x_train)
    b = make_family(family, 30, 8, np.random.default_rng(5), examples=digits8.x_train)
    c = make_family(family, 30, 8, np.random.default_rng(6), examples=digits8.x_train)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bernoulli_density():
    fixed = make_family("bernoulli", 400, 8, np.random.default_rng(0), density=0.2)
    assert abs(fixed.mean() - 0.2) < 0.01
    low, high = 0.1, 0.3
    ranged = make_family("bernoulli", 400, 16, np.random.default_rng(1), density=(low, high))
    per_image = ranged.mean(axis=(1, 2))
    assert low - 0.05 < per_image.min() and per_image.max() < high + 0.05
    assert low <= ranged.mean() <= high
    assert abs(ranged.mean() - 0.2) < 0.02
    assert make_family("bernoulli", 5, 8, np.random.default_rng(0), density=0.0).sum() == 0
    assert make_family("bernoulli", 5, 8, np.random.default_rng(0), density=1.0).all()
    for bad in (-0.1, 1.5, (0.4, 0.2)):
        with pytest.raises(ValueError, match="density"):
            make_family("bernoulli", 5, 8, np.random.default_rng(0), density=bad)


def test_inverted_is_one_minus_a_digit(digits8):
    pool = digits8.x_train[:50]
    out = make_family("inverted", 20, 8, np.random.default_rng(0), examples=pool)
    flat_pool = {p.tobytes() for p in (1 - pool).astype(np.uint8)}
    for image in out:
        assert image.tobytes() in flat_pool


def test_shuffled_preserves_ink_count_of_a_digit(digits8):
    pool = digits8.x_train[:3]
    assert len({int(p.sum()) for p in pool}) == 3  # distinguishable by ink
    out = make_family("shuffled", 30, 8, np.random.default_rng(0), examples=pool)
    ink = {int(p.sum()) for p in pool}
    assert all(int(image.sum()) in ink for image in out)
    # shapes are destroyed: (almost) no output equals its source digit
    sources = {p.tobytes() for p in pool}
    assert sum(image.tobytes() in sources for image in out) <= 1


def test_outlier_errors(digits8):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="unknown outlier family"):
        make_family("gaussian", 5, 8, rng)
    for family in ("inverted", "shuffled"):
        with pytest.raises(ValueError, match="examples"):
            make_family(family, 5, 8, rng)
        with pytest.raises(ValueError, match="examples"):
            make_family(family, 5, 8, rng, examples=np.zeros((0, 8, 8), np.uint8))
        with pytest.raises(ValueError, match="shape"):
            make_family(family, 5, 16, rng, examples=digits8.x_train)
    with pytest.raises(ValueError):
        make_outliers(-1, 8, seed=0, examples=digits8.x_train)
    with pytest.raises(ValueError):
        make_outliers(10, 8, seed=0, families=(), examples=digits8.x_train)
    with pytest.raises(ValueError, match="unknown outlier family"):
        make_outliers(10, 8, seed=0, families=("bernoulli", "nope"))


def test_make_outliers_splits_counts_across_families(digits8, monkeypatch):
    import flatnet_rl.data.outliers as outliers_mod

    seen: dict[str, int] = {}
    real = outliers_mod.make_family

    def spy(family, n, *args, **kwargs):
        seen[family] = n
        return real(family, n, *args, **kwargs)

    monkeypatch.setattr(outliers_mod, "make_family", spy)
    out = make_outliers(10, 8, seed=0, examples=digits8.x_train)
    assert out.shape == (10, 8, 8) and _is_binary_uint8(out)
    assert set(seen) == set(TRAIN_FAMILIES)
    assert sorted(seen.values(), reverse=True) == [3, 3, 2, 2]
    assert sum(seen.values()) == 10


def test_make_outliers_determinism_and_zero(digits8):
    a = make_outliers(40, 8, seed=3, examples=digits8.x_train)
    b = make_outliers(40, 8, seed=3, examples=digits8.x_train)
    c = make_outliers(40, 8, seed=4, examples=digits8.x_train)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    empty = make_outliers(0, 8, seed=0, examples=digits8.x_train)
    assert empty.shape == (0, 8, 8) and empty.dtype == np.uint8
    solo = make_outliers(7, 8, seed=0, families=("blocks",))
    assert solo.shape == (7, 8, 8) and _is_binary_uint8(solo)


# --------------------------------------------------------------------------------------
# InputSpec.prepare: declared value ranges, never guessed from the batch
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pattern():
    return np.random.default_rng(0).random((3, 8, 8)) < 0.4


BINARY8 = InputSpec.binary(8)


def _prepare(x, **kwargs):
    return BINARY8.prepare(x, **kwargs)


def test_declared_ranges_of_every_dtype_agree(pattern):
    reference, single = _prepare(pattern)
    assert not single
    assert reference.shape == (3, 1, 8, 8) and reference.dtype == torch.float32
    variants = [
        (pattern.astype(np.int64), (0, 1)),
        (pattern.astype(np.uint8), (0, 1)),
        (pattern.astype(np.uint8) * 255, None),  # uint8 means 0..255
        (pattern.astype(np.float32), None),
        (pattern.astype(np.float64), None),
        (torch.from_numpy(pattern), None),
        (torch.from_numpy(pattern.astype(np.int64)), (0, 1)),
        (torch.from_numpy(pattern.astype(np.uint8) * 255), None),
        (torch.from_numpy(pattern.astype(np.float32)), None),
        (pattern.astype(int).tolist(), (0, 1)),
        (pattern.astype(np.uint16) * 1000, (0, 1000)),
    ]
    for variant, value_range in variants:
        batch, _ = _prepare(variant, value_range=value_range)
        torch.testing.assert_close(batch, reference, rtol=0, atol=0)


def test_uint8_is_0_to_255_unless_declared(pattern):
    """A 0/1 uint8 canvas is near-black under the uint8 convention: it must be declared."""
    near_black, _ = _prepare(pattern.astype(np.uint8))
    assert not near_black.any()
    declared, _ = _prepare(pattern.astype(np.uint8), value_range=(0, 1))
    assert declared.sum() == pattern.sum()


def test_single_vs_batch(pattern):
    one, single = _prepare(pattern[0])
    assert single and one.shape == (1, 1, 8, 8)
    many, _ = _prepare(pattern)
    torch.testing.assert_close(one[0], many[0])
    empty, single = _prepare(np.zeros((0, 8, 8), bool), batched=True)
    assert empty.shape == (0, 1, 8, 8) and not single


@pytest.mark.parametrize(
    "bad, value_range, needle",
    [
        (np.zeros(8), None, "expected image shape"),
        (np.zeros((2, 2, 8, 8)), None, "channel"),
        (np.zeros((7, 8)), None, "got shape (7, 8)"),
        (np.zeros((3, 16, 16)), None, "size 8x8"),
        (np.full((8, 8), np.nan), None, "NaN"),
        (np.full((8, 8), np.inf), None, "infinite"),
        (np.linspace(0, 1.5, 64).reshape(8, 8), None, "got values in [0, 1.5]"),
        (np.full((8, 8), -0.5, np.float32), None, "[-0.5, -0.5]"),
        (-np.ones((8, 8), np.int64), (0, 1), "[-1, -1]"),
        (np.full((8, 8), 2, np.int64), (0, 1), "[2, 2]"),
        (np.ones((8, 8), np.int64), None, "value_range"),
        (np.ones((8, 8), np.uint8), (1, 0), "low < high"),
        (np.full((8, 8), "a"), None, "dtype"),
        ("abcdefgh", None, "str"),
    ],
)
def test_prepare_rejects(bad, value_range, needle):
    with pytest.raises(CanvasError) as info:
        _prepare(bad, value_range=value_range)
    assert isinstance(info.value, ValueError)
    assert needle in str(info.value)


def test_resize_only_when_asked_for_digit_models_and_always_for_image_models():
    frame = np.zeros((32, 32), np.uint8)
    frame[4:28, 12:20] = 255
    with pytest.raises(CanvasError, match="resize_to_fit"):
        _prepare(frame)
    canvas, _ = _prepare(frame, resize_to_fit=True)
    assert canvas.shape == (1, 1, 8, 8)
    image = InputSpec.image(8, channels=1)
    grey, _ = image.prepare(frame)
    assert grey.shape == (1, 1, 8, 8) and 0 < float(grey.max()) <= 1


def test_rgb_models_refuse_grey_and_normalize():
    spec = InputSpec.image(16, channels=3, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    white = np.full((20, 20, 3), 255, np.uint8)
    x, single = spec.prepare(white)
    assert single and x.shape == (1, 3, 16, 16)
    torch.testing.assert_close(x, torch.full_like(x, 2.0))  # (1 - 0.5) / 0.25
    with pytest.raises(CanvasError, match="3-channel"):
        spec.prepare(np.zeros((4, 16, 16), np.uint8), batched=True)  # grey images
    with pytest.raises(ValueError, match="mean and std"):
        InputSpec.image(8, channels=3, mean=(0.5,), std=(0.5,))


def test_input_spec_round_trip_and_validation():
    for spec in (BINARY8, InputSpec.image((12, 20), channels=3, mean=(0, 0, 0), std=(1, 1, 1))):
        assert InputSpec.from_dict(spec.to_dict()) == spec
    for bad in ({"channels": 2}, {"size": (8.5, 8)}, {"size": (2, 2)}, {"threshold": 1.5}):
        with pytest.raises(ValueError):
            InputSpec(**bad)
    with pytest.raises(ValueError, match="unknown"):
        InputSpec.from_dict({"channels": 1, "bogus": 1})


_DTYPES = st.sampled_from(["bool", "uint8_01", "uint8_255", "float32", "float64", "int64"])


def _encode(canvas: np.ndarray, kind: str) -> tuple[np.ndarray, tuple | None]:
    if kind == "bool":
        return canvas.astype(bool), None
    if kind == "uint8_01":
        return canvas.astype(np.uint8), (0, 1)
    if kind == "uint8_255":
        return canvas.astype(np.uint8) * 255, None
    if kind == "int64":
        return canvas.astype(np.int64), (0, 1)
    return canvas.astype(kind), None


@settings(max_examples=60, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 6),
    index=st.integers(0, 5),
    kind=_DTYPES,
    other=_DTYPES,
)
def test_mixed_batch_invariance(seed, n, index, kind, other):
    """An image converts the same alone and in any batch (the range is declared, not read
    from the batch), for every input dtype; the scores of a classifier follow."""
    rng = np.random.default_rng(seed)
    canvases = (rng.random((n, 8, 8)) < rng.uniform(0.05, 0.6)).astype(np.uint8)
    i = index % n
    alone_x, alone_range = _encode(canvases[i], kind)
    alone, _ = _prepare(alone_x, value_range=alone_range)
    batch_x, batch_range = _encode(canvases, other)
    batch, _ = _prepare(batch_x, value_range=batch_range, batched=True)
    torch.testing.assert_close(alone[0], batch[i], rtol=0, atol=0)
    torch.testing.assert_close(alone[0, 0], torch.from_numpy(canvases[i]).float())


# --------------------------------------------------------------------------------------
# frames_to_canvas
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bar_frame():
    """32x32 grey uint8, white thick vertical bar on black."""
    img = np.zeros((32, 32), np.uint8)
    img[4:28, 12:20] = 255
    return img


BAR_CANVAS = np.zeros((8, 8), np.uint8)
BAR_CANVAS[1:7, 3:5] = 1


def test_frames_to_canvas_grey_bar_is_a_vertical_bar(bar_frame):
    out = frames_to_canvas(bar_frame, 8, batched=False)
    assert out.shape == (1, 8, 8) and _is_binary_uint8(out)
    np.testing.assert_array_equal(out[0], BAR_CANVAS)


def _layouts(img: np.ndarray) -> dict[str, np.ndarray]:
    rgb = np.stack([img] * 3, axis=-1)
    alpha = np.full((32, 32, 1), 255, np.uint8)
    return {
        "hwc_rgb": rgb,
        "chw_rgb": rgb.transpose(2, 0, 1).copy(),
        "rgba": np.concatenate([rgb, alpha], axis=-1),
        "grey_hw1": img[:, :, None],
        "grey_1hw": img[None],
        "float_rgb": rgb.astype(np.float32) / 255.0,
        "float_grey": img.astype(np.float64) / 255.0,
        "bool": img > 127,
        "torch_rgb": torch.from_numpy(rgb.copy()),
        "black_on_white_rgb": 255 - rgb,
        "black_on_white_float": 1.0 - img.astype(np.float32) / 255.0,
    }


@pytest.mark.parametrize(
    "layout",
    [
        "hwc_rgb",
        "chw_rgb",
        "rgba",
        "grey_hw1",
        "grey_1hw",
        "float_rgb",
        "float_grey",
        "bool",
        "torch_rgb",
        "black_on_white_rgb",
        "black_on_white_float",
    ],
)
def test_frames_to_canvas_layouts_agree(layout, bar_frame):
    frame = _layouts(bar_frame)[layout]
    out = frames_to_canvas(
        frame,
        8,
        batched=False,
        value_range=(0, 1) if layout == "bool" else None,
        alpha=layout == "rgba",  # RGBA is read when declared (4 channels may be 4 frames)
    )
    assert out.shape == (1, 8, 8) and _is_binary_uint8(out)
    np.testing.assert_array_equal(out[0], BAR_CANVAS)


def test_frames_to_canvas_batched_and_explicit_invert(bar_frame):
    rgb = np.stack([bar_frame] * 3, axis=-1)
    batch = np.stack([rgb, 255 - rgb, rgb])
    out = frames_to_canvas(batch, 8, batched=True)
    assert out.shape == (3, 8, 8)
    for image in out:
        np.testing.assert_array_equal(image, BAR_CANVAS)
    chw = batch.transpose(0, 3, 1, 2).copy()
    np.testing.assert_array_equal(frames_to_canvas(chw, 8, batched=True), out)
    grey_batch = np.stack([bar_frame, bar_frame])
    assert frames_to_canvas(grey_batch, 8, batched=True).shape == (2, 8, 8)
    # explicit inversion flags
    np.testing.assert_array_equal(
        frames_to_canvas(bar_frame, 8, batched=False, invert=False)[0], BAR_CANVAS
    )
    np.testing.assert_array_equal(
        frames_to_canvas(255 - bar_frame, 8, batched=False, invert=True)[0], BAR_CANVAS
    )
    np.testing.assert_array_equal(
        frames_to_canvas(bar_frame, 8, batched=False, invert=True)[0], 1 - BAR_CANVAS
    )
    # same size: no resize, straight threshold
    small = np.zeros((8, 8), np.uint8)
    small[2, 3] = 200
    np.testing.assert_array_equal(frames_to_canvas(small, 8, batched=False)[0], small > 127)
    # A near-black 0/1 uint8 frame is near-black, not ink (uint8 means 0..255).
    assert not frames_to_canvas((small > 0).astype(np.uint8), 8, batched=False).any()


def test_frames_to_canvas_other_canvas_sizes(bar_frame):
    out = frames_to_canvas(bar_frame, 16, batched=False)[0]
    assert out.shape == (16, 16)
    cols = np.flatnonzero(out.any(axis=0))
    rows = np.flatnonzero(out.any(axis=1))
    assert cols.min() >= 5 and cols.max() <= 10  # narrow: vertical bar
    assert rows.max() - rows.min() >= 10  # tall


@pytest.mark.parametrize(
    "bad, batched, needle",
    [
        (np.zeros(32, np.uint8), False, "expected image shape"),
        (np.zeros((32, 32), np.uint8), True, "expected image shape"),
        (np.zeros((2, 32, 32, 3, 1), np.uint8), True, "expected image shape"),
        (np.zeros((32, 32, 5), np.uint8), False, "channel"),
        (np.full((32, 32), np.nan), False, "NaN"),
        (np.full((32, 32), 2.0), False, "got values in [2, 2]"),
        (np.full((32, 32), -1, np.int64), False, "value_range"),
    ],
)
def test_frames_to_canvas_rejects(bad, batched, needle):
    with pytest.raises(CanvasError) as info:
        frames_to_canvas(bad, 8, batched=batched)
    assert needle in str(info.value)


def test_a_numpy_side_is_a_plain_int_in_the_data_spec():
    # A side read off an array's shape: accepted and stored as a plain int (JSON records).
    spec = DataSpec(source="mnist5k", canvas=np.int64(14))
    assert spec.canvas == 14 and type(spec.canvas) is int
    with pytest.raises(ValueError, match="canvas must be an integer"):
        DataSpec(canvas=True)
