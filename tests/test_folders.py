"""Your images read as they are: bit depth, grey, EXIF orientation, hidden files, bombs,
numeric class names and ``.npz`` labels and names checked before any work."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import one_line_exit_2
from PIL import Image

from flatnet_rl.cli import main as cli_main
from flatnet_rl.data import DataSpec, load_dataset


def _load(path) -> object:
    return load_dataset(DataSpec(source="images", path=str(path), test_fraction=0.5))


def _save(folder, name, array, **kwargs):
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(folder / name, **kwargs)


def test_sixteen_bit_pngs_are_scaled_not_clipped(tmp_path):
    rng = np.random.default_rng(0)
    for k, (low, high) in enumerate([(30000, 35535), (0, 5000)]):
        for i in range(4):
            values = rng.integers(low, high, (8, 8)).astype(np.uint16)
            _save(tmp_path / f"c{k}", f"{i}.png", values)
    assert Image.open(next((tmp_path / "c0").iterdir())).mode.startswith("I;16")
    data = _load(tmp_path)
    x = np.concatenate([data.x_train, data.x_test])
    y = np.concatenate([data.y_train, data.y_test])
    assert x.shape[-1] == 1  # grey stays grey
    bright = x[y == 0]
    assert bright.min() >= 30000 / 257 - 1 and bright.max() <= 35535 / 257 + 1  # not 255
    assert x[y == 1].max() <= 5000 / 257 + 1


def test_grey_folders_train_grey_models_and_colour_folders_rgb(tmp_path):
    for k in range(2):
        for i in range(2):
            _save(tmp_path / "grey" / f"c{k}", f"{i}.png", np.full((8, 8), 40 * k + i, np.uint8))
            _save(tmp_path / "mixed" / f"c{k}", f"{i}.png", np.full((8, 8), 9, np.uint8))
    _save(tmp_path / "mixed" / "c1", "rgb.png", np.full((8, 8, 3), (200, 0, 0), np.uint8))
    grey = _load(tmp_path / "grey")
    assert grey.channels == 1 and grey.input_spec().channels == 1
    mixed = _load(tmp_path / "mixed")
    assert mixed.channels == 3


def test_exif_orientation_is_applied(tmp_path):
    pictures = []
    for k in range(2):
        for i in range(2):
            picture = np.zeros((12, 12, 3), np.uint8)
            picture[0, :, 0] = 255  # a red top row
            picture[6, 2 * k + i, 1] = 255  # a green mark: no two images are copies
            exif = Image.Exif()
            exif[0x0112] = 6  # stored rotated: display turned 90 degrees clockwise
            _save(tmp_path / f"c{k}", f"{i}.png", picture, exif=exif)
            pictures.append(picture)
    data = _load(tmp_path)
    expected = {np.rot90(p, k=-1).tobytes() for p in pictures}
    assert {x.tobytes() for x in (*data.x_train, *data.x_test)} == expected


def test_hidden_files_are_skipped(tmp_path):
    for k in range(2):
        for i in range(2):
            _save(tmp_path / f"c{k}", f"{i}.png", np.full((8, 8), 100 * k, np.uint8))
        (tmp_path / f"c{k}" / f"._{k}.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
        (tmp_path / f"c{k}" / ".hidden.png").write_bytes(b"not an image")
    (tmp_path / ".cache").mkdir()
    data = _load(tmp_path)
    assert data.class_names == ("c0", "c1") and len(data.y_train) + len(data.y_test) == 4


def test_decompression_bombs_are_refused_in_one_line(tmp_path, monkeypatch, capsys):
    for k in range(2):
        for i in range(2):
            _save(tmp_path / f"c{k}", f"{i}.png", np.full((32, 32), 100 * k, np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 600)  # 1024 px: over the limit
    with pytest.raises(ValueError, match="decompression bomb"):
        _load(tmp_path)
    out = str(tmp_path / "m.safetensors")
    code = cli_main(["train-classifier", "--data", str(tmp_path), "--out", out])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "decompression bomb" in err and len(err.splitlines()) == 1


def test_float_images_without_a_range_are_refused(tmp_path):
    for k in range(2):
        for i in range(2):
            _save(tmp_path / f"c{k}", f"{i}.tif", np.full((8, 8), 3.5, np.float32))
    with pytest.raises(ValueError, match="mode 'F'"):
        _load(tmp_path)


def test_numeric_class_folders_sort_numerically(tmp_path):
    for name in ("0", "1", "2", "10"):
        for i in range(2):
            _save(tmp_path / name, f"{i}.png", np.full((8, 8), int(name) * 20, np.uint8))
    data = _load(tmp_path)
    assert data.class_names == ("0", "1", "2", "10")
    x = np.concatenate([data.x_train, data.x_test])[..., 0]
    y = np.concatenate([data.y_train, data.y_test])
    assert (x[y == 3] == 200).all()  # class 3 is the folder named 10


def test_npz_labels_and_names_are_checked_before_any_work(tmp_path):
    x = np.zeros((8, 8, 8), np.uint8)
    np.savez(tmp_path / "huge.npz", x=x, y=np.array([0, 0, 0, 0, 1, 1, 1, 10**9]))
    with pytest.raises(ValueError, match="labels must be class indices"):
        _load(tmp_path / "huge.npz")
    y = np.repeat([0, 1], 4)
    for names, match in ((["a", "a"], "unique"), (["a", ""], "non-empty")):
        np.savez(tmp_path / "n.npz", x=x, y=y, class_names=np.array(names))
        with pytest.raises(ValueError, match=match):
            _load(tmp_path / "n.npz")


@pytest.mark.parametrize("content", [b"ab", b"\x93NUMPY"])
def test_data_that_is_neither_an_archive_nor_a_folder_says_so(content, tmp_path, capsys):
    data = tmp_path / "afile"
    data.write_bytes(content)
    out = tmp_path / "m.safetensors"
    argv = ["train-classifier", "--data", str(data), "--epochs", "1", "--outliers", "0"]
    line = one_line_exit_2([*argv, "--quiet", "--out", str(out)], capsys)
    assert "is neither an .npz archive" in line and "image folder" in line, line
    assert "pickle" not in line and not out.exists()
    np.save(tmp_path / "x.npy", np.zeros((4, 8, 8)))
    argv[2] = str(tmp_path / "x.npy")
    assert "is neither an .npz archive" in one_line_exit_2(
        [*argv, "--quiet", "--out", str(out)], capsys
    )
