"""No silent wrong reward, no traceback for a user's mistake, no lost work.

One test (or more) per defect found by the adversarial pass, plus property tests of the
reward path (hypothesis).
"""

from __future__ import annotations

import json
import os

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import DummyVecEnv

from flatnet_rl import (
    FlatnetReward,
    FlatnetRewardVecEnv,
    FlatnetRewardVector,
    PaintEnv,
    load_classifier,
)
from flatnet_rl.agents import AgentConfig, train_agent
from flatnet_rl.agents.envs import make_env
from flatnet_rl.agents.runs import load_run
from flatnet_rl.cli import build_parser
from flatnet_rl.cli import main as cli_main
from flatnet_rl.envs.paint_sb3 import PaintVecEnv
from flatnet_rl.envs.paint_vector import PaintVectorEnv
from flatnet_rl.reward import EPISODE_FIELDS, EPISODE_KEY, ClassifierRewardModel

FLATNET = load_classifier("flatnet", device="cpu")


# ------------------------------------------------------------ conventions of SB3 users


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


def _episode_records_single() -> dict:
    env = FlatnetReward(PaintEnv(target=3, max_steps=4), FLATNET)
    env.reset(seed=0)
    for _ in range(4):
        *_, info = env.step(10)
    return info[EPISODE_KEY]


def _episode_records_sb3() -> dict:
    venv = FlatnetRewardVecEnv(PaintVecEnv(2, target=3, max_steps=4), FLATNET)
    venv.seed(0)
    venv.reset()
    for _ in range(4):
        *_, infos = venv.step(np.array([10, 11]))
    return infos[0][EPISODE_KEY]


@pytest.mark.parametrize("autoreset", ["next_step", "same_step"])
def test_one_episode_schema_for_all_three_wrappers(autoreset):
    single, sb3 = _episode_records_single(), _episode_records_sb3()
    assert set(single) == set(sb3) == set(EPISODE_FIELDS)
    assert single["length"] == sb3["length"] == 4 and single["target"] == 3
    assert single["return"] == pytest.approx(single["p_target_final"] - single["p_target_initial"])
    assert single["image"].shape == (8, 8)
    mode = {
        "next_step": gym.vector.AutoresetMode.NEXT_STEP,
        "same_step": gym.vector.AutoresetMode.SAME_STEP,
    }[autoreset]
    envs = FlatnetRewardVector(
        PaintVectorEnv(3, target=3, max_steps=4, autoreset_mode=mode), FLATNET
    )
    envs.reset(seed=0)
    for _ in range(4):
        *_, infos = envs.step(np.array([10, 11, 12]))
    assert infos[f"_{EPISODE_KEY}"].all() and infos["_flatnet"].all()
    record = infos[EPISODE_KEY]
    assert set(record) == set(EPISODE_FIELDS)
    assert record["length"].tolist() == [4, 4, 4] and record["image"].shape == (3, 8, 8)
    np.testing.assert_allclose(
        record["return"], record["p_target_final"] - record["p_target_initial"], atol=1e-9
    )
    # The next step: no episode ended, so no record (its mask would say so).
    *_, infos = envs.step(np.array([1, 2, 3]))
    assert EPISODE_KEY not in infos or not infos[f"_{EPISODE_KEY}"].any()


def test_fixed_target_must_agree_with_the_observation():
    """The old quick start rewarded 7 while the observation asked for 8."""
    env = FlatnetReward(gym.make("FlatnetPaintBare-v0"), "flatnet", target=7)
    with pytest.raises(ValueError, match="observation asks for"):
        for seed in range(20):  # some seed draws a target other than 7
            env.reset(seed=seed)
    agreeing = FlatnetReward(gym.make("FlatnetPaintBare-v0", target=7), "flatnet", target=7)
    _, info = agreeing.reset(seed=0)
    assert info["flatnet"]["target"] == 7


def test_stepping_a_finished_episode_raises():
    env = FlatnetReward(PaintEnv(target=1), FLATNET)
    env.reset(seed=0)
    env.step(64)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(3)


def test_a_judge_is_never_a_reward():
    for make in (
        lambda: gym.make("FlatnetPaint-v0", classifier="judge"),
        lambda: ClassifierRewardModel("judge"),
        lambda: FlatnetReward(PaintEnv(), "judge"),
    ):
        with pytest.raises(ValueError, match="judge"):
            make()


def test_non_finite_probabilities_never_become_a_reward(monkeypatch):
    env = FlatnetReward(PaintEnv(target=1), load_classifier("flatnet", device="cpu"))
    env.reset(seed=0)
    real = env.classifier.forward

    def nan_forward(batch):
        out = real(batch)
        return out * float("nan")

    monkeypatch.setattr(env.classifier, "probs_of_input", lambda b: nan_forward(b).softmax(-1))
    with pytest.raises(FloatingPointError, match="non-finite"):
        env.step(3)


# --------------------------------------------------------------------- reward properties

_SETTINGS = settings(max_examples=25, deadline=None, database=None)
_actions = st.lists(st.integers(0, 64), min_size=1, max_size=40)


@_SETTINGS
@given(actions=_actions, target=st.integers(0, 9), seed=st.integers(0, 1000))
def test_delta_telescopes(actions, target, seed):
    env = FlatnetReward(PaintEnv(target=target, start="noise"), FLATNET, mode="delta")
    _, info = env.reset(seed=seed)
    start, total = info["flatnet"]["p_target"], 0.0
    for a in actions:
        _, r, term, trunc, info = env.step(a)
        total += r
        if term or trunc:
            break
    assert total == pytest.approx(info["flatnet"]["p_target"] - start, abs=1e-6)


@_SETTINGS
@given(actions=_actions, target=st.integers(0, 9), seed=st.integers(0, 1000))
def test_prob_reward_equals_predict_proba(actions, target, seed):
    env = FlatnetReward(PaintEnv(target=target, start="noise"), FLATNET, mode="prob")
    env.reset(seed=seed)
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        expected = FLATNET.predict_proba(obs["canvas"], value_range=(0, 1))[target]
        assert r == pytest.approx(float(expected), abs=1e-6)
        if term or trunc:
            break


@_SETTINGS
@given(
    n=st.integers(1, 5),
    steps=st.integers(1, 25),
    seed=st.integers(0, 1000),
    mode=st.sampled_from(["delta", "prob", "final", "log_prob"]),
)
def test_vectorized_equals_per_env(n, steps, seed, mode):
    """The native vector env under the SB3 wrapper gives each env the reward the per-env
    wrapper gives it, whatever the other envs do (batch invariance)."""
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 65, size=(steps, n))
    venv = FlatnetRewardVecEnv(PaintVecEnv(n, start="noise", max_steps=7), FLATNET, mode=mode)
    venv.seed(seed)
    venv.reset()
    batched = np.stack([venv.step(a)[1] for a in actions])
    for i in range(n):
        env = FlatnetReward(PaintEnv(start="noise", max_steps=7), FLATNET, mode=mode)
        env.reset(seed=seed + i)
        for t in range(steps):
            _, r, term, trunc, _ = env.step(int(actions[t, i]))
            assert batched[t, i] == pytest.approx(r, abs=1e-5)
            if term or trunc:
                env.reset()


# ------------------------------------------------------------------------------- CLI

SUBCOMMANDS = [
    "train-classifier",
    "info",
    "compare",
    "sweep",
    "compare-agents",
    "train-agent",
    "evaluate-agent",
]


def test_every_option_of_every_subcommand_has_help_and_shows_its_default(capsys):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert set(sub.choices) == set(SUBCOMMANDS)
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest == "help":
                continue
            assert action.help and action.help.strip(), (name, action.dest)
        with pytest.raises(SystemExit) as stop:
            cli_main([name, "--help"])
        assert stop.value.code == 0
        text = capsys.readouterr().out
        assert "default:" in text, name


def test_help_shows_each_default_once_and_none_for_required_or_positional():
    """No "(default: ...)" twice (a help string naming its own default besides argparse's),
    and no "default: None" on a required option or a positional."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        formatter = p._get_formatter()
        for action in p._actions:
            text = formatter._get_help_string(action) or ""
            assert text.count("default:") <= 1, (name, action.dest, text)
            if (action.required or not action.option_strings) and action.default is None:
                assert "%(default)" not in text, (name, action.dest, text)
    text = " ".join(sub.choices["train-classifier"].format_help().split())
    assert "output checkpoint (.safetensors) --overwrite" in text


BAD_FLAGS = {
    "train-classifier": [
        ["--epochs", "-1"],
        ["--epochs", "99999999999999999999"],
        ["--lr", "nan"],
        ["--arch", "x"],
        ["--bogus"],
        ["--out"],
        ["--outliers", "1e3"],
        ["--data", "/nonexistent/x", "--out", "o.safetensors"],
    ],
    "info": [["/nonexistent.safetensors"], ["."]],
    "compare": [
        ["--paths", "0"],
        ["--engine", "spark"],
        ["nonsense-model"],
        ["--source", "emnist"],
        ["--hacking", "/nonexistent.json"],
    ],
    "sweep": [["--kappa", "x"], ["--seeds", "0"], ["--epochs", "-3"]],
    "compare-agents": [["--seeds", "0"], ["--action-mode", "brush"], ["--timesteps", "0"]],
    "train-agent": [
        ["--env", "Bogus-v0", "--target", "1"],
        ["--env", "Bogus-v0"],
        ["--hyperparams", '{"bogus": 1}'],
        ["--hyperparams", '{"gamma": 2}'],
        ["--env-kwargs", '{"foo": 3}'],
        ["--timesteps", "0"],
        ["--hyperparams", "[1]"],
        ["--reward-model", "judge"],
        ["--reward-model", "no-such-model"],
        ["--start", "scribble"],
        ["--hyperparams", '{"seed": 1}'],
        ["--hyperparams", '{"tensorboard_log": "/x"}'],
        ["--hyperparams", '{"_init_setup_model": false}'],
        ["--hyperparams", '{"rollout_buffer_class": "x"}'],
        ["--hyperparams", '{"ent_coef": 1e308}'],
        ["--hyperparams", '{"policy_kwargs": {"foo": 1}}'],
        # A small budget: if one slipped through, the test fails in seconds, not minutes.
        ["--timesteps", "64", "--hyperparams", '{"policy_kwargs": {"template": "no"}}'],
        [
            "--timesteps",
            "64",
            "--action-mode",
            "pen",
            "--hyperparams",
            '{"policy_kwargs": {"can_stop": "no"}}',
        ],
        [
            "--timesteps",
            "64",
            "--action-mode",
            "pen",
            "--hyperparams",
            '{"policy_kwargs": {"radius": 0}}',
        ],
        ["--algo", "dqn", "--reward-scoring", "rollout"],
        ["--reward-scoring", "episode"],
    ],
    "evaluate-agent": [["/nonexistent"], [".", "--episodes", "0"], ["."]],
}


@pytest.mark.parametrize(
    "argv",
    [[cmd, *flags] for cmd, cases in BAD_FLAGS.items() for flags in cases],
    ids=lambda a: " ".join(a),
)
def test_cli_mistakes_are_one_line_exit_2_and_lose_nothing(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    keep = tmp_path / "runs" / "keep.txt"
    keep.write_text("precious")
    try:
        code = cli_main(
            [
                *argv,
                *(
                    ["--out", str(tmp_path / "out")]
                    if "--out" not in argv
                    and argv[0] in ("compare", "sweep", "compare-agents", "train-agent")
                    else []
                ),
            ]
        )
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if "%|" not in line]  # no tqdm bars
    assert "Traceback" not in err and len(lines) == 1, err
    assert keep.read_text() == "precious"
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_outputs_in_the_way_are_refused_before_any_work(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for argv in (
        ["compare", "flatnet", "--out", str(a_file)],
        ["sweep", "--out", str(a_file)],
        ["train-classifier", "--out", str(a_file / "m.safetensors")],
        ["train-agent", "--out", str(a_file)],
    ):
        assert cli_main([*argv, "--quiet"]) == 2, argv
        assert "Traceback" not in capsys.readouterr().err
    assert a_file.read_text() == "x"
    report = tmp_path / "cmp"
    report.mkdir()
    (report / "report.md").write_text("old")
    assert cli_main(["compare", "flatnet", "--out", str(report), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err and (report / "report.md").read_text() == "old"
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert cli_main(["compare", "flatnet", "--out", str(locked / "x"), "--quiet"]) == 2


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(ValueError, match="unknown model spec"):
        cli_main(["compare", "nonsense", "--out", str(tmp_path / "o"), "--debug", "--quiet"])


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


def test_dummy_vec_env_stack_matches_native(tmp_path):
    """SB3's own DummyVecEnv of PaintEnv under the same wrapper gives the same rewards."""
    native = FlatnetRewardVecEnv(PaintVecEnv(3, start="noise", max_steps=6), FLATNET)
    native.seed(4)
    dummy = FlatnetRewardVecEnv(
        DummyVecEnv([lambda: PaintEnv(start="noise", max_steps=6)] * 3), FLATNET
    )
    dummy.seed(4)
    native.reset()
    dummy.reset()
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 65, 3)
        np.testing.assert_allclose(native.step(a)[1], dummy.step(a)[1], atol=1e-6)


def test_a_model_returning_nan_is_named_in_compare():
    from flatnet_rl.evaluation.compare import evaluate_models

    class Broken:
        name, canvas_size, metadata = "broken-model", 8, {}

        def predict_proba(self, images, **kwargs):
            return np.full((len(images), 10), np.nan)

    with pytest.raises(ValueError, match="broken-model"):
        evaluate_models([Broken()], n_outliers=10, n_paths=2)


# ------------------------------------------------------------ second adversarial pass


def _one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI, expect a user error: exit 2, one line, no traceback; return the line."""
    code = cli_main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if "%|" not in line]  # no tqdm bars
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("canvas_size", [3, 65, 200, "x", "8", True, 8.0])
def test_paint_canvas_size_is_the_envs_before_any_model_is_looked_up(canvas_size):
    """A size the env cannot paint says so, and never suggests training a model for it."""
    for make in (gym.make, lambda *a, **k: gym.make_vec(*a, num_envs=2, **k)):
        with pytest.raises(ValueError, match=r"canvas_size must be an int in 4\.\.64") as info:
            make("FlatnetPaint-v0", canvas_size=canvas_size)
        assert "train-classifier" not in str(info.value)


@pytest.mark.parametrize("canvas_size", [4, 5, 64])
def test_paint_suggests_training_only_sizes_the_trainer_accepts(canvas_size, tmp_path):
    from flatnet_rl.data.images import MAX_SIDE, MIN_SIDE
    from flatnet_rl.envs.paint import MAX_CANVAS, MIN_CANVAS

    # Every size the env paints is one the trainer takes, so every suggestion can run.
    assert MIN_SIDE <= MIN_CANVAS and MAX_CANVAS <= MAX_SIDE
    with pytest.raises(ValueError, match="no shipped flatnet model") as info:
        gym.make("FlatnetPaint-v0", canvas_size=canvas_size)
    suggested = str(info.value).split("`")[1].split()
    assert suggested[:2] == ["flatnet-rl", "train-classifier"] and suggested[-1] == "..."
    out = str(tmp_path / "m.safetensors")
    args = build_parser().parse_args([*suggested[1:-1], "--out", out])  # exits if refused
    assert args.canvas == canvas_size


def test_a_folder_given_as_a_checkpoint_is_named_as_a_folder(tmp_path, capsys):
    folder = tmp_path / "models"
    folder.mkdir()
    expected = f"{folder} is a directory, expected a .safetensors checkpoint file"
    out = tmp_path / "out"
    tiny = ["--epochs", "1", "--arch", "mlp", "--outliers", "0", "--quiet"]
    for argv in (
        ["train-classifier", "--init", str(folder), *tiny, "--out", f"{out}.safetensors"],
        ["train-agent", "--reward-model", str(folder), "--out", str(out)],
        ["train-agent", "--reward-model", f"{folder}/", "--out", str(out)],
        ["compare", str(folder), "--out", str(out), "--quiet"],
    ):
        assert expected in _one_line_exit_2(argv, capsys), argv
    assert not any(tmp_path.glob("out*")) and not any(folder.iterdir())
    with pytest.raises(ValueError, match="is a directory, expected a .safetensors"):
        load_classifier(folder)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_an_output_folder_that_takes_no_files_is_refused_before_any_work(
    tmp_path, monkeypatch, capsys
):
    """os.access says yes to root (and on some mounts) where no file can be created: the
    check creates one, so training never runs only to lose its model at save."""
    import flatnet_rl.training
    from flatnet_rl.util.paths import check_writable_dir, check_writable_file

    monkeypatch.setattr(os, "access", lambda *args, **kwargs: True)  # as root sees it

    def no_training(*args, **kwargs):
        raise AssertionError("training started before the output path was proved")

    monkeypatch.setattr(flatnet_rl.training, "train_classifier", no_training)
    for out in ("/proc/flatnet-rl-audit.safetensors", "/proc/no/such/m.safetensors"):
        argv = ["train-classifier", "--epochs", "1", "--arch", "mlp", "--outliers", "0"]
        assert "cannot write to output folder" in _one_line_exit_2(
            [*argv, "--quiet", "--out", out], capsys
        )
        assert not os.path.exists(out)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for folder in ("/proc/flatnet-rl-audit", a_file / "sub"):
        with pytest.raises(ValueError, match="cannot|is a file"):
            check_writable_dir(folder)
    with pytest.raises(ValueError, match="is a file"):
        check_writable_file(a_file / "m.safetensors")
    # The probe leaves nothing behind, and creates no folder it was not asked to keep.
    assert check_writable_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"] and a_file.read_text() == "x"


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
    line = _one_line_exit_2(["train-agent", "--reward-model", str(path), "--out", str(out)], capsys)
    assert "judge" in line and not out.exists()
    assert not load_classifier("flatnet", device="cpu").evaluation_only


@pytest.mark.parametrize("content", [b"ab", b"\x93NUMPY"])
def test_data_that_is_neither_an_archive_nor_a_folder_says_so(content, tmp_path, capsys):
    data = tmp_path / "afile"
    data.write_bytes(content)
    out = tmp_path / "m.safetensors"
    argv = ["train-classifier", "--data", str(data), "--epochs", "1", "--outliers", "0"]
    line = _one_line_exit_2([*argv, "--quiet", "--out", str(out)], capsys)
    assert "is neither an .npz archive" in line and "image folder" in line, line
    assert "pickle" not in line and not out.exists()
    np.save(tmp_path / "x.npy", np.zeros((4, 8, 8)))
    argv[2] = str(tmp_path / "x.npy")
    assert "is neither an .npz archive" in _one_line_exit_2(
        [*argv, "--quiet", "--out", str(out)], capsys
    )
