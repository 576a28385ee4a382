"""Agents: SB3 trainers, evaluation against the judge, CLI and examples (smoke budgets)."""

from __future__ import annotations

import json
import runpy
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.evaluation import evaluate_policy

from flatnet_rl.agents import AgentConfig, CanvasFeaturesExtractor, preset, train_agent
from flatnet_rl.agents.envs import judges_of, make_env
from flatnet_rl.agents.evaluate import evaluate_agent, format_markdown
from flatnet_rl.agents.hacking import (
    CORE_KEYS,
    HACKING_KEYS,
    EpisodeRecord,
    score_episodes,
    summarize,
)
from flatnet_rl.agents.presets import RUNS
from flatnet_rl.agents.runs import load_run
from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.cli import main as cli_main

FLATNET = load_classifier("flatnet", device="cpu")


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn"])
def test_each_algorithm_trains_saves_and_reloads(tmp_path, algo):
    hyper = {"ppo": {"n_steps": 32, "batch_size": 64}, "a2c": {}, "dqn": {"learning_starts": 50}}
    config = AgentConfig(
        algo=algo, timesteps=256, n_envs=4, out=str(tmp_path / algo), hyperparams=hyper[algo]
    )
    run = train_agent(config, progress=False)
    assert (run / "model.zip").is_file() and (run / "config.json").is_file()
    assert any((run / "tb").rglob("events.out.tfevents*"))
    loaded_config, model = load_run(run, device="cpu")
    assert loaded_config.algo == algo
    result = evaluate_agent(run, episodes=8)
    overall = result["overall"]
    assert overall["episodes"] == 8
    assert 0.0 <= overall["judge_p_target"] <= 1.0 and 0.0 <= overall["fooling_rate"] <= 1.0
    for name in ("eval.json", "eval.md", "final_canvases.png"):
        assert (run / name).is_file()


def test_demo_starts_are_searched_on_the_reward_and_recorded_in_the_run(tmp_path):
    config = AgentConfig(
        action_mode="stroke",
        start={"blank": 0.5, "demo": 0.5},
        timesteps=64,
        n_envs=2,
        out=str(tmp_path / "run"),
        hyperparams={"n_steps": 32, "batch_size": 32},
    )
    run = train_agent(config, progress=False)
    recorded = json.loads((run / "config.json").read_text())["env_kwargs"]["stroke_demos"]
    assert len(recorded) == 10 and all(len(seq) >= 1 for seq in recorded)
    loaded, _ = load_run(run, device="cpu")
    assert loaded.env_kwargs["stroke_demos"] == recorded  # evaluation rebuilds the same env
    assert evaluate_agent(run, episodes=2)["overall"]["episodes"] == 2


def test_same_seed_same_agent(tmp_path):
    def weights(out):
        run = train_agent(
            AgentConfig(timesteps=128, n_envs=2, out=str(out), hyperparams={"n_steps": 32}),
            progress=False,
        )
        _, model = load_run(run, device="cpu")
        return torch.cat([p.detach().flatten() for p in model.policy.parameters()])

    assert torch.equal(weights(tmp_path / "a"), weights(tmp_path / "b"))


def test_features_extractor_handles_small_canvases():
    space = gym.make("FlatnetPaintBare-v0", action_mode="pen").observation_space
    extractor = CanvasFeaturesExtractor(space)
    obs = {
        "canvas": torch.zeros(3, 8, 8),
        "target": torch.zeros(3, 10),
        "cursor": torch.zeros(3, 16),
    }
    assert extractor(obs).shape == (3, extractor.features_dim)
    with pytest.raises(ValueError, match="canvas"):
        CanvasFeaturesExtractor(gym.spaces.Dict({"x": gym.spaces.Discrete(2)}))


def test_hacking_metrics_flag_fooled_episodes():
    proxy, judge = load_classifier("baseline"), load_classifier("judge")
    record = EpisodeRecord()
    rng = np.random.default_rng(0)
    for _ in range(50):  # noise canvases: the baseline is often confident, the judge is not
        record.add((rng.random((8, 8)) < 0.3).astype(np.uint8), int(rng.integers(10)), 10, 0.0)
    summary = summarize(score_episodes(record, proxy, judge))
    assert summary["episodes"] == 50
    assert summary["judge_p_target"] < 0.2
    assert summary["gap"] == pytest.approx(summary["proxy_p_target"] - summary["judge_p_target"])


def test_eval_markdown_columns_are_the_hacking_keys_in_order():
    """eval.md's table is derived from HACKING_KEYS (one place), in its order."""
    summary = {k: 0.5 for k in HACKING_KEYS} | {"episodes": 4}
    result = {
        "run": "r",
        "reward_model": "flatnet",
        "reward_mode": "delta",
        "judges": ["judge"],
        "deterministic": True,
        "overall": summary,
        "per_target": {"3": summary},
    }
    header = format_markdown(result).splitlines()[4]
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[:2] == ["target", "episodes"]
    assert set(CORE_KEYS) <= set(columns[2:])
    assert columns[2:] == [k for k in HACKING_KEYS if k in columns[2:]]


def test_shipped_judges_are_refused_for_a_reward_model_of_other_classes(tmp_path):
    """The digit judges must not silently judge a shapes reward model: judges=[...] needed."""
    shapes = ["cross", "ring", "slash"]
    proxy = Classifier.from_module(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 3, 3)),
        image_size=8,
        channels=3,
        class_names=shapes,
    )
    with pytest.raises(ValueError, match=r"judges=\[\.\.\.\].*same classes"):
        judges_of(AgentConfig(), 8, proxy)
    digits = load_classifier("flatnet", device="cpu")
    assert judges_of(AgentConfig(), 8, digits) == ["judge", "judge-cnn"]
    assert judges_of(AgentConfig(judges=("mine.safetensors",)), 8, proxy) == ["mine.safetensors"]
    # Another env: no shipped panel judges it; without judges the reward model is alone.
    config = AgentConfig(env_id="FlatnetShapes-v0", target="ring", out=str(tmp_path / "run"))
    assert judges_of(config, None, proxy) == []


def test_config_validation():
    with pytest.raises(ValueError, match="algo must be one of ppo, a2c, dqn"):
        AgentConfig(algo="sac")
    with pytest.raises(ValueError, match="judge"):
        AgentConfig(reward_model="judge")
    with pytest.raises(ValueError, match="not taken by ppo"):
        AgentConfig(hyperparams={"bogus": 1})
    with pytest.raises(ValueError, match="gamma must be in"):
        AgentConfig(hyperparams={"gamma": 2})
    with pytest.raises(ValueError, match="unknown env id"):
        AgentConfig(env_id="Bogus-v0", target=1)
    with pytest.raises(ValueError, match="timesteps"):
        AgentConfig(timesteps=0)
    with pytest.raises(ValueError, match="target"):
        AgentConfig(target=12)
    with pytest.raises(ValueError, match="target"):
        AgentConfig(env_id="CarRacing-v3")
    with pytest.raises(ValueError, match="start"):
        AgentConfig(start="scribble")
    with pytest.raises(ValueError, match="start"):
        AgentConfig(start={"blank": -1.0})
    assert AgentConfig().start == {"blank": 0.1, "partial": 0.9}  # the curriculum
    assert AgentConfig(action_mode="pen").timesteps == RUNS["pen"]["timesteps"]
    assert AgentConfig().eval_start == "blank"  # the task
    with pytest.raises(ValueError, match="unknown algorithm"):
        preset("sac")
    assert preset("ppo", {"policy_kwargs": {"net_arch": [8]}})["policy_kwargs"]["net_arch"] == [8]


def test_cli_train_and_evaluate_agent(tmp_path, capsys):
    out = tmp_path / "run"
    code = cli_main(
        [
            "train-agent",
            "--timesteps",
            "128",
            "--n-envs",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--eval-episodes",
            "4",
            "--hyperparams",
            json.dumps({"n_steps": 32, "batch_size": 32}),
        ]
    )
    assert code == 0
    # The run's evaluation is never replaced silently: --out elsewhere, or --overwrite.
    before = (out / "eval.json").read_bytes()
    assert cli_main(["evaluate-agent", str(out), "--episodes", "2"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "eval.json").read_bytes() == before
    assert (
        cli_main(["evaluate-agent", str(out), "--episodes", "4", "--out", str(tmp_path / "again")])
        == 0
    )
    assert "judge_p_target" in capsys.readouterr().out
    # Training into a finished run is refused before any work, too.
    model = (out / "model.zip").read_bytes()
    assert cli_main(["train-agent", "--timesteps", "64", "--out", str(out), "--quiet"]) == 2
    assert (out / "model.zip").read_bytes() == model
    assert json.loads((out / "config.json").read_text())["start"] == RUNS["pixel"]["start"]
    assert cli_main(["evaluate-agent", str(tmp_path / "missing")]) == 2
    with pytest.raises(SystemExit):
        cli_main(["train-agent", "--hyperparams", "[1, 2]"])
    assert cli_main(["train-agent", "--target", "12", "--out", str(tmp_path / "t")]) == 2
    assert "target" in capsys.readouterr().err
    bad_starts = ("scribble", '{"blank": 0}', '{"partial": 1', '{"blank": "x"}', '{"blank": true}')
    for bad_start in bad_starts:
        with pytest.raises(SystemExit):
            cli_main(["train-agent", "--start", bad_start])


def test_cli_start_accepts_a_mode_or_a_json_mixture(tmp_path):
    out = tmp_path / "run"
    code = cli_main(
        [
            "train-agent",
            "--timesteps",
            "64",
            "--n-envs",
            "2",
            "--out",
            str(out),
            "--quiet",
            "--eval-episodes",
            "0",
            "--start",
            '{"noise": 1, "partial": 3}',
            "--hyperparams",
            json.dumps({"n_steps": 32, "batch_size": 32}),
        ]
    )
    assert code == 0
    assert json.loads((out / "config.json").read_text())["start"] == {"noise": 1, "partial": 3}


@pytest.mark.parametrize(
    "script",
    [
        "ppo_paint.py",
        "wrap_existing_env.py",
        # The two longest (27 s of the default suite): their paths run in other tests too
        # (compare-agents, training on folders, PPO on FlatnetShapes-v0).
        pytest.param("compare_rewards.py", marks=pytest.mark.slow),
        "sweep_gamma.py",
        pytest.param("shapes_end_to_end.py", marks=pytest.mark.slow),
    ],
)
def test_examples_run_with_small_budgets(tmp_path, monkeypatch, script):
    monkeypatch.chdir(tmp_path)
    args = {
        "ppo_paint.py": ["--timesteps", "512", "--eval-episodes", "4"],
        "wrap_existing_env.py": ["--timesteps", "256"],
        "compare_rewards.py": [
            "--timesteps",
            "256",
            "--eval-episodes",
            "2",
            "--seeds",
            "1",
            "--workers",
            "1",
            "--reward-models",
            "flatnet",
            "baseline",
            "--hyperparams",
            '{"n_steps": 16}',
        ],
        "sweep_gamma.py": [
            "--timesteps",
            "256",
            "--eval-episodes",
            "2",
            "--gammas",
            "0.9",
            "0.5",
            "--workers",
            "1",
        ],
        "shapes_end_to_end.py": [
            "--pictures-per-class",
            "30",
            "--epochs",
            "2",
            "--timesteps",
            "512",
            "--eval-episodes",
            "2",
        ],
    }[script]
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / script
    monkeypatch.setattr(sys, "argv", [str(path), *args])
    runpy.run_path(str(path), run_name="__main__")


def test_evaluate_agent_writes_a_video(tiny_run, tmp_path):
    pytest.importorskip("moviepy")
    from moviepy import VideoFileClip

    run = tiny_run
    video = tmp_path / "episodes.mp4"
    evaluate_agent(run, episodes=2, video=video, video_episodes=2)
    clip = VideoFileClip(str(video))
    try:
        assert clip.duration > 1.0 and clip.size[0] >= 64
    finally:
        clip.close()
    with pytest.raises(FileExistsError, match="--overwrite"):
        evaluate_agent(run, episodes=2, video=video, out=tmp_path / "other")


def test_paint_env_options_are_checked_when_the_config_is_made():
    with pytest.raises(ValueError, match="needs action_mode='stroke'"):
        AgentConfig(start="demo")
    with pytest.raises(ValueError, match="stroke_curves must be True or False"):
        AgentConfig(action_mode="stroke", env_kwargs={"stroke_curves": "yes"})
    with pytest.raises(ValueError, match="stroke_demos must be 10 sequences"):
        AgentConfig(action_mode="stroke", env_kwargs={"stroke_demos": [[1]]})


def test_evaluate_policy_reports_the_learned_return(tmp_path):
    """VecMonitor sits above the reward: evaluate_policy, EvalCallback and ep_rew_mean see
    the reward being optimised, not the paint env's constant 0."""
    run = train_agent(
        AgentConfig(
            timesteps=256,
            n_envs=4,
            out=str(tmp_path / "run"),
            hyperparams={"n_steps": 32, "batch_size": 64},
        ),
        progress=False,
    )
    config, model = load_run(run, device="cpu")
    venv = make_env(config, FLATNET, n_envs=2, seed=50, evaluation=True)
    returns, _ = evaluate_policy(model, venv, n_eval_episodes=6, return_episode_rewards=True)
    assert len(returns) == 6 and any(abs(r) > 1e-6 for r in returns)
    # The learned return of a delta reward telescopes to p_final - p_initial, within [-1, 1].
    assert all(-1.0 <= r <= 1.0 for r in returns)
    # Training's ep_rew_mean (TensorBoard; a loaded policy carries no training buffers: they
    # would be unpickled from the run folder).
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (run / "tb").rglob("events.out.tfevents*")
    logged = EventAccumulator(str(events)).Reload()
    ep_rew = [e.value for e in logged.Scalars("rollout/ep_rew_mean")]
    assert ep_rew and any(abs(r) > 1e-6 for r in ep_rew)


def test_evaluate_agent_refuses_its_reward_model_as_judge_and_a_file_as_run(
    tiny_run, tmp_path, capsys
):
    run = tiny_run
    argv = ["evaluate-agent", str(run), "--episodes", "2", "--judges", "flatnet"]
    assert cli_main(argv) == 2
    assert "reward model" in capsys.readouterr().err
    a_file = tmp_path / "afile"
    a_file.write_text("x")
    assert cli_main(["evaluate-agent", str(a_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_a_diverged_policy_is_never_saved(tmp_path):
    import torch

    from flatnet_rl.agents.train import build_algorithm, check_finite

    config = AgentConfig(timesteps=64, n_envs=2, out=str(tmp_path / "run"), device="cpu")
    model = build_algorithm(config, make_env(config, FLATNET))
    check_finite(model)
    with torch.no_grad():
        next(model.policy.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(FloatingPointError, match="diverged"):
        check_finite(model)
