"""Options generated from the config dataclasses: the schema the parser reads is the
dataclasses' own (regenerated here), each field's limits hold on the command line as in the
config, and an option's value reaches the config unchanged."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from flatnet_rl.agents import AgentConfig
from flatnet_rl.cli import build_parser
from flatnet_rl.cli.agents import ENV_FIELDS, RUN_FIELDS
from flatnet_rl.cli.config_options import config_kwargs, describe, generate, plain_help, schema
from flatnet_rl.util.checks import check_fields, choice_field, int_field


def test_the_shipped_schema_is_the_dataclasses_own():
    # Stale? Run: python -m flatnet_rl.cli.config_options
    assert schema() == generate()


def test_train_agent_offers_every_agent_config_field_once():
    names = [f.name for f in dataclasses.fields(AgentConfig)]
    assert sorted(ENV_FIELDS + RUN_FIELDS) == sorted(names)


def test_defaults_reach_the_config_as_the_dataclass_has_them():
    args = build_parser().parse_args(["train-agent"])
    options = config_kwargs(args, ENV_FIELDS + RUN_FIELDS)
    defaults = {
        f.name: describe(AgentConfig)[f.name]["default"] for f in dataclasses.fields(AgentConfig)
    }
    assert options == defaults


def test_values_and_old_spellings_reach_the_config():
    args = build_parser().parse_args(
        [
            "train-agent",
            "--curve-every",
            "500",
            "--cache",
            "c",
            "--env",
            "X-v0",
            "--curve-episodes",
            "7",
        ]
    )
    options = config_kwargs(args, ENV_FIELDS + RUN_FIELDS)
    assert (options["eval_every"], options["cache_dir"], options["env_id"]) == (500, "c", "X-v0")
    assert options["curve_episodes"] == 7


@pytest.mark.parametrize(
    "argv",
    [
        ["--seed", "-1"],
        ["--n-envs", "5000"],
        ["--canvas-size", "3"],
        ["--curve-episodes", "0"],
        ["--reward-scoring", "sometimes"],
        ["--env-kwargs", "[1]"],
    ],
)
def test_values_out_of_a_fields_limits_are_parse_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["train-agent", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err.count("error:") == 1


def test_the_config_checks_the_same_limits():
    with pytest.raises(ValueError, match="curve_episodes must be an integer in"):
        AgentConfig(curve_episodes=0)
    with pytest.raises(ValueError, match="reward_scoring must be one of rollout, step"):
        AgentConfig(reward_scoring="sometimes")


def test_check_fields_skips_none_only_where_none_is_the_default():
    @dataclasses.dataclass
    class Config:
        """A config.

        Attributes:
            count: how many.
            mode: which.
        """

        count: int | None = int_field(None, 1, 9)
        mode: str = choice_field("a", ("a", "b"))

    check_fields(Config())
    for bad in (Config(count=0), Config(count=True), Config(mode=None), Config(mode="c")):
        with pytest.raises(ValueError):
            check_fields(bad)
    assert describe(Config)["count"] == {
        "type": "int | None",
        "default": None,
        "help": "how many",
        "low": 1,
        "high": 9,
    }


def test_a_field_without_a_docstring_entry_is_refused():
    @dataclasses.dataclass
    class Config:
        """No attributes."""

        count: int = 1

    with pytest.raises(ValueError, match="Config.count has no entry"):
        describe(Config)


def test_plain_help_reads_rest_as_sphinx_shows_it():
    text = "see :func:`~a.b.run`, :data:`a.b.MODES` and ``x``.\n   more."
    assert plain_help(text) == "see run, a.b.MODES and x. more"


def test_help_is_the_docstring(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-agent", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "evaluation episodes per point of the overoptimization curve" in text
    assert isinstance(build_parser(), argparse.ArgumentParser)


def _train_config(*argv: str):
    from flatnet_rl.cli.classifier import config_from_args

    return config_from_args(
        build_parser().parse_args(["train-classifier", "--out", "m.safetensors", *argv])
    )


def test_train_classifier_defaults_are_the_flatnet_recipe():
    config = _train_config()
    assert (config.objective.loss, config.objective.kappa, config.outliers) == (
        "entropy",
        0.3,
        2000,
    )
    assert config.env_outliers == 0  # no env named: no env frames
    assert (config.data.source, config.data.canvas) == ("digits", 8)


def test_train_classifier_values_reach_objective_trainconfig_and_dataspec():
    config = _train_config(
        "--loss",
        "logitnorm",
        "--tau",
        "0.5",
        "--mix-eps",
        "0.01",
        "--outlier-families",
        "scribble,lines",
        "--outlier-ratio",
        "4",
        "--image-size",
        "14",
        "--threshold",
        "0.5",
        "--evaluation-only",
        "--source",
        "mnist5k",
    )
    assert (config.objective.loss, config.objective.tau, config.objective.mix_eps) == (
        "logitnorm",
        0.5,
        0.01,
    )
    assert config.outlier_families == ("scribble", "lines")
    assert (config.outlier_ratio, config.evaluation_only) == (4.0, True)
    assert (config.data.source, config.data.canvas, config.data.threshold) == ("mnist5k", 14, 0.5)


@pytest.mark.parametrize(
    "argv",
    [
        ["--tau", "0"],
        ["--smoothing", "1"],
        ["--outlier-ratio", "17"],
        ["--stroke-width-aug", "1.5"],
        ["--lr", "nan"],
        ["--threshold", "0"],
        ["--clip-part", "body"],
        ["--loss", "hinge"],
    ],
)
def test_train_classifier_limits_are_parse_errors(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["train-classifier", "--out", "m.safetensors", *argv])
    assert stop.value.code == 2
    assert capsys.readouterr().err.count("error:") == 1


def test_compare_agents_values_reach_the_grid():
    from flatnet_rl.cli.agent_grid import GRID_FIELDS

    args = build_parser().parse_args(["compare-agents", "--seeds", "3", "--curve-every", "10"])
    options = config_kwargs(args, GRID_FIELDS)
    assert (options["seeds"], options["eval_every"], options["hyperparams"]) == (3, 10, {})


def test_compare_agents_passes_algo_reward_mode_and_device_to_every_run(tmp_path):
    from flatnet_rl.cli.agent_grid import GRID_FIELDS
    from flatnet_rl.evaluation.agent_comparison import AgentGrid, make_jobs

    argv = ["compare-agents", "--algo", "a2c", "--reward-mode", "prob", "--seeds", "2"]
    options = config_kwargs(build_parser().parse_args(argv), GRID_FIELDS)
    assert (options["algo"], options["reward_mode"], options["device"]) == ("a2c", "prob", "cpu")
    grid = AgentGrid(reward_models=("flatnet", "baseline"), **options)
    configs = [job.config for job in make_jobs(grid, tmp_path)]
    assert len(configs) == 4
    assert {(c["algo"], c["reward_mode"], c["device"]) for c in configs} == {("a2c", "prob", "cpu")}


@pytest.mark.parametrize(
    "argv",
    [
        ["train-agent", "--out", ""],
        ["train-agent", "--cache-dir", " "],
        ["train-classifier", "--out", "m.safetensors", "--data", ""],
        ["train-classifier", "--out", "m.safetensors", "--outliers-from-env", ""],
    ],
)
def test_an_empty_path_or_name_is_a_parse_error(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(argv)
    assert stop.value.code == 2
    assert "expected a non-empty value" in capsys.readouterr().err


def test_an_unknown_option_is_reported_by_its_subcommand(capsys):
    from flatnet_rl.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["train-agent", "--bogus", "1"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("flatnet-rl train-agent: error: unrecognized arguments: --bogus 1")
    assert "see flatnet-rl train-agent --help" in err


def test_field_names_in_help_are_shown_as_their_flags(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-classifier", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "episodes of --outliers-from-env are added" in text
    assert "env_id" not in text


def test_a_demo_evaluation_start_outside_stroke_mode_fails_before_training():
    with pytest.raises(ValueError, match="start 'demo' replays stroke drawings"):
        AgentConfig(eval_start="demo")


def test_a_missing_engine_is_said_before_any_job(monkeypatch, capsys, tmp_path):
    import importlib.util

    from flatnet_rl.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "ray" else real(n, *a)
    )
    status = main(
        ["compare-agents", "flatnet", "baseline", "--engine", "ray", "--out", str(tmp_path / "x")]
    )
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and 'engine "ray" needs Ray' in err
    assert not (tmp_path / "x").exists()


def test_compare_agents_on_a_finished_report_names_resume_and_overwrite(tmp_path, capsys):
    from flatnet_rl.cli import main

    (tmp_path / "report.md").write_text("an earlier grid")
    assert main(["compare-agents", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--resume to keep its finished runs" in err
    with pytest.raises(SystemExit) as stop:
        main(["compare-agents", "--out", str(tmp_path), "--resume", "--overwrite"])
    assert stop.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
    assert (tmp_path / "report.md").read_text() == "an earlier grid"
