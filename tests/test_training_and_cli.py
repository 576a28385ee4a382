"""Training (every objective, determinism, outlier exposure), the CLI, and zoo reproducibility."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flatnet_rl import checkpoint as checkpoint_mod
from flatnet_rl import cli
from flatnet_rl.checkpoint import load_checkpoint, read_metadata
from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.data import DataSpec, load_dataset
from flatnet_rl.data.outliers import outlier_format
from flatnet_rl.data.shapes import SHAPE_CLASSES, make_shape_images
from flatnet_rl.losses import LOSSES, Objective
from flatnet_rl.shipped import MANIFEST, checkpoint_path
from flatnet_rl.training import TrainConfig, config_from_dict, train_classifier
from flatnet_rl.training.trainer import _outlier_pool
from flatnet_rl.zoo.build import command_args

METRIC_KEYS = {
    "test_accuracy",
    "test_mean_max_prob",
    "random_mean_max_prob",
    "random_mean_entropy",
}


def _train(**kwargs):
    kwargs.setdefault("epochs", 2)
    kwargs.setdefault("arch", "flatnet_lite")
    kwargs.setdefault("device", "cpu")
    return train_classifier(TrainConfig(**kwargs), progress=False)


# --------------------------------------------------------------------------------------
# train_classifier
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("loss", LOSSES)
def test_train_every_loss(loss):
    result = _train(objective=Objective(loss), outliers=40)
    clf = result.classifier
    assert isinstance(clf, Classifier)
    assert set(result.metrics) == METRIC_KEYS
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    assert 0.1 - 1e-6 <= result.metrics["random_mean_max_prob"] <= 1.0
    assert len(result.history) == 2
    assert result.history[-1]["epoch"] == 2
    assert loss in result.history[-1] and "outlier_exposure" in result.history[-1]
    assert clf.metadata["arch"] == ("dropmax" if loss == "dropmax" else "flatnet_lite")
    assert clf.metadata["training"]["objective"]["loss"] == loss
    assert clf.metadata["metrics"] == result.metrics
    assert len(clf.metadata["class_log_priors"]) == 10
    probs = clf.predict_proba(np.zeros((3, 8, 8), bool))
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_dropmax_switches_architecture():
    config = TrainConfig(objective=Objective("dropmax"), arch="mlp")
    assert config.arch == "dropmax"


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"outliers": -1}, "outliers"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"outlier_ratio": 0.0}, "outlier_ratio"),
        ({"shift": 4}, "shift"),
        ({"outlier_families": ("bernoulli", "bogus")}, "outlier_families"),
        ({"outlier_families": ()}, "outlier_families"),
    ],
)
def test_train_config_validation(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        TrainConfig(**kwargs)


def test_config_dict_round_trip():
    config = TrainConfig(
        objective=Objective("entropy", kappa=0.2),
        arch="mlp",
        data=DataSpec(split_seed=2),
        outliers=100,
        epochs=3,
        seed=5,
    )
    again = config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert again.to_dict() == config.to_dict()
    assert again.objective.kappa == 0.2 and again.data.split_seed == 2


def _state(result):
    return {k: v.clone() for k, v in result.classifier.model.state_dict().items()}


def test_same_seed_bitwise_identical_different_seed_differs():
    kwargs = {"objective": Objective("entropy"), "outliers": 60, "seed": 3}
    a, b = _state(_train(**kwargs)), _state(_train(**kwargs))
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    c = _state(_train(**{**kwargs, "seed": 4}))
    assert any(not torch.equal(a[key], c[key]) for key in a)


def test_outlier_exposure_flattens_random_canvases():
    common = {"objective": Objective("ce"), "arch": "mlp", "epochs": 8, "seed": 0}
    plain = _train(outliers=0, **common).metrics
    exposed = _train(outliers=400, **common).metrics
    assert exposed["random_mean_max_prob"] < plain["random_mean_max_prob"] - 0.05
    assert exposed["random_mean_entropy"] > plain["random_mean_entropy"]
    assert exposed["test_accuracy"] > 0.7  # still a digit classifier


# --------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------
def test_cli_train_then_info(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    rc = cli.main(
        [
            "train-classifier",
            "--loss",
            "entropy",
            "--kappa",
            "0.2",
            "--outliers",
            "40",
            "--arch",
            "mlp",
            "--epochs",
            "1",
            "--seed",
            "1",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    captured = capsys.readouterr()
    assert "test accuracy" in captured.out and str(out) in captured.out
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]

    assert cli.main(["info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"] == "mlp" and info["name"] == "m"
    assert info["training"]["objective"] == {"loss": "entropy", "kappa": 0.2, "outlier_weight": 0.5}
    assert info["training"]["outliers"] == 40 and info["training"]["seed"] == 1
    assert set(info["metrics"]) == METRIC_KEYS
    assert load_classifier(out).predict_proba(np.zeros((8, 8))).shape == (10,)
    # Identical training writes identical bytes (no timings in the file), and the same
    # --out is refused without --overwrite, before any training.
    again = tmp_path / "again.safetensors"
    assert (
        cli.main(
            [
                "train-classifier",
                "--loss",
                "entropy",
                "--kappa",
                "0.2",
                "--outliers",
                "40",
                "--arch",
                "mlp",
                "--epochs",
                "1",
                "--seed",
                "1",
                "--quiet",
                "--name",
                "m",
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert again.read_bytes() == out.read_bytes()
    before = out.read_bytes()
    assert cli.main(["train-classifier", "--epochs", "1", "--quiet", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == before

    assert cli.main(["info"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert {"flatnet", "baseline", "judge"} <= set(manifest)


def test_cli_info_bad_file(tmp_path, capsys):
    assert cli.main(["info", str(tmp_path / "missing.safetensors")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"garbage")
    assert cli.main(["info", str(bad)]) == 2
    assert "error" in capsys.readouterr().err


BASE = ["train-classifier", "--epochs", "1", "--arch", "mlp", "--quiet"]


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--outliers", "-1"], "in [0, 10000000]"),
        (["--epochs", "0"], "in [1, 100000]"),
        (["--epochs", "99999999999999999999"], "--epochs"),
        (["--kappa", "nan"], "finite"),
        (["--kappa", "inf"], "finite"),
        (["--kappa", "abc"], "number"),
        (["--loss", "focal"], "invalid choice"),
        (["--arch", "resnet"], "--arch"),
        (["--out", "{tmp}/model.pt"], ".safetensors"),
        (["--out", "{tmp}"], "folder"),
        (["--energy-weight", "0.1", "--outliers", "0"], "--outliers"),
        (["--energy-weight", "-0.1", "--outliers", "10"], "--energy-weight"),
        (["--outlier-weight", "-1"], "--outlier-weight"),
        (["--canvas", "2"], "--canvas"),
        (["--lr", "-1"], "--lr"),
        (["--smoothing", "1"], "smoothing"),
        (["--outlier-families", "bernoulli,bogus", "--outliers", "10"], "outlier_families"),
        (["--source", "mnist5k", "--data", "{tmp}/x"], "--data"),
        (["--init", "{tmp}/none.safetensors"], "no such checkpoint"),
        (["--outliers-from-env", "Bogus-v0"], "Bogus-v0"),
    ],
)
def test_cli_bad_flags(tmp_path, capsys, flags, needle):
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    argv = BASE + flags
    if "--out" not in flags:
        argv += ["--out", str(tmp_path / "m.safetensors")]
    try:
        rc = cli.main(argv)
    except SystemExit as stop:
        rc = stop.code
    assert rc == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_cli_missing_out_and_command(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["train-classifier", "--epochs", "1"])
    assert stop.value.code == 2
    assert "--out" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        cli.main([])
    assert stop.value.code == 2


def _npz(tmp_path, size: int = 16, floats: bool = True):
    """A tiny labelled .npz of RGB images (3 classes, 8 images each), float in [0, 1] or
    uint8."""
    images, labels, names = make_shape_images(8, size, seed=0)
    path = tmp_path / "pictures.npz"
    x = images.astype(np.float32) / 255 if floats else images
    np.savez(path, x=x, y=labels, class_names=np.array(names))
    return path


def test_cli_trains_on_float_images_with_the_default_outliers(tmp_path, capsys):
    """Float data in [0, 1] with the flatnet recipe's outliers: the generated outliers are
    uint8 0..255 (inverted and shuffled made from the data as uint8), prepared as such."""
    out = tmp_path / "m.safetensors"
    argv = ["train-classifier", "--data", str(_npz(tmp_path)), "--arch", "flatnet_lite"]
    argv += ["--epochs", "1", "--outliers", "30", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    clf = load_classifier(out, device="cpu")
    assert clf.class_names == SHAPE_CLASSES and clf.input_spec.channels == 3


def test_outlier_pool_of_float_data_is_in_the_models_range(tmp_path):
    data = DataSpec(source="images", path=str(_npz(tmp_path)))
    split = load_dataset(data)
    config = TrainConfig(data=data, outliers=50, outlier_families=("inverted", "shuffled"))
    pool = _outlier_pool(config, split, split.input_spec())
    assert pool.shape == (50, 3, 16, 16) and 0 <= float(pool.min()) < float(pool.max()) <= 1
    # "inverted" is 1 - x of a real image, not 255 - x read as 0..1.
    shape, examples, value_range = outlier_format(split.x_train)
    assert shape == (16, 16, 3) and examples.dtype == np.uint8 and value_range == (0, 255)
    np.testing.assert_array_equal(examples, (split.x_train * 255).round().astype(np.uint8))


def test_timm_model_with_batchnorm_trains_saves_and_reloads(tmp_path, capsys):
    """BatchNorm's 0-dim int64 num_batches_tracked is fingerprinted like any tensor."""
    pytest.importorskip("timm")
    out = tmp_path / "timm.safetensors"
    argv = ["train-classifier", "--data", str(_npz(tmp_path, size=32, floats=False))]
    argv += ["--arch", "timm:resnet10t", "--epochs", "1", "--outliers", "12", "--batch-size"]
    argv += ["8", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    tensors, meta = load_checkpoint(out)
    assert any(t.ndim == 0 for t in tensors.values())  # num_batches_tracked
    again = Classifier.load(out, device="cpu")
    images = make_shape_images(2, 32, seed=5)[0]
    first = load_classifier(out, device="cpu").predict_proba(images)
    np.testing.assert_array_equal(again.predict_proba(images), first)
    assert meta["arch"] == "timm:resnet10t"


def test_fingerprint_of_odd_tensors():
    """0-dim, int64 and non-contiguous tensors hash by value; layout does not matter."""
    base = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    meta = {"arch": "mlp"}
    a = {"w": base.t().contiguous(), "n": torch.tensor(3), "i": torch.arange(4)}
    b = {"w": base.t(), "n": torch.tensor(3), "i": torch.arange(4)}  # a strided view
    assert checkpoint_mod.fingerprint(a, meta) == checkpoint_mod.fingerprint(b, meta)
    c = {**a, "n": torch.tensor(4)}
    assert checkpoint_mod.fingerprint(a, meta) != checkpoint_mod.fingerprint(c, meta)


@pytest.mark.parametrize("name", ["flatnet", "baseline-14", "judge-cnn"])
def test_zoo_fingerprints_unchanged(name):
    """The zoo files keep their recorded fingerprints (they were written by the old hash)."""
    tensors, meta = load_checkpoint(checkpoint_path(name))
    assert checkpoint_mod.fingerprint(tensors, meta) == meta["fingerprint"]


def test_init_from_a_zoo_name(tmp_path, capsys):
    """--init takes a zoo name as load_classifier does, and fine-tunes that model."""
    out = tmp_path / "tuned.safetensors"
    argv = ["train-classifier", "--init", "baseline", "--arch", "flatnet", "--epochs", "1"]
    argv += ["--outliers", "40", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    tuned = load_classifier(out, device="cpu")
    assert tuned.metadata["training"]["init"] == "baseline"
    # Fine-tuned from the zoo model's weights, not from scratch: still accurate after 1 epoch.
    assert tuned.metadata["metrics"]["test_accuracy"] > 0.85
    assert cli.main([*argv[:2], "no-such-model", *argv[3:], "--overwrite"]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


# --------------------------------------------------------------------------------------
# zoo reproducibility
# --------------------------------------------------------------------------------------
def _rebuild_and_compare(name: str, tmp_path) -> None:
    manifest = json.loads(MANIFEST.read_text())
    entry = manifest[name]
    out = tmp_path / f"{name}.safetensors"
    args = command_args(entry["command"], out=out)
    assert args[0] == "train-classifier" and str(out) in args
    assert cli.main([*args, "--quiet"]) == 0
    metrics = read_metadata(out)["metrics"]
    recorded = entry["metrics"]
    assert abs(metrics["test_accuracy"] - recorded["test_accuracy"]) <= 0.015, metrics
    assert abs(metrics["random_mean_max_prob"] - recorded["random_mean_max_prob"]) <= 0.05, metrics


def test_command_args_replaces_out():
    cmd = "flatnet-rl train-classifier --loss ce --out a/b.safetensors --epochs 3"
    assert command_args(cmd) == [
        "train-classifier",
        "--loss",
        "ce",
        "--out",
        "a/b.safetensors",
        "--epochs",
        "3",
    ]
    assert command_args(cmd, out="x.safetensors")[4] == "x.safetensors"
    with pytest.raises(ValueError, match="flatnet-rl"):
        command_args("python train.py")


def test_zoo_baseline_reproduces(tmp_path):
    _rebuild_and_compare("baseline", tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flatnet", "judge"])
def test_zoo_model_reproduces(tmp_path, name):
    _rebuild_and_compare(name, tmp_path)
