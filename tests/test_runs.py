"""Run folders: read back without running anything from them, published whole."""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import pickle
import zipfile

import pytest

from flatnet_rl.agents import AgentConfig, train_agent
from flatnet_rl.agents.evaluate import evaluate_agent
from flatnet_rl.agents.runs import load_run
from flatnet_rl.cli import main as cli_main


class _TouchOnUnpickle:
    """Unpickling this creates ``path``: the payload a crafted run folder would carry."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


def _rewrite_zip(path: pathlib.Path, replace: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    entries.update(replace)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def model_sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _serialized(payload: object) -> dict:
    return {
        ":type:": "<class 'object'>",
        ":serialized:": base64.b64encode(pickle.dumps(payload)).decode(),
    }


def _poison_data(run: pathlib.Path, marker: pathlib.Path) -> None:
    """Serialized entries of SB3's ``data`` that create ``marker`` when unpickled."""
    with zipfile.ZipFile(run / "model.zip") as archive:
        data = json.loads(archive.read("data"))
    data["policy_class"] = {**data["policy_class"], **_serialized(_TouchOnUnpickle(marker))}
    data["_extra"] = _serialized(_TouchOnUnpickle(marker))
    _rewrite_zip(run / "model.zip", {"data": json.dumps(data).encode()})
    record = json.loads((run / "config.json").read_text())
    record["model_sha256"] = model_sha256(run / "model.zip")  # a consistent crafted run
    (run / "config.json").write_text(json.dumps(record))


def test_a_crafted_model_zip_runs_no_code_and_is_evaluated(tiny_run, tmp_path, capsys):
    marker = tmp_path / "marker"
    _poison_data(tiny_run, marker)
    result = evaluate_agent(tiny_run, episodes=2, out=tmp_path / "eval")
    assert not marker.exists()
    assert result["overall"]["episodes"] == 2
    code = cli_main(["evaluate-agent", str(tiny_run), "--episodes", "2", "--out", str(tmp_path)])
    assert code == 0 and not marker.exists()
    if pytest.importorskip("moviepy"):
        video = tmp_path / "v.mp4"
        args = ["evaluate-agent", str(tiny_run), "--episodes", "2", "--video", str(video)]
        assert cli_main([*args, "--video-episodes", "1", "--out", str(tmp_path / "v")]) == 0
        assert video.is_file() and not marker.exists()
    # The payload is live: SB3's own loader would have run it.
    from stable_baselines3 import PPO

    with pytest.raises(Exception):  # noqa: B017 (the payload breaks SB3's load after running)
        PPO.load(tiny_run / "model.zip", device="cpu")
    assert marker.exists()


def test_a_pickle_as_policy_weights_is_refused_in_one_line(tiny_run, tmp_path, capsys):
    marker = tmp_path / "marker"
    _rewrite_zip(tiny_run / "model.zip", {"policy.pth": pickle.dumps(_TouchOnUnpickle(marker))})
    record = json.loads((tiny_run / "config.json").read_text())
    record["model_sha256"] = model_sha256(tiny_run / "model.zip")
    (tiny_run / "config.json").write_text(json.dumps(record))
    assert cli_main(["evaluate-agent", str(tiny_run), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err.strip()
    assert "policy.pth is not a plain tensor file" in err and len(err.splitlines()) == 1
    assert not marker.exists() and not (tmp_path / "e" / "eval.json").exists()


def test_a_run_config_cannot_train_or_choose_where_files_go(tiny_run, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    record = json.loads((tiny_run / "config.json").read_text())
    record.update(reward_model="ce:epochs=1", cache_dir=str(elsewhere), out=str(elsewhere))
    (tiny_run / "config.json").write_text(json.dumps(record))
    assert cli_main(["evaluate-agent", str(tiny_run), "--out", str(tmp_path / "e")]) == 2
    assert "never trains" in capsys.readouterr().err
    assert not elsewhere.exists()


def test_a_model_zip_the_config_does_not_describe_is_refused(tiny_run, tmp_path):
    other = train_agent(
        AgentConfig(
            timesteps=64,
            n_envs=2,
            seed=1,
            out=str(tmp_path / "other"),
            hyperparams={"n_steps": 32, "batch_size": 64},
        ),
        progress=False,
    )
    (tiny_run / "model.zip").write_bytes((other / "model.zip").read_bytes())
    with pytest.raises(ValueError, match="SHA-256"):
        load_run(tiny_run, device="cpu")


def test_overwrite_replaces_the_whole_run_and_an_interrupt_keeps_the_old(
    tiny_run, tmp_path, monkeypatch
):
    config = AgentConfig(
        timesteps=64,
        n_envs=2,
        seed=3,
        out=str(tiny_run),
        hyperparams={"n_steps": 32, "batch_size": 64},
    )
    (tiny_run / "eval.json").write_text("{}")
    old_model = (tiny_run / "model.zip").read_bytes()
    import flatnet_rl.agents.train as train_module

    def interrupted(staging, out):
        assert (staging / "model.zip").is_file() and (staging / "tb").is_dir()
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "publish_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_agent(config, progress=False, overwrite=True)
    assert (tiny_run / "model.zip").read_bytes() == old_model
    load_run(tiny_run, device="cpu")  # still whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    monkeypatch.undo()
    train_agent(config, progress=False, overwrite=True)
    assert (tiny_run / "model.zip").read_bytes() != old_model
    assert not (tiny_run / "eval.json").exists()
    logs = list((tiny_run / "tb").rglob("events.out.tfevents*"))
    assert len(logs) == 1  # the old run's TensorBoard log went with it
    assert json.loads((tiny_run / "config.json").read_text())["seed"] == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


class _SmallImages:
    """A Gymnasium env of 16x16 RGB frames (SB3's NatureCNN needs 36x36)."""

    @staticmethod
    def make():
        import gymnasium as gym
        import numpy as np

        class Small(gym.Env):
            observation_space = gym.spaces.Box(0, 255, (16, 16, 3), np.uint8)
            action_space = gym.spaces.Discrete(2)

            def reset(self, *, seed=None, options=None):
                super().reset(seed=seed)
                return np.zeros((16, 16, 3), np.uint8), {}

            def step(self, action):
                return np.zeros((16, 16, 3), np.uint8), 0.0, False, True, {}

        return Small()


def test_train_agent_on_images_under_36_px_says_so_before_training(tmp_path):
    import gymnasium as gym
    import torch

    from flatnet_rl.classifier import Classifier

    if "FlatnetTestSmall-v0" not in gym.registry:
        gym.register("FlatnetTestSmall-v0", entry_point=_SmallImages.make)
    clf = Classifier.from_module(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16 * 16 * 3, 2)),
        image_size=16,
        class_names=["a", "b"],
    )
    config = AgentConfig(
        env_id="FlatnetTestSmall-v0",
        target="a",
        timesteps=64,
        n_envs=1,
        out=str(tmp_path / "run"),
        judges=["judge"],
    )
    with pytest.raises(ValueError, match="NatureCNN.*36x36"):
        train_agent(config, reward=clf, progress=False)
    assert not (tmp_path / "run" / "model.zip").exists()


def test_final_images_plot_reads_channel_first_frames(tmp_path):
    import numpy as np

    from flatnet_rl.agents.evaluate import plot_final_images
    from flatnet_rl.agents.hacking import EpisodeRecord

    record = EpisodeRecord(value_range=(0.0, 255.0))
    for i in range(3):
        record.add(np.full((3, 40, 40), 80 * i, np.uint8), i % 2, 5, 0.0)
        record.add(np.full((1, 40, 40), 80 * i, np.uint8), i % 2, 5, 0.0)
    scores = {
        "target": np.array([0, 1] * 3),
        "proxy_p_target": np.full(6, 0.5),
        "judge_p_target": np.full(6, 0.5),
    }
    path = plot_final_images(record, scores, ["a", "b"], tmp_path / "final.png")
    assert path.stat().st_size > 1000


def test_a_run_config_naming_a_module_does_not_import_it(tiny_run, tmp_path):
    import sys

    record = json.loads((tiny_run / "config.json").read_text())
    record["env_id"] = "antigravity:Fly-v0"  # importing it would run its code
    (tiny_run / "config.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="never imports"):
        load_run(tiny_run, device="cpu")
    assert "antigravity" not in sys.modules


def test_evaluate_agent_on_an_incomplete_config(tiny_run, tmp_path, capsys):
    run = tiny_run
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "algo": "sac"}))
    assert cli_main(["evaluate-agent", str(run), "--out", str(tmp_path / "e")]) == 2
    assert "not a valid agent config" in capsys.readouterr().err
    (run / "config.json").write_text("[1, 2]")
    assert cli_main(["evaluate-agent", str(run), "--out", str(tmp_path / "e")]) == 2
    # A missing key never silently becomes a default (another reward model, action mode).
    for key in ("reward_model", "action_mode"):
        (run / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != key}))
        assert cli_main(["evaluate-agent", str(run), "--out", str(tmp_path / "e")]) == 2
        assert f"lacks {key}" in capsys.readouterr().err
    assert not (tmp_path / "e").exists() or not any((tmp_path / "e").iterdir())


def test_overwriting_a_run_leaves_no_result_of_the_old_agent(tmp_path):
    config = AgentConfig(
        timesteps=64,
        n_envs=2,
        out=str(tmp_path / "run"),
        hyperparams={"n_steps": 32, "batch_size": 64},
        eval_every=32,
        curve_episodes=2,
    )
    run = train_agent(config, progress=False)
    from flatnet_rl.agents.evaluate import EVAL_FILES, evaluate_agent

    evaluate_agent(run, episodes=2)
    assert all((run / name).exists() for name in (*EVAL_FILES, "curve.json"))
    config.eval_every = 0
    train_agent(config, progress=False, overwrite=True)
    assert not any((run / name).exists() for name in (*EVAL_FILES, "curve.json"))
    assert (run / "model.zip").exists()
