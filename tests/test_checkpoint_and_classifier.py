"""Safe checkpoints (safetensors + JSON metadata) and the Classifier API, incl. shipped models."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct

import gymnasium as gym
import numpy as np
import pytest
import torch
from conftest import one_line_exit_2
from safetensors.torch import save_file

import flatnet_rl.checkpoint as checkpoint_mod
from flatnet_rl import FlatnetReward, PaintEnv, __version__
from flatnet_rl.checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    CheckpointError,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.data import DataSpec, InputSpec, load_embedded_digits
from flatnet_rl.models import build_classifier_net
from flatnet_rl.reward import ClassifierRewardModel
from flatnet_rl.shipped import MANIFEST, ZOO_DIR, zoo_manifest
from flatnet_rl.training import eval_random_canvases
from flatnet_rl.util.devices import resolve_device

ZOO_NAMES = ("flatnet", "baseline", "judge")


def _small_classifier(arch: str = "flatnet_lite", canvas: int = 8, seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    model = build_classifier_net(arch, canvas)
    meta = {
        "name": "tiny",
        "arch": arch,
        "input": InputSpec.binary(canvas).to_dict(),
        "class_names": [str(k) for k in range(10)],
        "training": {"seed": seed},
    }
    return Classifier(model, meta, device="cpu")


@pytest.fixture(scope="module")
def tiny():
    return _small_classifier()


@pytest.fixture(scope="module")
def canvases():
    """Binary canvases as bool: binary by their dtype, no value range to declare."""
    return np.random.default_rng(0).random((6, 8, 8)) < 0.3


@pytest.fixture
def saved(tmp_path, tiny):
    path = tmp_path / "tiny.safetensors"
    tiny.save(path)
    return path


def _rewrite(path, tensors, meta) -> None:
    """Write a safetensors file with arbitrary flatnet_rl metadata (bypassing validation)."""
    save_file(tensors, str(path), metadata={"flatnet_rl": json.dumps(meta)})


# --------------------------------------------------------------------------------------
# round trip and atomicity
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["flatnet", "flatnet_lite", "dropmax", "mlp"])
def test_round_trip_identical_logits(tmp_path, arch, canvases):
    clf = _small_classifier(arch)
    path = clf.save(tmp_path / f"{arch}.safetensors")
    assert path == tmp_path / f"{arch}.safetensors"
    again = Classifier.load(path, device="cpu")
    np.testing.assert_array_equal(again.logits(canvases), clf.logits(canvases))
    assert again.metadata["arch"] == arch
    assert again.metadata["training"] == {"seed": 0}
    assert again.metadata["package_version"] == __version__
    assert again.metadata["format"] == FORMAT
    assert again.metadata["format_version"] == FORMAT_VERSION
    assert again.canvas_size == 8 and again.num_classes == 10 and again.name == "tiny"
    assert not again.model.training
    for key, value in clf.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[key], value)


def test_read_metadata_without_weights(saved):
    meta = read_metadata(saved)
    assert meta["arch"] == "flatnet_lite" and meta["input"]["size"] == [8, 8]
    tensors, meta2 = load_checkpoint(saved)
    assert meta2 == meta
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


def test_save_leaves_no_temp_files(tmp_path, tiny):
    out = tmp_path / "sub" / "dir" / "m.safetensors"
    tiny.save(out)
    tiny.save(out)  # overwrite
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.safetensors"]
    mode = out.stat().st_mode & 0o777
    assert mode & 0o044, "checkpoint should be world/group readable like a normal file"


def test_failed_write_keeps_existing_checkpoint(tmp_path, tiny, monkeypatch, canvases):
    path = tmp_path / "m.safetensors"
    tiny.save(path)
    before = path.read_bytes()

    def half_write(tensors, filename, metadata=None):
        with open(filename, "wb") as fh:
            fh.write(b"\x00" * 100)  # some bytes reach the temp file, then the disk "fails"
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_mod, "save_file", half_write)
    other = _small_classifier(seed=1)
    with pytest.raises(OSError, match="disk full"):
        other.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]
    monkeypatch.undo()
    np.testing.assert_array_equal(Classifier.load(path).logits(canvases), tiny.logits(canvases))


def test_interrupted_write_keeps_existing_checkpoint(tmp_path, tiny, monkeypatch):
    """KeyboardInterrupt mid-write (a BaseException) is cleaned up too."""
    path = tmp_path / "m.safetensors"
    tiny.save(path)
    before = path.read_bytes()

    def interrupted(tensors, filename, metadata=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint_mod, "save_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tiny.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_save_checkpoint_requires_metadata(tmp_path, tiny):
    with pytest.raises(ValueError, match="lacks"):
        save_checkpoint(tmp_path / "x.safetensors", tiny.model.state_dict(), {"arch": "mlp"})
    assert not list(tmp_path.iterdir())


def test_loading_never_unpickles(saved, monkeypatch, canvases, tiny):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle must not be used to load checkpoints")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    clf = load_classifier(saved)
    np.testing.assert_array_equal(clf.logits(canvases), tiny.logits(canvases))
    assert read_metadata(saved)["arch"] == "flatnet_lite"


# --------------------------------------------------------------------------------------
# corrupt / incompatible checkpoints
# --------------------------------------------------------------------------------------
def _expect_checkpoint_error(path, *needles):
    with pytest.raises(CheckpointError) as info:
        Classifier.load(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message, message
    # CheckpointError is a ValueError, and load_classifier surfaces the same error
    assert isinstance(info.value, ValueError)
    with pytest.raises(CheckpointError):
        load_classifier(path)
    return message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(CheckpointError, match="does not exist"):
        Classifier.load(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_metadata(path)


@pytest.mark.parametrize("keep", [0, 4, 8, 100, 0.5, -10])
def test_truncated_file(saved, keep):
    data = saved.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep
    saved.write_bytes(data[:n])
    _expect_checkpoint_error(saved, "not a readable safetensors file")


def test_random_garbage(tmp_path):
    path = tmp_path / "garbage.safetensors"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _expect_checkpoint_error(path, "not a readable safetensors file")
    # a plausible header length but a non-JSON header
    path.write_bytes(struct.pack("<Q", 16) + b"not json at all!" + b"\x00" * 8)
    _expect_checkpoint_error(path, "not a readable safetensors file")


def test_pickle_file_is_rejected_not_executed(tmp_path):
    path = tmp_path / "old.safetensors"
    torch.save({"w": torch.zeros(2)}, path)
    _expect_checkpoint_error(path, "not a readable safetensors file")


def test_safetensors_without_our_metadata(tmp_path, tiny):
    path = tmp_path / "plain.safetensors"
    save_file({k: v.contiguous() for k, v in tiny.model.state_dict().items()}, str(path))
    _expect_checkpoint_error(path, "not a flatnet-rl checkpoint")
    save_file({"w": torch.zeros(3)}, str(path), metadata={"other": "x"})
    _expect_checkpoint_error(path, "not a flatnet-rl checkpoint")


def test_corrupt_or_foreign_metadata(saved):
    tensors, meta = load_checkpoint(saved)
    save_file(tensors, str(saved), metadata={"flatnet_rl": "{not json"})
    _expect_checkpoint_error(saved, "corrupt metadata")
    _rewrite(saved, tensors, [1, 2, 3])
    _expect_checkpoint_error(saved, "not a flatnet-rl classifier checkpoint")
    _rewrite(saved, tensors, {**meta, "format": "someone-else/model"})
    _expect_checkpoint_error(saved, "not a flatnet-rl classifier checkpoint")


@pytest.mark.parametrize("version", [0, 4, "1", "2", "3", None, True])
def test_wrong_format_version(saved, version):
    tensors, meta = load_checkpoint(saved)
    _rewrite(saved, tensors, {**meta, "format_version": version})
    _expect_checkpoint_error(saved, "format version", "reads versions [1, 2, 3]")


@pytest.mark.parametrize("key", ["arch", "input", "class_names", "fingerprint"])
def test_metadata_missing_keys(saved, key):
    tensors, meta = load_checkpoint(saved)
    del meta[key]
    _rewrite(saved, tensors, meta)
    _expect_checkpoint_error(saved, "metadata lacks", key)


def _refingerprint(tensors, meta):
    """Metadata edited *and* re-fingerprinted: only the consistency checks can catch it."""
    return {**meta, "fingerprint": checkpoint_mod.fingerprint(tensors, meta)}


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"arch": "mlp"}, "does not match architecture 'mlp'"),
        ({"arch": "flatnet"}, "does not match architecture 'flatnet'"),
        ({"class_names": list("abcde")}, "does not match architecture"),
        ({"class_names": ["0"]}, "class_names"),
        ({"class_names": "0123456789"}, "class_names"),
        ({"arch": "transformer"}, "inconsistent"),
        ({"input": {**InputSpec.binary(8).to_dict(), "size": [2, 2]}}, "inconsistent"),
        ({"input": {**InputSpec.binary(8).to_dict(), "size": [8.7, 8]}}, "inconsistent"),
        ({"input": {**InputSpec.binary(8).to_dict(), "channels": 3}}, "does not match"),
        ({"input": None}, "inconsistent"),
    ],
)
def test_architecture_state_mismatch(saved, change, needle):
    tensors, meta = load_checkpoint(saved)
    _rewrite(saved, tensors, _refingerprint(tensors, {**meta, **change}))
    _expect_checkpoint_error(saved, needle)


@pytest.mark.parametrize(
    "change",
    [
        {"input": {**InputSpec.binary(8).to_dict(), "size": [16, 16]}},
        {"input": {**InputSpec.binary(8).to_dict(), "size": [4, 4]}},
        {"input": {**InputSpec.binary(8).to_dict(), "threshold": 0.9}},
        {"class_names": [str(k) for k in reversed(range(10))]},
        {"arch": "flatnet_lite "},
    ],
)
def test_metadata_is_not_trusted_over_the_weights(saved, change):
    """Editing what the weights mean (size, threshold, classes) breaks the fingerprint: the
    checkpoint is refused instead of scoring 16x16 canvases with 8x8 weights."""
    tensors, meta = load_checkpoint(saved)
    _rewrite(saved, tensors, {**meta, **change})
    _expect_checkpoint_error(saved, "fingerprint")


def test_swapped_weights_are_refused(saved):
    tensors, meta = load_checkpoint(saved)
    name = sorted(tensors)[0]
    _rewrite(saved, {**tensors, name: tensors[name] * 1.5}, meta)
    _expect_checkpoint_error(saved, "fingerprint")


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_weights_refused_at_save_and_at_load(tmp_path, saved, bad):
    tensors, meta = load_checkpoint(saved)
    name = sorted(k for k in tensors if k.endswith("bias"))[0]
    broken = {**tensors, name: tensors[name].clone()}
    broken[name][0] = bad
    with pytest.raises(ValueError, match=name):
        save_checkpoint(tmp_path / "x.safetensors", broken, meta)
    assert not (tmp_path / "x.safetensors").exists()
    _rewrite(saved, broken, _refingerprint(broken, meta))
    _expect_checkpoint_error(saved, "non-finite", name)


def test_exploding_weights_are_refused(saved):
    """Finite but absurd weights (x1e30) give non-finite logits: refused at load."""
    tensors, meta = load_checkpoint(saved)
    huge = {k: v * 1e30 if v.is_floating_point() else v for k, v in tensors.items()}
    _rewrite(saved, huge, _refingerprint(huge, meta))
    _expect_checkpoint_error(saved, "non-finite")


def test_version_1_checkpoints_still_load(tmp_path, canvases):
    """Format 1 (canvas_size + num_classes, no fingerprint) is upgraded in memory."""
    v1 = tmp_path / "v1.safetensors"
    clf = _small_classifier()
    meta = {
        "format": FORMAT,
        "format_version": 1,
        "arch": "flatnet_lite",
        "canvas_size": 8,
        "num_classes": 10,
        "name": "old",
    }
    tensors = {k: v.contiguous() for k, v in clf.model.state_dict().items()}
    _rewrite(v1, tensors, meta)
    old = Classifier.load(v1)
    assert old.input_spec == InputSpec.binary(8) and old.class_names[3] == "3"
    np.testing.assert_array_equal(old.logits(canvases), clf.logits(canvases))
    for bad in ({"canvas_size": 8.7}, {"canvas_size": True}, {"num_classes": -1}):
        _rewrite(v1, tensors, {**meta, **bad})
        _expect_checkpoint_error(v1, "inconsistent")


@pytest.mark.parametrize(
    "judge, edit",
    [
        (True, {"evaluation_only": False}),
        (True, {"evaluation_only": None}),
        (True, {"evaluation_only": 0}),
        (False, {"evaluation_only": True}),
    ],
)
def test_format_3_binds_the_evaluation_only_flag(tmp_path, judge, edit):
    """A judge edited into a reward model (or back) breaks the fingerprint; an edit that
    reads the same (a missing flag for ``False``) does not."""
    clf = _small_classifier()
    clf.metadata = {**clf.metadata, "evaluation_only": judge}
    path = clf.save(tmp_path / "judge.safetensors")
    tensors, meta = load_checkpoint(path)
    assert meta["format_version"] == FORMAT_VERSION == 3
    assert "evaluation_only" in checkpoint_mod.BOUND_KEYS[3]
    _rewrite(path, tensors, {**meta, **edit})
    _expect_checkpoint_error(path, "fingerprint", "evaluation_only")
    _rewrite(path, tensors, {k: v for k, v in meta.items() if k != "evaluation_only"})
    if judge:
        _expect_checkpoint_error(path, "fingerprint")
    else:
        assert not Classifier.load(path, device="cpu").evaluation_only


def test_format_2_checkpoints_still_load_and_verify_with_their_own_keys(saved, canvases, tiny):
    """Format 2 fingerprints arch, input and class_names only: such files still load, and
    an edit of what their weights mean is still refused."""
    tensors, meta = load_checkpoint(saved)
    v2 = {k: v for k, v in meta.items() if k != "fingerprint"}
    v2["format_version"] = 2
    v2["fingerprint"] = checkpoint_mod.fingerprint(tensors, v2)
    assert v2["fingerprint"] != meta["fingerprint"]
    _rewrite(saved, tensors, v2)
    old = Classifier.load(saved, device="cpu")
    np.testing.assert_array_equal(old.logits(canvases), tiny.logits(canvases))
    _rewrite(saved, tensors, {**v2, "class_names": list("abcdefghij")})
    _expect_checkpoint_error(saved, "fingerprint", "arch, input, class_names)")


def test_identical_saves_are_byte_identical(tmp_path, tiny):
    tiny.save(tmp_path / "a.safetensors")
    tiny.save(tmp_path / "b.safetensors")
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()


def test_directory_and_unreadable_paths_say_so(tmp_path, saved):
    with pytest.raises(CheckpointError, match="is a directory"):
        Classifier.load(tmp_path)
    saved.chmod(0)
    try:
        import os

        if not os.access(saved, os.R_OK):  # root can read anything
            with pytest.raises(CheckpointError, match="permission denied"):
                Classifier.load(saved)
    finally:
        saved.chmod(0o644)


def test_missing_and_extra_tensors(saved):
    tensors, meta = load_checkpoint(saved)
    fewer = dict(tensors)
    fewer.pop(sorted(fewer)[0])
    _rewrite(saved, fewer, meta)
    _expect_checkpoint_error(saved, "fingerprint")
    _rewrite(saved, fewer, _refingerprint(fewer, meta))
    _expect_checkpoint_error(saved, "does not match architecture", "Missing key")
    more = {**tensors, "extra.weight": torch.zeros(2)}
    _rewrite(saved, more, _refingerprint(more, meta))
    _expect_checkpoint_error(saved, "does not match architecture", "Unexpected key")


# --------------------------------------------------------------------------------------
# zoo and Classifier API
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def zoo():
    return {name: load_classifier(name) for name in ZOO_NAMES}


@pytest.fixture(scope="module")
def digits():
    return load_embedded_digits(DataSpec())


def test_zoo_loads_offline(zoo):
    assert set(zoo_manifest()) >= set(ZOO_NAMES)
    for name, clf in zoo.items():
        assert isinstance(clf, Classifier)
        assert clf.name == name
        assert clf.canvas_size == 8 and clf.num_classes == 10
        assert clf.device == resolve_device("auto")
        assert name in repr(clf)
    assert zoo["judge"].metadata["arch"] == "mlp"
    assert zoo["judge"].evaluation_only and not zoo["flatnet"].evaluation_only


def test_zoo_probabilities_are_unchanged():
    """The shipped models give the same probabilities as flatnet-rl 0.1 (stored values)."""
    from pathlib import Path

    reference = np.load(Path(__file__).parent / "data" / "zoo_probs_v0.1.npz")
    digits = load_embedded_digits(DataSpec())
    x = np.concatenate([digits.x_train, digits.x_test])
    rng = np.random.default_rng(0)
    noise = (rng.random((200, 8, 8)) < rng.uniform(0.03, 0.5, (200, 1, 1))).astype(np.uint8)
    for name in ZOO_NAMES:
        clf = load_classifier(name, device="cpu")
        np.testing.assert_allclose(
            clf.predict_proba(x, value_range=(0, 1)), reference[name], rtol=0, atol=1e-6
        )
        np.testing.assert_allclose(
            clf.predict_proba(noise, value_range=(0, 1)),
            reference[f"{name}_noise"],
            rtol=0,
            atol=1e-6,
        )


def test_zoo_files_match_manifest_hashes():
    manifest = json.loads(MANIFEST.read_text())
    assert {"flatnet-28", "baseline-28", "judge-28", "flatnet-14", "judge-cnn"} <= set(manifest)
    for name in manifest:
        entry = manifest[name]
        digest = hashlib.sha256((ZOO_DIR / entry["file"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], name


@pytest.mark.parametrize("name", ZOO_NAMES)
def test_predict_proba_shapes_and_normalization(zoo, name, canvases):
    clf = zoo[name]
    one = clf.predict_proba(canvases[0])
    assert isinstance(one, np.ndarray) and one.shape == (10,) and one.dtype == np.float32
    assert one.sum() == pytest.approx(1.0, abs=1e-5)
    many = clf.predict_proba(canvases)
    assert many.shape == (6, 10)
    np.testing.assert_allclose(many.sum(-1), 1.0, atol=1e-5)
    assert (many >= 0).all()
    np.testing.assert_allclose(many[0], one, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(clf(canvases), many)
    assert clf.logits(canvases).shape == (6, 10)
    assert clf.logits(canvases[0]).shape == (10,)
    assert clf.predict_proba(np.zeros((0, 8, 8), bool)).shape == (0, 10)


def test_numpy_in_numpy_out_torch_in_torch_out(zoo, canvases):
    clf = zoo["flatnet"]
    as_np = clf.predict_proba(canvases)
    as_torch = clf.predict_proba(torch.from_numpy(canvases))
    assert isinstance(as_np, np.ndarray)
    assert isinstance(as_torch, torch.Tensor) and as_torch.shape == (6, 10)
    np.testing.assert_allclose(as_torch.numpy(), as_np, rtol=1e-6, atol=1e-7)
    single = clf.predict_proba(torch.from_numpy(canvases[0]))
    assert isinstance(single, torch.Tensor) and single.shape == (10,)
    pred_t = clf.predict(torch.from_numpy(canvases))
    assert isinstance(pred_t, torch.Tensor) and pred_t.shape == (6,)
    np.testing.assert_array_equal(pred_t.numpy(), as_np.argmax(-1))
    np.testing.assert_array_equal(clf.predict(canvases), as_np.argmax(-1))
    assert clf.predict(canvases[0]).shape == ()


def test_predict_numpy_returns_integer_labels(zoo, canvases):
    pred = zoo["flatnet"].predict(canvases)
    assert np.issubdtype(pred.dtype, np.integer), pred.dtype


def test_input_dtypes_give_identical_outputs(zoo, canvases):
    clf = zoo["flatnet"]
    reference = clf.predict_proba(canvases)
    for variant, value_range in (
        (canvases.astype(np.uint8), (0, 1)),
        (canvases.astype(np.int64), (0, 1)),
        (canvases.astype(np.int32), (0, 1)),
        (canvases.astype(np.uint8) * np.uint8(255), None),
        (canvases.astype(np.float32), None),
        (canvases.astype(np.float64), None),
    ):
        np.testing.assert_array_equal(
            clf.predict_proba(variant, value_range=value_range), reference
        )


@pytest.mark.parametrize(
    "bad, needles",
    [
        (np.zeros((16, 16)), ["size 8x8", "(16, 16)"]),
        (np.zeros((2, 7, 8)), ["size 8x8", "(2, 7, 8)"]),
        (np.zeros((1, 1, 9, 9)), ["size 8x8", "(1, 1, 9, 9)"]),
        (np.zeros(64), ["expected image shape", "(64,)"]),
        (np.full((8, 8), np.nan, np.float32), ["NaN"]),
        (np.full((8, 8), 3.0), ["[0, 1]", "[3, 3]"]),
        (np.full((8, 8), -1, np.int64), ["value_range"]),
        (torch.full((8, 8), 2), ["value_range"]),
    ],
)
def test_bad_inputs_name_expected_and_received(zoo, bad, needles):
    with pytest.raises(ValueError) as info:
        zoo["flatnet"].predict_proba(bad)
    for needle in needles:
        assert needle in str(info.value)


def test_unknown_name_lists_zoo():
    with pytest.raises(ValueError) as info:
        load_classifier("no-such-model")
    message = str(info.value)
    assert "no-such-model" in message
    for name in ZOO_NAMES:
        assert name in message
    with pytest.raises(TypeError):
        load_classifier(42)


def test_classifier_passthrough(zoo):
    clf = zoo["baseline"]
    assert load_classifier(clf) is clf


def test_no_autograd(zoo, canvases):
    x = torch.from_numpy(canvases.astype(np.float32)).requires_grad_(True)
    out = zoo["flatnet"].predict_proba(x)
    assert not out.requires_grad
    assert out.grad_fn is None
    assert not zoo["flatnet"].logits(x).requires_grad
    assert all(not p.requires_grad or p.grad is None for p in zoo["flatnet"].model.parameters())


def test_resolve_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_load_classifier_by_path_and_device(saved, canvases):
    by_str = load_classifier(str(saved), device="cpu")
    by_path = load_classifier(saved, device=torch.device("cpu"))
    np.testing.assert_array_equal(by_str.logits(canvases), by_path.logits(canvases))
    assert by_str.device.type == "cpu"


# --------------------------------------------------------------------------------------
# shipped-model quality (recomputed from the data, not read from the manifest)
# --------------------------------------------------------------------------------------
def _accuracy(clf: Classifier, digits) -> float:
    probs = clf.predict_proba(digits.x_test, value_range=digits.value_range)
    return float((probs.argmax(-1) == digits.y_test).mean())


def test_flatnet_quality(zoo, digits):
    clf = zoo["flatnet"]
    assert _accuracy(clf, digits) >= 0.96
    rand = clf.predict_proba(eval_random_canvases(8), value_range=(0, 1))
    assert rand.shape == (2000, 10)
    assert rand.max(-1).mean() <= 0.20


def test_baseline_quality_and_flatnet_is_flatter(zoo, digits):
    assert _accuracy(zoo["baseline"], digits) >= 0.95
    rand = eval_random_canvases(8)
    base_msp = zoo["baseline"].predict_proba(rand, value_range=(0, 1)).max(-1).mean()
    flat_msp = zoo["flatnet"].predict_proba(rand, value_range=(0, 1)).max(-1).mean()
    assert flat_msp < base_msp - 0.2


def test_judge_is_independent_and_accurate(zoo):
    # the judge was trained on split_seed 1: score it on its own held-out split
    judge = zoo["judge"]
    assert judge.metadata["training"]["data"]["split_seed"] == 1
    own = load_embedded_digits(DataSpec(split_seed=1))
    assert _accuracy(judge, own) >= 0.9


@pytest.mark.parametrize("side", [14, 28])
def test_bigger_shipped_models_and_paint_env_defaults(side):
    import gymnasium as gym

    clf = load_classifier(f"flatnet-{side}", device="cpu")
    assert clf.canvas_size == side and not clf.evaluation_only
    assert load_classifier(f"judge-{side}", device="cpu").evaluation_only
    env = gym.make("FlatnetPaint-v0", canvas_size=side, action_mode="pen")
    obs, info = env.reset(seed=0)
    assert obs["canvas"].shape == (side, side)
    assert env.unwrapped.canvas_size == side
    assert env.get_wrapper_attr("classifier").name == f"flatnet-{side}"
    with pytest.raises(ValueError, match="shipped flatnet sizes"):
        gym.make("FlatnetPaint-v0", canvas_size=side, classifier="flatnet")


# -- from_module contracts, checked on a probe batch at wrap time ---------------------------


class _Mean3(torch.nn.Module):
    """Three class scores from the image mean; variants break one part of the contract."""

    def __init__(self, how: str = "logits") -> None:
        super().__init__()
        self.how = how

    def forward(self, x: torch.Tensor):
        if self.how == "in_place":
            x.sub_(0.5)  # a module that changes its input
        m = x.mean(dim=(1, 2, 3))
        logits = torch.stack([8 * m, 8 * (1 - m), torch.zeros_like(m)], dim=1)
        if self.how == "tuple":
            return logits, m
        if self.how == "one_row":
            return logits[:1]
        if self.how == "softmax":
            return logits.softmax(-1)
        return logits


def _wrap(how: str, channels: int = 1, **kwargs):
    return Classifier.from_module(
        _Mean3(how), image_size=8, channels=channels, class_names=["a", "b", "c"], **kwargs
    )


def test_from_module_refuses_a_tuple_or_a_wrong_row_count_at_wrap_time():
    with pytest.raises(ValueError, match="returns a tuple"):
        _wrap("tuple")
    with pytest.raises(ValueError, match=r"shape \(1, 3\) for 3 images"):
        _wrap("one_row")


def test_from_module_probabilities_warn_or_are_declared():
    import warnings

    from flatnet_rl.classifier import OutputWarning

    with pytest.warns(OutputWarning, match="outputs='probs'"):
        _wrap("softmax")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        declared = _wrap("softmax", outputs="probs")
        plain = _wrap("logits")
    x = np.random.default_rng(0).random((5, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(declared.predict_proba(x), plain.predict_proba(x), atol=1e-5)
    np.testing.assert_array_equal(declared.predict(x), plain.predict(x))
    with pytest.raises(ValueError, match="outputs must be"):
        _wrap("logits", outputs="logprobs")


def test_from_module_never_changes_the_callers_images():
    from flatnet_rl import FlatnetReward

    clf = _wrap("in_place", channels=3)
    # Float RGB frames (N, H, W, C): the model input is a channels-last view of them.
    x = np.random.default_rng(0).random((4, 8, 8, 3)).astype(np.float32)
    before = x.copy()
    first = clf.predict_proba(x)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(clf.predict_proba(x), first)  # the same answer twice
    import gymnasium as gym

    class FloatFrames(gym.Env):
        observation_space = gym.spaces.Box(0.0, 1.0, (8, 8, 3), np.float32)
        action_space = gym.spaces.Discrete(2)

        def reset(self, *, seed=None, options=None):
            self.frame = np.full((8, 8, 3), 0.75, np.float32)
            return self.frame, {}

        def step(self, action):
            return self.frame, 0.0, False, False, {}

    env = FlatnetReward(FloatFrames(), clf, target=0, mode="prob")
    env.reset(seed=0)
    rewards = [env.step(0)[1] for _ in range(3)]
    obs, *_ = env.step(0)
    np.testing.assert_array_equal(obs, np.full((8, 8, 3), 0.75, np.float32))  # not shifted
    assert rewards == [rewards[0]] * 3


def test_a_target_that_names_a_class_is_that_class():
    clf = Classifier.from_module(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4)),
        image_size=8,
        channels=1,
        class_names=["0", "1", "2", "10"],
    )
    assert clf.class_index(10) == clf.class_index("10") == 3  # the class named 10
    assert clf.class_index(2) == clf.class_index("2") == 2
    assert clf.class_index(3) == 3  # a number that names no class is an index
    with pytest.raises(ValueError, match="class name or an index"):
        clf.class_index(11)
    with pytest.raises(ValueError, match="unknown target class"):
        clf.class_index("eleven")


def test_tied_weights_save_and_load(tmp_path):
    class Tied(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encode = torch.nn.Linear(64, 64)
            self.decode = torch.nn.Linear(64, 64)
            self.decode.weight = self.encode.weight  # one tensor under two names
            self.head = torch.nn.Linear(64, 2)

        def forward(self, x):
            return self.head(self.decode(self.encode(x.flatten(1))))

    clf = Classifier.from_module(Tied(), image_size=8, channels=1, class_names=["a", "b"])
    path = clf.save(tmp_path / "tied.safetensors")
    again = Classifier.load(path, module=Tied())
    assert again.model.decode.weight is again.model.encode.weight
    x = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(again.predict_proba(x), clf.predict_proba(x))


def test_deeply_nested_checkpoint_metadata_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "deep.safetensors"
    save_file({"w": torch.zeros(1)}, str(path), metadata={"flatnet_rl": "[" * 100_000})
    with pytest.raises(CheckpointError, match="nested too deeply|corrupt metadata"):
        load_classifier(path)
    deep = "[" * 100_000 + "]" * 100_000
    save_file({"w": torch.zeros(1)}, str(path), metadata={"flatnet_rl": deep})
    with pytest.raises(CheckpointError, match="nested too deeply"):
        load_classifier(path)


@pytest.mark.parametrize("edit", ["flag false", "flag removed"])
def test_an_edited_zoo_judge_is_still_a_judge(edit, tmp_path, capsys):
    """Format 2 (the zoo) does not fingerprint the evaluation-only flag: a judge whose
    header says otherwise is recognised by its fingerprint and refused as a reward."""
    from safetensors.torch import save_file

    from flatnet_rl.checkpoint import load_checkpoint
    from flatnet_rl.shipped import checkpoint_path

    tensors, meta = load_checkpoint(checkpoint_path("judge"))
    assert meta["format_version"] == 2 and meta["evaluation_only"] is True
    if edit == "flag false":
        header = {**meta, "evaluation_only": False, "name": "my-reward"}
    else:
        header = {k: v for k, v in meta.items() if k != "evaluation_only"}
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path), metadata={"flatnet_rl": json.dumps(header)})
    clf = load_classifier(path, device="cpu")
    assert clf.evaluation_only
    for make in (
        lambda: FlatnetReward(PaintEnv(target=3), clf),
        lambda: FlatnetReward(PaintEnv(target=3), str(path)),
        lambda: ClassifierRewardModel(clf),
        lambda: gym.make("FlatnetPaint-v0", classifier=str(path)),
    ):
        with pytest.raises(ValueError, match="judge"):
            make()
    out = tmp_path / "run"
    line = one_line_exit_2(["train-agent", "--reward-model", str(path), "--out", str(out)], capsys)
    assert "judge" in line and not out.exists()
    assert not load_classifier("flatnet", device="cpu").evaluation_only
