"""CLIP as a classifier (open_clip and Hugging Face), from tiny random models built offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from flatnet_rl import Classifier, FlatnetReward, FlatnetRewardVecEnv, InputSpec, load_classifier
from flatnet_rl.checkpoint import CheckpointError
from flatnet_rl.clip import ClipError, class_prompts, parse_clip_source
from flatnet_rl.envs import PaintVecEnv
from flatnet_rl.reward import RolloutRewardVecEnv

os.environ.setdefault("HF_HUB_OFFLINE", "1")
open_clip = pytest.importorskip("open_clip")
transformers = pytest.importorskip("transformers")

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEMPLATES = ["a drawing of the digit {}.", "a sketch of a {}."]
OPEN_CLIP_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 64, "layers": 2, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def tokenizer():
    return open_clip.get_tokenizer("ViT-B-32")  # its BPE vocabulary ships in the wheel


@pytest.fixture(scope="module")
def tiny_open_clip():
    torch.manual_seed(0)
    return open_clip.CLIP(**OPEN_CLIP_CFG).eval()


@pytest.fixture(scope="module")
def tiny_hf():
    torch.manual_seed(1)
    config = transformers.CLIPConfig(
        text_config={
            "vocab_size": 49408,
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
            "bos_token_id": 49406,
            "eos_token_id": 49407,
            "pad_token_id": 0,
        },
        vision_config={
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        projection_dim=16,
    )
    return transformers.CLIPModel(config).eval()


def _pretokenised(prompts):
    """Hugging Face without a vocabulary: fixed ids per prompt (BOS, two tokens, EOS, pad)."""
    table = {p: [49406, 100 + 2 * i, 101 + 2 * i, 49407] for i, p in enumerate(prompts)}

    def tokenize(texts):
        rows = [table[t] for t in texts]
        return {"input_ids": torch.tensor(rows), "attention_mask": torch.ones(len(rows), 4)}

    return tokenize


def _frames(n=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 40, 3), dtype=np.uint8)


def _by_hand(image_features, text_features, logit_scale, per_class):
    """CLIP's zero-shot recipe, computed here from the raw embeddings."""
    x = F.normalize(image_features.float(), dim=-1)
    classes, start = [], 0
    for k in per_class:
        e = F.normalize(text_features[start : start + k].float(), dim=-1)
        classes.append(F.normalize(e.mean(0), dim=-1))
        start += k
    return (logit_scale * x @ torch.stack(classes).T).softmax(-1)


def test_open_clip_probabilities_are_softmax_of_scaled_cosines(tiny_open_clip, tokenizer):
    names = ["ring", "cross", "slash"]
    clf = Classifier.from_clip(tiny_open_clip, tokenizer, names, templates=TEMPLATES)
    frames = _frames()
    batch, _ = clf.prepare(frames, batched=True)
    prompts = [t.format(n) for n in names for t in TEMPLATES]
    with torch.no_grad():
        images = tiny_open_clip.encode_image(batch)
        texts = tiny_open_clip.encode_text(tokenizer(prompts))
        scale = tiny_open_clip.logit_scale.exp()
    expected = _by_hand(images, texts, scale, [len(TEMPLATES)] * 3)
    np.testing.assert_allclose(clf.predict_proba(frames), expected.numpy(), atol=1e-5)
    assert clf.predict(frames).shape == (6,)


def test_hf_probabilities_are_softmax_of_scaled_cosines(tiny_hf):
    names = ["ring", "cross"]
    prompts = [t.format(n) for n in names for t in TEMPLATES]
    tokenize = _pretokenised(prompts)
    clf = Classifier.from_clip(tiny_hf, tokenize, names, templates=TEMPLATES)
    frames = _frames(seed=1)
    batch, _ = clf.prepare(frames, batched=True)
    with torch.no_grad():
        images = tiny_hf.visual_projection(tiny_hf.vision_model(pixel_values=batch).pooler_output)
        ids = tokenize(prompts)["input_ids"]
        texts = tiny_hf.text_projection(tiny_hf.text_model(input_ids=ids).pooler_output)
        scale = tiny_hf.logit_scale.exp()
    expected = _by_hand(images, texts, scale, [len(TEMPLATES)] * 2)
    np.testing.assert_allclose(clf.predict_proba(frames), expected.numpy(), atol=1e-5)


def test_preprocessing_is_clips_own_and_canvases_are_drawn_dark_on_white(tiny_open_clip, tokenizer):
    clf = Classifier.from_clip(tiny_open_clip, tokenizer, ["ring", "cross"])
    spec = clf.input_spec
    assert (spec.size, spec.interpolation, spec.crop, spec.canvas_ink) == (
        (32, 32),
        "bicubic",
        True,
        "dark",
    )
    # A wide frame: shortest side to 32, centre crop (not squashed).
    frame = np.zeros((64, 128, 3), np.uint8)
    frame[:, 32:96] = 255  # the centre square is white, the sides black
    x, _ = spec.prepare(frame)
    unnorm = x * torch.tensor(spec.std).view(1, 3, 1, 1) + torch.tensor(spec.mean).view(1, 3, 1, 1)
    assert float(unnorm.min()) > 0.9  # squashed, half of it would be black
    # A binary canvas: nearest upscale (each pixel a 4x4 block), ink black, three channels.
    canvas = np.zeros((8, 8), np.uint8)
    canvas[2:6, 3] = 1
    x, _ = spec.prepare(canvas, value_range=(0, 1))
    unnorm = x * torch.tensor(spec.std).view(1, 3, 1, 1) + torch.tensor(spec.mean).view(1, 3, 1, 1)
    expected = 1.0 - np.kron(canvas, np.ones((4, 4)))
    for c in range(3):
        np.testing.assert_allclose(unnorm[0, c].numpy(), expected, atol=1e-5)
    # Saved and read back as data.
    assert InputSpec.from_dict(spec.to_dict()) == spec
    assert "nearest upscale" in " ".join(spec.steps())


def test_old_input_specs_keep_their_form():
    spec = InputSpec.image(32, 3, (0.5,) * 3, (0.25,) * 3)
    assert "canvas_ink" not in spec.to_dict() and "crop" not in spec.to_dict()
    with pytest.raises(ValueError, match="canvas_ink"):
        InputSpec(channels=1, size=(8, 8), threshold=None, canvas_ink="dark")
    with pytest.raises(ValueError, match="interpolation"):
        InputSpec.image(8, interpolation="lanczos")


def _as_module(clf):
    """The same logits, wrapped as a plain module (what any user could bring)."""
    return Classifier.from_module(
        clf.model,
        image_size=clf.input_spec.size,
        class_names=clf.class_names,
        preprocess=clf.input_spec,
    )


def test_wrappers_and_rollout_scoring_give_the_clip_rewards_of_the_same_module(
    tiny_open_clip, tokenizer
):
    clip = Classifier.from_clip(tiny_open_clip, tokenizer, DIGITS, templates=TEMPLATES)
    plain = _as_module(clip)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 64, (9, 4))
    results = []
    for clf, wrapper in ((clip, FlatnetRewardVecEnv), (plain, FlatnetRewardVecEnv)):
        venv = PaintVecEnv(4, max_steps=5)
        venv.seed(2)
        env = wrapper(venv, clf, mode="prob")
        env.reset()
        results.append(np.array([env.step(a)[1] for a in actions]))
    venv = PaintVecEnv(4, max_steps=5)
    venv.seed(2)
    rollout = RolloutRewardVecEnv(venv, clip, mode="prob")
    rollout.reset()
    for a in actions:
        rollout.step(a)
    results.append(rollout.score_rollout().rewards)
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
    np.testing.assert_allclose(results[2], results[0], atol=1e-5)
    assert np.ptp(results[0]) > 0  # not a constant reward


def test_single_env_wrapper_on_shapes_frames(tiny_open_clip, tokenizer):
    import gymnasium as gym

    names = ["cross", "ring", "slash"]
    clip = Classifier.from_clip(tiny_open_clip, tokenizer, names)
    rewards = []
    for clf in (clip, _as_module(clip)):
        env = FlatnetReward(
            gym.make("FlatnetShapes-v0", target="ring", render_mode="rgb_array"),
            clf,
            target="ring",
            mode="prob",
            image="render",
        )
        env.reset(seed=0)
        env.action_space.seed(0)
        rewards.append([env.step(env.action_space.sample())[1] for _ in range(6)])
    np.testing.assert_allclose(rewards[0], rewards[1], atol=1e-6)


def _save_open_clip_folder(model, folder: Path) -> Path:
    from safetensors.torch import save_file

    folder.mkdir()
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": OPEN_CLIP_CFG}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, folder / "m.safetensors")
    return folder


def test_local_open_clip_folder_round_trips_through_a_head_only_checkpoint(
    tiny_open_clip, tmp_path
):
    folder = _save_open_clip_folder(tiny_open_clip, tmp_path / "oc")
    clf = Classifier.from_clip(str(folder), class_names=["ring", "cross"], templates=TEMPLATES)
    base = clf.metadata["clip"]["base"]
    assert base["backend"] == "open_clip" and len(base["sha256"]) == 64
    path = clf.save(tmp_path / "zs.safetensors")
    assert path.stat().st_size < 10_000  # the class embeddings, not the CLIP weights
    again = load_classifier(path)
    frames = _frames()
    np.testing.assert_array_equal(again.predict_proba(frames), clf.predict_proba(frames))
    # Another base model under the same name: refused by its hash.
    torch.manual_seed(5)
    other = open_clip.CLIP(**OPEN_CLIP_CFG)
    (folder / "m.safetensors").unlink()
    _save_open_clip_folder(other, tmp_path / "tmp")
    (tmp_path / "tmp" / "m.safetensors").rename(folder / "m.safetensors")
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_classifier(path)


def test_hf_folder_loads_with_local_files_only(tiny_hf, tmp_path):
    tiny_hf.save_pretrained(tmp_path / "hf")
    # No tokenizer files in the folder: open_clip's (the same CLIP BPE) is used.
    clf = Classifier.from_clip(str(tmp_path / "hf"), class_names=["ring", "cross"])
    assert clf.metadata["clip"]["base"]["backend"] == "hf"
    again = load_classifier(clf.save(tmp_path / "zs.safetensors"))
    np.testing.assert_array_equal(again.predict_proba(_frames()), clf.predict_proba(_frames()))


def test_missing_weights_are_one_line_errors(tmp_path):
    with pytest.raises(ClipError, match="nothing is downloaded") as err:
        parse_clip_source(str(tmp_path / "nowhere"))
    assert "\n" not in str(err.value)
    with pytest.raises(ClipError, match="no CLIP weights at .*ViT-B-32"):
        parse_clip_source(f"ViT-B-32:{tmp_path / 'vit.safetensors'}")
    (tmp_path / "vit.pt").write_bytes(b"x")
    with pytest.raises(ClipError, match="unpickled"):
        parse_clip_source(f"ViT-B-32:{tmp_path / 'vit.pt'}")
    with pytest.raises(ClipError, match="needs its architecture"):
        parse_clip_source(str(tmp_path / "vit.pt"))
    with pytest.raises(ClipError, match="not in the Hugging Face cache"):
        parse_clip_source("hf:nobody/no-such-clip-model")
    (tmp_path / "pickled").mkdir()
    (tmp_path / "pickled" / "config.json").write_text("{}")
    (tmp_path / "pickled" / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(ClipError, match="convert to safetensors"):
        Classifier.from_clip(str(tmp_path / "pickled"), class_names=["a", "b"])


def test_prompts_are_validated(tiny_open_clip, tokenizer):
    assert class_prompts(["a", "b"], ["x {}"], {"b": ["bee", "a bee"]}) == [
        ["x a"],
        ["bee", "a bee"],
    ]
    for templates in (["no slot"], "a {}", []):
        with pytest.raises(ClipError):
            class_prompts(["a", "b"], templates)
    with pytest.raises(ClipError, match="unknown classes"):
        class_prompts(["a", "b"], ["{}"], {"c": ["c"]})
    with pytest.raises(ValueError, match="unique"):
        Classifier.from_clip(tiny_open_clip, tokenizer, ["a", "a"])
    with pytest.raises(ClipError, match="same text embedding"):
        Classifier.from_clip(
            tiny_open_clip, tokenizer, ["a", "b"], prompts={"b": ["a photo of a a."]}
        )


REAL = os.environ.get("FLATNET_CLIP_WEIGHTS")


@pytest.mark.skipif(not REAL, reason="set FLATNET_CLIP_WEIGHTS to a CLIP source (real weights)")
def test_real_clip_weights_tell_drawn_shapes_apart():
    """With real CLIP weights (e.g. FLATNET_CLIP_WEIGHTS=ViT-B-32:open_clip_model.safetensors
    or a Hugging Face folder), a drawn ring and a drawn cross are told apart zero-shot."""
    clf = Classifier.from_clip(
        REAL, class_names=["circle", "cross"], templates=["a drawing of a {}."]
    )
    yy, xx = np.mgrid[:64, :64]
    ring = (np.abs(np.hypot(yy - 32, xx - 32) - 20) < 2).astype(np.uint8)
    cross = ((np.abs(yy - xx) < 2) | (np.abs(yy + xx - 63) < 2)).astype(np.uint8)
    probs = clf.predict_proba(np.stack([ring, cross]), value_range=(0, 1), batched=True)
    assert probs[0, 0] > 0.5 and probs[1, 1] > 0.5


# -- command line and flattening -----------------------------------------------------------
def _cli(*argv):
    from flatnet_rl.cli import main

    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def shapes_npz(tmp_path_factory):
    from flatnet_rl.data.shapes import make_shape_images

    x, y, names = make_shape_images(12, size=32, seed=0)
    path = tmp_path_factory.mktemp("shapes") / "shapes.npz"
    np.savez(path, x=x, y=y, class_names=np.array(names))
    return path


def test_train_classifier_flattens_a_clip_head_from_a_clip_spec(
    tiny_open_clip, shapes_npz, tmp_path, capsys
):
    folder = _save_open_clip_folder(tiny_open_clip, tmp_path / "oc")
    out = tmp_path / "flat.safetensors"
    common = ["--data", shapes_npz, "--cache", tmp_path / "cache", "--quiet", "--epochs", 2]
    args = ["train-classifier", "--init", f"clip:{folder}", "--classes", "cross,ring,slash"]
    code = _cli(
        *args,
        "--prompts",
        "a drawing of a {}.",
        "--outliers",
        30,
        "--clip-part",
        "head",
        *common,
        "--out",
        out,
    )
    assert code == 0, capsys.readouterr().err
    from safetensors import safe_open

    with safe_open(out, "pt") as f:  # the head only, and the base model named by its hash
        assert sorted(f.keys()) == ["head.bias", "head.logit_scale", "head.weight"]
    flat = load_classifier(out)
    assert flat.metadata["clip"]["part"] == "head"
    assert flat.metadata["clip"]["base"]["sha256"] == _sha(folder / "m.safetensors")
    assert flat.metadata["training"]["init"].endswith(".safetensors")
    zero_shot = load_classifier(flat.metadata["training"]["init"])
    frames = _frames()
    assert not np.allclose(flat.predict_proba(frames), zero_shot.predict_proba(frames))
    # Classes that are not the data's are refused before training.
    code = _cli(*args[:-1], "ring,cross,slash", *common, "--out", tmp_path / "x.safetensors")
    assert code == 2 and "differ" in capsys.readouterr().err


def _sha(path):
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_cli_without_weights_is_one_line_and_exit_2(tmp_path, shapes_npz, capsys):
    out = tmp_path / "x.safetensors"
    code = _cli(
        "train-classifier",
        "--init",
        f"clip:{tmp_path / 'none'}",
        "--classes",
        "a,b",
        "--data",
        shapes_npz,
        "--out",
        out,
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nothing is downloaded" in err
    code = _cli(
        "compare",
        f"clip:ViT-B-32:{tmp_path / 'vit.safetensors'}",
        "--classes",
        "a,b",
        "--out",
        tmp_path / "cmp",
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "ViT-B-32" in err
    code = _cli("compare", "flatnet", "--classes", "a,b", "--out", tmp_path / "cmp2")
    assert code == 2 and "clip:SOURCE" in capsys.readouterr().err
    assert not out.exists()


def test_clip_reward_example_runs_with_a_small_budget(tmp_path, monkeypatch):
    import runpy
    import sys

    path = Path(__file__).parents[1] / "examples" / "clip_reward.py"
    small = ["--pictures-per-class", "8", "--clip-epochs", "1", "--flat-epochs", "1"]
    small += ["--outliers", "20", "--eval-images", "12", "--out", str(tmp_path / "run")]
    small += ["--timesteps", "64", "--eval-episodes", "2"]
    monkeypatch.setattr(sys, "argv", [str(path), *small])
    runpy.run_path(str(path), run_name="__main__")
    table = (tmp_path / "run" / "table.md").read_text()
    assert "zero-shot tiny CLIP" in table and "flattened" in table
    agents = json.loads((tmp_path / "run" / "results.json").read_text())["agents"]
    # PPO ran on both rewards, and the judge scored their episodes.
    assert [a["reward"] for a in agents] == ["zero-shot tiny CLIP", "flattened (linear head)"]
    assert all(0.0 <= a["judge_p_target"] <= 1.0 for a in agents)


# -- goal-baseline reward -------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_goal_baseline_equals_the_projection_formula(tiny_open_clip, tokenizer, alpha):
    from flatnet_rl.clip import GoalBaseline, goal_baseline_reference

    names = ["ring", "cross", "slash"]
    clf = Classifier.from_clip(tiny_open_clip, tokenizer, names, templates=TEMPLATES)
    baseline = ["a blank sheet of paper.", "an empty page."]
    goal = GoalBaseline(clf.model, clf.metadata["clip"]["class_prompts"], baseline, alpha)
    batch, _ = clf.prepare(_frames(), batched=True)
    logits, rewards = goal(batch)
    np.testing.assert_allclose(logits.softmax(-1).numpy(), clf.predict_proba(_frames()), atol=1e-6)
    with torch.no_grad():
        x = tiny_open_clip.encode_image(batch)
        b = F.normalize(tiny_open_clip.encode_text(tokenizer(baseline)).float(), dim=-1).mean(0)
        for k, name in enumerate(names):
            texts = tokenizer([t.format(name) for t in TEMPLATES])
            g = F.normalize(tiny_open_clip.encode_text(texts).float(), dim=-1).mean(0)
            expected = goal_baseline_reference(x, g, b, alpha)
            np.testing.assert_allclose(rewards[:, k].numpy(), expected.numpy(), atol=1e-5)
    if alpha == 0.0:  # shifted cosine similarity to g (|g| < 1: the prompts are averaged)
        cos_part = 1 - ((F.normalize(x, dim=-1) - g) ** 2).sum(-1) / 2
        np.testing.assert_allclose(rewards[:, -1].numpy(), cos_part.numpy(), atol=1e-5)


def test_goal_baseline_mode_in_the_wrappers(tiny_open_clip, tokenizer):
    clip = Classifier.from_clip(tiny_open_clip, tokenizer, DIGITS, templates=TEMPLATES)
    options = {
        "mode": "goal_baseline",
        "baseline": ["a blank sheet of paper."],
        "baseline_alpha": 0.5,
    }
    rewards = []
    for wrapper in (FlatnetRewardVecEnv, RolloutRewardVecEnv):
        venv = PaintVecEnv(3, max_steps=4)
        venv.seed(1)
        env = wrapper(venv, clip, **options)
        env.reset()
        steps = [env.step(np.array([5, 17, 40])) for _ in range(5)]
        if wrapper is FlatnetRewardVecEnv:
            rewards.append(np.array([s[1] for s in steps]))
            assert "goal_baseline" in steps[0][3][0]["flatnet"]
        else:
            rewards.append(env.score_rollout().rewards)
    np.testing.assert_allclose(rewards[0], rewards[1], atol=1e-5)
    assert np.all(rewards[0] <= 1.0) and np.ptp(rewards[0]) > 0
    with pytest.raises(ValueError, match="needs baseline"):
        FlatnetRewardVecEnv(PaintVecEnv(2), clip, mode="goal_baseline")
    with pytest.raises(ValueError, match="baseline applies"):
        FlatnetRewardVecEnv(PaintVecEnv(2), clip, mode="prob", baseline=["x"])
    with pytest.raises(ValueError, match="needs a CLIP classifier"):
        FlatnetRewardVecEnv(PaintVecEnv(2), "flatnet", mode="goal_baseline", baseline=["x"])
    with pytest.raises(ValueError, match="alpha"):
        FlatnetRewardVecEnv(
            PaintVecEnv(2), clip, mode="goal_baseline", baseline=["x"], baseline_alpha=2
        )


def test_flatnet_paint_takes_a_clip_classifier(tiny_open_clip, tokenizer):
    import gymnasium as gym

    names = [str(d) for d in range(10)]
    clip = Classifier.from_clip(tiny_open_clip, tokenizer, names, templates=["the digit {}."])
    env = gym.make("FlatnetPaint-v0", classifier=clip, target=3, canvas_size=14, reward_mode="prob")
    obs, _ = env.reset(seed=0)
    assert obs["canvas"].shape == (14, 14)
    _, reward, *_, info = env.step(27)
    assert 0 < reward < 1 and info["flatnet"]["target"] == 3
    expected = clip.predict_proba(env.unwrapped.canvas, value_range=(0, 1))[3]
    assert reward == pytest.approx(expected, abs=1e-5)
