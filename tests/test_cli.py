"""Command-line behaviour: every option documented with its default, a user's mistake is one
line and exit 2 with nothing lost, outputs in the way refused before any work, --debug."""

from __future__ import annotations

import os

import pytest
from conftest import one_line_exit_2

from flatnet_rl import load_classifier
from flatnet_rl.cli import build_parser
from flatnet_rl.cli import main as cli_main

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
    "compare-agents": [
        ["--seeds", "0"],
        ["--action-mode", "brush"],
        ["--timesteps", "0"],
        ["--algo", "sac"],
        ["--reward-mode", "logit"],
        ["--device", "tpu"],
    ],
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
        assert expected in one_line_exit_2(argv, capsys), argv
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
        assert "cannot write to output folder" in one_line_exit_2(
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
