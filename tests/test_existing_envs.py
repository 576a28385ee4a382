"""Envs of other packages (MiniGrid, ALE, classic control) through the API and the CLI."""

from __future__ import annotations

import json
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from flatnet_rl import Classifier, FlatnetReward
from flatnet_rl.cli import main as cli_main
from flatnet_rl.data.collect import collect_labelled_frames
from flatnet_rl.data.env_ids import EnvNotice, make_env, resolve_env_id
from flatnet_rl.data.frames import SymbolicImageError, collect_frames
from flatnet_rl.reward import (
    FlatnetRewardVecEnv,
    FlatnetRewardVector,
    RolloutRewardVecEnv,
    with_render_frames,
)

minigrid = pytest.importorskip("minigrid")
SHAPES = ["cross", "ring", "slash"]
MINIGRID = "minigrid:MiniGrid-Empty-8x8-v0"
SMALL_TILES = {"tile_size": 4}  # 32x32 frames instead of 256x256: fast tests


def _shapes_classifier() -> Classifier:
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    )
    return Classifier.from_module(net, image_size=16, channels=3, class_names=SHAPES)


# ------------------------------------------------------------------------------ env ids
def test_env_ids_as_gymnasium_make_takes_them():
    assert resolve_env_id("CartPole-v1") == "CartPole-v1"
    assert resolve_env_id(MINIGRID) == "MiniGrid-Empty-8x8-v0"
    assert resolve_env_id("MiniGrid-Empty-8x8-v0") == "MiniGrid-Empty-8x8-v0"
    with pytest.raises(ValueError, match=r"module:EnvId"):
        resolve_env_id("Bogus-v0")
    with pytest.raises(ValueError, match=r"pip install no_such_module"):
        resolve_env_id("no_such_module:Bogus-v0")
    with pytest.raises(ValueError, match="does not take env_kwargs"):
        make_env(MINIGRID, {"bogus": 1})


def test_text_observations_are_dropped_with_a_notice():
    with pytest.warns(EnvNotice, match=r"\['mission'\].*dropped"):
        env = make_env(MINIGRID)
    assert set(env.observation_space.spaces) == {"direction", "image"}
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"direction", "image"}


# ------------------------------------------------------------------- image="auto" rule
def test_symbolic_arrays_are_never_scored_as_images():
    """MiniGrid's obs["image"] is a 7x7x3 grid of object codes, not pixels."""
    clf = _shapes_classifier()
    env = FlatnetReward(gym.make(MINIGRID), clf, target="ring")
    with pytest.raises(SymbolicImageError, match=r"--image render"):
        env.reset(seed=0)
    with pytest.raises(SymbolicImageError, match="codes, not pixels"):
        collect_frames(MINIGRID, 4, seed=0)
    # Frames are pixels; a key named explicitly is the user's choice.
    frames, _ = collect_frames(MINIGRID, 2, seed=0, image="render", env_kwargs=SMALL_TILES)
    assert frames.shape == (2, 32, 32, 3)
    FlatnetReward(gym.make(MINIGRID), clf, target="ring", image="image").reset(seed=0)


# ------------------------------------------------------------ render frames, batched
def _shapes_env():
    return gym.make("FlatnetShapes-v0", render_mode="rgb_array", max_steps=5, target="ring")


def test_render_frames_are_scored_in_batches_with_the_single_env_rewards():
    clf = _shapes_classifier()
    n = 3
    options = {"target": "ring", "image": "render"}
    singles = DummyVecEnv([lambda: FlatnetReward(_shapes_env(), clf, **options)] * n)
    batched = FlatnetRewardVecEnv(
        DummyVecEnv([lambda: with_render_frames(_shapes_env())] * n), clf, **options
    )
    rollout = RolloutRewardVecEnv(
        DummyVecEnv([lambda: with_render_frames(_shapes_env())] * n), clf, **options
    )
    vector = FlatnetRewardVector(
        gym.make_vec(
            "FlatnetShapes-v0", num_envs=n, render_mode="rgb_array", max_steps=5, target="ring"
        ),
        clf,
        **options,
    )
    for venv in (singles, batched, rollout):
        venv.seed(1)
        venv.reset()
    vector.reset(seed=1)
    assert batched.observation_space == singles.observation_space
    rng = np.random.default_rng(0)
    expected, got, vector_p = [], [], []
    for _ in range(12):  # two episodes and more per env
        actions = rng.integers(0, 65, n)
        _, reward, _, _ = singles.step(actions)
        obs, batch_reward, dones, infos = batched.step(actions)
        rollout.step(actions)
        _, _, _, _, vinfos = vector.step(actions)
        expected.append(reward)
        got.append(batch_reward)
        vector_p.append(vinfos["flatnet"]["p_target"])
        assert set(obs) == {"canvas", "target"}  # the agent never sees the frames
        for i in np.flatnonzero(dones):
            assert set(infos[i]["terminal_observation"]) == {"canvas", "target"}
    np.testing.assert_allclose(np.array(got), np.array(expected), atol=1e-6)
    np.testing.assert_allclose(rollout.score_rollout().rewards, np.array(got), atol=1e-6)
    assert np.ptp(np.array(vector_p)) > 0
    with pytest.raises(ValueError, match="with_render_frames"):
        FlatnetRewardVecEnv(DummyVecEnv([_shapes_env]), clf, **options)


# ------------------------------------------------------------------------ the CLI
def _near_goal(env, obs):
    x, y = env.unwrapped.agent_pos
    return "near_goal" if abs(x - 6) + abs(y - 6) <= 2 else "far"


def _paddle(env, obs):
    return "high" if env.unwrapped.ale.getRAM()[51] < 138 else "low"


def _upright(env, obs):
    return "upright" if abs(obs[2]) < 0.05 else "leaning"


FAMILIES = {
    "minigrid": (MINIGRID, SMALL_TILES, _near_goal, ["far", "near_goal"], "near_goal"),
    "ale": (
        "ale_py:ALE/Pong-v5",
        {"repeat_action_probability": 0.0, "obs_type": "ram"},  # policy on RAM: fast
        _paddle,
        ["high", "low"],
        "high",
    ),
    "classic": ("CartPole-v1", {}, _upright, ["leaning", "upright"], "upright"),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_cli_trains_and_evaluates_an_agent_on_render_frames(family, tmp_path, capsys):
    if family == "ale":
        pytest.importorskip("ale_py")
    env_id, kwargs, label, classes, target = FAMILIES[family]
    frames = collect_labelled_frames(
        env_id, 24, label, class_names=classes, env_kwargs=kwargs, seed=0
    )
    assert (np.bincount(frames.y) == 12).all() and frames.class_names == tuple(classes)
    data = frames.save_npz(tmp_path / "frames.npz")
    model = tmp_path / "m.safetensors"
    common = ["--quiet", "--overwrite"]
    assert (
        cli_main(
            ["train-classifier", "--data", str(data), "--image-size", "16", "--epochs", "1"]
            + ["--outliers", "50", "--out", str(model), *common]
        )
        == 0
    )
    run = tmp_path / "run"
    args = ["train-agent", "--env", env_id, "--env-kwargs", json.dumps(kwargs)]
    args += ["--target", target, "--reward-model", str(model), "--image", "render"]
    args += ["--timesteps", "32", "--n-envs", "2", "--max-steps", "8", "--eval-episodes", "2"]
    args += ["--hyperparams", json.dumps({"n_steps": 16, "batch_size": 16})]
    assert cli_main([*args, "--out", str(run), *common]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["overall"]["episodes"] == 2 and result["judges"] == []
    assert 0.0 <= result["overall"]["proxy_p_target"] <= 1.0
    assert result["overall"]["judge_p_target"] is None  # no judge: no made-up verdict
    # The same seed, the same agent and evaluation (render frames included). model.zip's
    # "data" member is SB3's (its start time, episode wall times), so the weights compare.
    again = tmp_path / "again"
    assert cli_main([*args, "--out", str(again), *common]) == 0
    weights = [zipfile.ZipFile(r / "model.zip").read("policy.pth") for r in (run, again)]
    assert weights[0] == weights[1]
    assert {**json.loads((again / "eval.json").read_text()), "run": result["run"]} == result
    assert cli_main(["evaluate-agent", str(run), "--episodes", "2", "--overwrite"]) == 0
    assert "no judges" in capsys.readouterr().out


# ------------------------------------------------------------ data at the model's size
def _npz(path, x, y):
    np.savez(path, x=x, y=y, class_names=np.array(["a", "b"]))
    return str(path)


def test_data_is_resized_on_read_to_a_stated_size(tmp_path, capsys):
    from flatnet_rl.data import DataSpec, load_dataset
    from flatnet_rl.data.folders import DEFAULT_MAX_SIDE, save_image_folder
    from flatnet_rl.evaluation.compare import _model_data

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (20, 80, 120, 3), dtype=np.uint8)
    labels = np.arange(20) % 2
    split = load_dataset(DataSpec(source="images", path=_npz(tmp_path / "f.npz", frames, labels)))
    assert split.image_size == (DEFAULT_MAX_SIDE, DEFAULT_MAX_SIDE)
    assert "80x120 to 32x32" in split.notes[0] and "squashed" in split.notes[0]
    small = save_image_folder(frames[:, :24, :24], labels, ["a", "b"], tmp_path / "small")
    kept = load_dataset(DataSpec(source="images", path=str(small)))
    assert kept.image_size == (24, 24) and kept.notes == ()
    sized = load_dataset(DataSpec(source="images", path=str(small), canvas=16))
    assert sized.image_size == (16, 16) and "--image-size" in sized.notes[0]
    # compare/sweep: your images at each model's own input size.
    clf = _shapes_classifier()
    assert _model_data(DataSpec(source="images", path=str(small)), clf).canvas == 16
    sized.tell_notes()
    assert "data: images resized on load" in capsys.readouterr().err


def test_crop_keeps_the_aspect_ratio_in_training_and_in_the_reward(tmp_path):
    """--crop: non-square frames lose their sides (centre crop), never get squashed, and
    the model crops an env frame exactly as its training images were cropped."""
    from flatnet_rl.classifier import Classifier
    from flatnet_rl.data import DataSpec, load_dataset
    from flatnet_rl.evaluation.compare import _model_data
    from flatnet_rl.training import TrainConfig, train_classifier

    frames = np.zeros((12, 40, 80, 3), dtype=np.uint8)
    frames[:, :, :10] = 255  # the left eighth: outside a centre crop
    frames[:, 10:30, 30:50, 1] = np.arange(12, dtype=np.uint8)[:, None, None] * 20  # inside
    labels = np.arange(12) % 2
    path = _npz(tmp_path / "wide.npz", frames, labels)
    spec = DataSpec(source="images", path=path, canvas=20, crop=True)
    split = load_dataset(spec)
    assert "centre crop (--crop)" in split.notes[0] and "squashed" not in split.notes[0]
    images = np.concatenate([split.x_train, split.x_test])
    assert images[..., 0].max() == 0  # the white edge was cropped away, not squashed in
    squashed = load_dataset(DataSpec(source="images", path=path, canvas=20))
    assert squashed.x_train[..., 0].max() == 255 and "--crop keeps it" in squashed.notes[0]
    config = TrainConfig(data=spec, arch="mlp", epochs=1, outliers=0)
    clf = train_classifier(config, progress=False).classifier
    clf.save(tmp_path / "crop.safetensors")
    clf = Classifier.load(tmp_path / "crop.safetensors")
    assert clf.input_spec.crop
    x, _ = clf.input_spec.prepare(frames, batched=True)  # the frames as a reward wrapper has them
    expected = np.sort([im.tobytes() for im in images])
    got = np.sort(
        [im.tobytes() for im in np.rint(x.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)]
    )
    assert (got == expected).all()
    assert _model_data(DataSpec(source="images", path=path), clf).crop
    with pytest.raises(ValueError, match="crop apply to source 'images'"):
        DataSpec(crop=True)


def test_exact_copies_never_cross_the_split(tmp_path):
    from flatnet_rl.data import DataSpec, load_dataset

    rng = np.random.default_rng(1)
    distinct = rng.integers(0, 256, (12, 8, 8, 3), dtype=np.uint8)
    x = np.concatenate([distinct] * 3)  # every frame three times, as env frames repeat
    y = np.tile(np.arange(12) % 2, 3)
    split = load_dataset(DataSpec(source="images", path=_npz(tmp_path / "c.npz", x, y)))
    train = {im.tobytes() for im in split.x_train}
    assert len(split.x_test) and not any(im.tobytes() in train for im in split.x_test)
    assert "24 of 36 images are exact copies" in split.notes[0]


def test_accuracy_near_chance_is_reported():
    from flatnet_rl.training.checks import accuracy_warnings

    y = np.array([0] * 50 + [1] * 50)
    assert "near chance (0.500" in accuracy_warnings(0.52, y, 2)[0]
    assert accuracy_warnings(0.9, y, 2) == []
    skewed = np.array([0] * 90 + [1] * 10)  # always "0" scores 0.9
    assert accuracy_warnings(0.9, skewed, 2)


@pytest.mark.parametrize(
    "family",
    # MiniGrid's in the default suite (about 30 s); Pong's and CartPole's larger frames slow.
    [f if f == "minigrid" else pytest.param(f, marks=pytest.mark.slow) for f in sorted(FAMILIES)],
)
def test_env_recipe_example_runs_with_a_tiny_budget(family, tmp_path, monkeypatch, capsys):
    import runpy
    import sys
    from pathlib import Path

    if family == "ale":
        pytest.importorskip("ale_py")
    path = Path(__file__).parents[1] / "examples" / "env_recipes.py"
    args = ["--family", family, "--out", str(tmp_path), "--frames", "40", "--epochs", "1"]
    args += ["--timesteps", "64", "--eval-episodes", "2", "--n-envs", "2"]
    args += ["--compare-images", "20", "--max-steps", "8", "--workers", "1"]
    monkeypatch.setattr(sys, "argv", [str(path), *args])
    runpy.run_path(str(path), run_name="__main__")
    table = (tmp_path / "table.md").read_text()
    # The IQM row and the seed row of each reward, named by the checkpoint's file name.
    assert table.count("| `flat.safetensors` |") == 2
    assert table.count("| `plain.safetensors` |") == 2
    assert "from the env's reset" in (tmp_path / "agents" / "report.md").read_text()
    if family != "minigrid":
        return
    # Run again: it resumes (the same frames, so every model, the comparison and each PPO
    # run are kept); a changed budget retrains what it changes.
    made = [*tmp_path.glob("*.safetensors"), *tmp_path.rglob("model.zip")]
    stamps = {p: p.stat().st_mtime_ns for p in [*made, tmp_path / "compare" / "report.md"]}
    assert len(stamps) == 6  # 3 models, 2 agents, the comparison
    capsys.readouterr()
    runpy.run_path(str(path), run_name="__main__")
    kept = [line for line in capsys.readouterr().out.splitlines() if ": kept " in line]
    assert len(kept) == 4  # flat, plain, judge, compare
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert (tmp_path / "table.md").read_text() == table
    monkeypatch.setattr(sys, "argv", [str(path), *args, "--seeds", "2"])
    runpy.run_path(str(path), run_name="__main__")
    assert (tmp_path / "table.md").read_text().count("| `flat.safetensors` |") == 3
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # seed 0's runs kept


def test_env_recipe_steps_rerun_after_a_corrupt_record_and_refuse_a_file_as_out(tmp_path, capsys):
    import runpy
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "env_recipes.py"
    recipe = runpy.run_path(str(path), run_name="recipe")
    output, log = tmp_path / "made.txt", tmp_path / "steps.json"
    output.write_text("an output")
    log.write_text("{not json")  # a run killed while writing it, or edited by hand
    recipe["_step"]("info", ["info"], [output], output, log)
    assert ": kept " not in capsys.readouterr().out  # ran: nothing recorded it
    recipe["_step"]("info", ["info"], [output], output, log)
    assert "info: kept " in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        recipe["main"](recipe["Args"](out=str(output)))
    assert stop.value.code == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_agents_takes_another_env_with_judges(tmp_path, capsys):
    """compare-agents on FlatnetShapes-v0's render frames: two reward models x 2 seeds, one
    judge; without judges it refuses at once."""
    from flatnet_rl.data.shapes import write_shape_folder

    write_shape_folder(tmp_path / "pictures", 12, 32, seed=0)
    write_shape_folder(tmp_path / "judge_pictures", 12, 32, seed=1)
    models = {}
    for name, folder, flags in (
        ("flat", "pictures", []),
        ("plain", "pictures", ["--loss", "ce", "--outliers", "0"]),
        ("judge", "judge_pictures", ["--arch", "mlp", "--loss", "ce", "--evaluation-only"]),
    ):
        models[name] = str(tmp_path / f"{name}.safetensors")
        args = ["train-classifier", "--data", str(tmp_path / folder), "--image-size", "16"]
        args += [*flags, "--epochs", "1", "--out", models[name], "--quiet"]
        assert cli_main(args) == 0
    env = ["--env", "FlatnetShapes-v0", "--env-kwargs", '{"target": "ring"}', "--image"]
    env += ["render", "--target", "ring", "--max-steps", "6"]
    out = tmp_path / "agents"
    run = ["compare-agents", models["flat"], models["plain"], *env, "--seeds", "2"]
    run += ["--timesteps", "32", "--eval-episodes", "2", "--workers", "1", "--out", str(out)]
    run += ["--hyperparams", json.dumps({"n_steps": 16, "batch_size": 16}), "--quiet"]
    assert cli_main([*run, "--judges", models["judge"]]) == 0
    results = json.loads((out / "results.json").read_text())
    assert [row["seeds"] for row in results["rows"].values()] == [[0, 1], [0, 1]]
    assert results["grid"]["env_id"] == "FlatnetShapes-v0"
    flat_runs = next((out / "runs").glob("*flat.safetensors"))
    config = json.loads((flat_runs / "seed1" / "config.json").read_text())
    assert config["env_id"] == "FlatnetShapes-v0" and config["judges"] == [models["judge"]]
    assert config["target"] == "ring" and config["image"] == "render"
    capsys.readouterr()
    assert cli_main(run[:1] + [models["flat"], *env, "--out", str(tmp_path / "x")]) == 2
    assert "needs judges" in capsys.readouterr().err
