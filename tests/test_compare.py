"""Tests for the model comparison: specs and cache, evaluation, report, plots, CLI, sweep."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from flatnet_rl.agents.hacking import CORE_KEYS
from flatnet_rl.classifier import load_classifier
from flatnet_rl.cli import main
from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.evaluation import compare
from flatnet_rl.evaluation.columns import TABLE_COLUMNS
from flatnet_rl.evaluation.compare import evaluate_models
from flatnet_rl.evaluation.data import EVAL_FAMILIES, build_eval_data
from flatnet_rl.evaluation.report import aggregate, write_report
from flatnet_rl.evaluation.store import load_report, save_report
from flatnet_rl.evaluation.sweep import make_jobs, run_sweep
from flatnet_rl.evaluation.tables import best_rows, comparison_table
from flatnet_rl.training import specs
from flatnet_rl.training.model_specs import resolve_model_spec
from flatnet_rl.training.specs import config_from_spec, parse_model_spec, spec_hash

K = 10
SMALL = {"n_outliers": 60, "n_paths": 8}


class FakeClassifier:
    """A stand-in reward model: fixed probabilities whatever the canvas."""

    def __init__(self, name: str, row: np.ndarray) -> None:
        self.name = name
        self.canvas_size = 8
        self.metadata: dict = {}
        self._row = np.asarray(row, dtype=np.float64)

    def predict_proba(self, canvases: np.ndarray, **kwargs: object) -> np.ndarray:
        canvases = np.asarray(canvases)
        assert canvases.ndim == 3 and canvases.shape[1:] == (8, 8)
        return np.tile(self._row, (len(canvases), 1))


def uniform(name: str = "uniform") -> FakeClassifier:
    return FakeClassifier(name, np.full(K, 1.0 / K))


def confident(name: str = "confident") -> FakeClassifier:
    row = np.full(K, 0.01 / (K - 1))
    row[3] = 0.99
    return FakeClassifier(name, row)


@pytest.fixture(scope="module")
def zoo_reports() -> list[compare.ModelReport]:
    models = [load_classifier("flatnet"), load_classifier("baseline")]
    return evaluate_models(models, seed=0, n_outliers=300, n_paths=40)


# ------------------------------------------------------------------------------ specs


@pytest.mark.parametrize(
    ("spec", "loss", "expected"),
    [
        ("ce", "ce", {}),
        ("entropy:kappa=0.3,outliers=2000", "entropy", {"kappa": 0.3, "outliers": 2000}),
        ("logitnorm:tau=0.04", "logitnorm", {"tau": 0.04}),
        ("dropmax", "dropmax", {}),
        (
            "mix_ent:b2=0.5,outliers=2000,seed=1,epochs=20",
            "mix_ent",
            {"b2": 0.5, "outliers": 2000, "seed": 1, "epochs": 20},
        ),
        (
            " entropy : kappa = 1 , arch = flatnet_lite ",
            "entropy",
            {"kappa": 1.0, "arch": "flatnet_lite"},
        ),
    ],
)
def test_parse_valid_specs(spec: str, loss: str, expected: dict) -> None:
    parsed_loss, values = parse_model_spec(spec)
    assert parsed_loss == loss
    assert values == expected


def test_config_from_spec() -> None:
    config = config_from_spec("mix_ent:b2=0.5,outliers=2000,seed=1,epochs=20")
    assert config.objective.loss == "mix_ent"
    assert config.objective.b2 == 0.5
    assert (config.outliers, config.seed, config.epochs) == (2000, 1, 20)
    assert config_from_spec("dropmax").arch == "dropmax"  # DropMax needs its heads
    assert config_from_spec("entropy:kappa=0.3,outliers=2000").objective.kappa == 0.3
    # The defaults match the zoo baseline (40 epochs, seed 0, no outliers).
    default = config_from_spec("ce")
    assert (default.epochs, default.seed, default.outliers) == (40, 0, 0)


def test_spec_hash_is_canonical() -> None:
    assert spec_hash(config_from_spec("ce")) == spec_hash(config_from_spec("ce:seed=0,epochs=40"))
    assert spec_hash(config_from_spec("entropy:kappa=0.3")) == spec_hash(
        config_from_spec("entropy")
    )
    assert spec_hash(config_from_spec("entropy:kappa=0.3")) != spec_hash(
        config_from_spec("entropy:kappa=0.5")
    )
    assert spec_hash(config_from_spec("ce")) != spec_hash(config_from_spec("ce:seed=1"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("entropy:foo=1", "unknown key 'foo'"),
        ("entropy:kappa=abc", "kappa must be a number"),
        ("entropy:kappa=nan", "kappa must be finite"),
        ("entropy:kappa=inf", "kappa must be finite"),
        ("ce:kappa=0.3", "does not use 'kappa'"),
        ("logitnorm:b2=0.3", "does not use 'b2'"),
        ("ce:outliers=-1", "outliers must be >= 0"),
        ("ce:outliers=1.5", "outliers must be an integer"),
        ("ce:epochs=0", "epochs must be >= 1"),
        ("entropy:kappa", "expected key=value"),
        ("entropy:kappa=", "expected key=value"),
        ("entropy:kappa=0.1,kappa=0.2", "given twice"),
        ("entropy:arch=resnet", "unknown architecture 'resnet'"),
        ("ce:source=images", "source must be a digit source"),
        ("ce:canvas=2", "canvas must be >= 4"),
        ("ce:outlier_weight=1", "needs outliers > 0"),
        ("nonsense", "unknown loss"),
        ("logitnorm:tau=0", "tau must be a finite number in"),
        ("label_smoothing:smoothing=1", "smoothing must be a finite number in [0, 1)"),
    ],
)
def test_invalid_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace(")", r"\)")):
        config_from_spec(spec)


def test_resolve_rejects_unknown_models(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown model spec 'nonsense'"):
        resolve_model_spec("nonsense", tmp_path)
    with pytest.raises(ValueError, match="no such checkpoint"):
        resolve_model_spec(str(tmp_path / "missing.safetensors"), tmp_path)
    with pytest.raises(ValueError, match="unknown key"):
        resolve_model_spec("ce:bogus=1", tmp_path)


def test_resolve_zoo_and_path(tmp_path: Path) -> None:
    clf = resolve_model_spec("flatnet", tmp_path)
    assert clf.name == "flatnet" and clf.canvas_size == 8
    path = clf.save(tmp_path / "copy.safetensors")
    assert resolve_model_spec(str(path), tmp_path).name == "flatnet"
    assert not list(tmp_path.glob("*/"))  # nothing trained


def test_cache_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = "ce:epochs=1"
    first = resolve_model_spec(spec, tmp_path)
    cached = tmp_path / f"{spec_hash(config_from_spec(spec))}.safetensors"
    assert cached.is_file()
    assert first.name == spec

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("resolve_model_spec retrained a cached model")

    monkeypatch.setattr(specs, "train_classifier", no_training)
    again = resolve_model_spec(spec, tmp_path)
    assert again.name == spec
    # Another spelling of the same training shares the cache entry.
    alias = resolve_model_spec("ce:epochs=1,seed=0,outliers=0", tmp_path)
    assert alias.name == "ce:epochs=1,seed=0,outliers=0"
    x = build_eval_data(8, **SMALL).x_test[:20]
    np.testing.assert_allclose(
        first.predict_proba(x, value_range=(0, 1)),
        again.predict_proba(x, value_range=(0, 1)),
        atol=1e-6,
    )
    # A different spec is not in the cache: it must train (and here, fail loudly).
    with pytest.raises(AssertionError, match="retrained"):
        resolve_model_spec("ce:epochs=1,seed=1", tmp_path)


def test_corrupt_cache_entry_is_retrained(tmp_path: Path) -> None:
    spec = "ce:epochs=1"
    path = tmp_path / f"{spec_hash(config_from_spec(spec))}.safetensors"
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="unreadable"):
        clf = resolve_model_spec(spec, tmp_path)
    assert clf.name == spec
    assert path.stat().st_size > 1000


# ------------------------------------------------------------------------- evaluation


def test_eval_data_is_seeded() -> None:
    a = build_eval_data(8, seed=3, **SMALL)
    b = build_eval_data(8, seed=3, **SMALL)
    c = build_eval_data(8, seed=4, **SMALL)
    assert list(a.outliers) == list(EVAL_FAMILIES)
    for family in EVAL_FAMILIES:
        assert a.outliers[family].shape == (60, 8, 8)
        np.testing.assert_array_equal(a.outliers[family], b.outliers[family])
        np.testing.assert_array_equal(a.targets[family], b.targets[family])
    assert not all(np.array_equal(a.outliers[f], c.outliers[f]) for f in EVAL_FAMILIES)
    assert a.n_paths == 8 and len(a.reverse) == 8
    for fwd, rev, label in zip(a.forward, a.reverse, a.path_labels, strict=True):
        # Forward goes digit -> random, reverse random -> digit through another flip order.
        np.testing.assert_array_equal(fwd[0], rev[-1])
        np.testing.assert_array_equal(fwd[-1], rev[0])
        assert len(fwd) == len(rev)
        assert 0 <= label < K
    # The Bernoulli families have the stated densities.
    for density in (0.05, 0.5):
        mean = a.outliers[f"bernoulli@{density:g}"].mean()
        assert abs(mean - density) < 0.05


def test_evaluate_models_structure(zoo_reports: list[compare.ModelReport]) -> None:
    flat, base = zoo_reports
    assert [r.name for r in zoo_reports] == ["flatnet", "baseline"]
    for report in zoo_reports:
        assert set(report.families) == set(EVAL_FAMILIES)
        for values in report.families.values():
            assert set(values) == {"mean_msp", "mean_p_target", "fpr95", "auroc"}
            assert 0.1 - 1e-6 <= values["mean_msp"] <= 1.0
        summary = report.summary()
        for column in TABLE_COLUMNS:
            assert column.key in summary
        assert {f"max_prob[{f}]" for f in EVAL_FAMILIES} <= set(summary)
        for key in (
            "tv_ratio",
            "autocorr",
            "argmax_flips",
            "mean_abs_delta",
            "entropy_start",
            "entropy_end",
        ):
            assert key in report.smoothness and f"reverse_{key}" in report.smoothness
        assert report.accuracy > 0.9 and 0 <= report.ece <= 1
        assert report.hacking is None
        assert report.forward is not None and report.forward.reward.shape == (40, 101)
        assert report.training["epochs"] == 40
        json.dumps(report.to_dict(), allow_nan=False)
    # Same data for both models: the same example path and targets.
    np.testing.assert_array_equal(flat.forward.example_start, base.forward.example_start)
    assert flat.forward.example_target == base.forward.example_target
    # flatnet ends its paths near flat: entropy close to log K.
    assert flat.smoothness["entropy_end"] > base.smoothness["entropy_end"]


def test_evaluation_is_deterministic() -> None:
    model = load_classifier("baseline")
    a = evaluate_models([model], seed=5, **SMALL)[0].summary()
    b = evaluate_models([model], seed=5, **SMALL)[0].summary()
    assert a == b


def test_uniform_model_known_answers() -> None:
    (report,) = evaluate_models([uniform()], seed=0, **SMALL)
    for family, values in report.families.items():
        assert values["mean_msp"] == pytest.approx(0.1), family
        assert values["mean_p_target"] == pytest.approx(0.1), family
        assert values["fpr95"] == 1.0, family  # ties at the threshold count as positive
        assert values["auroc"] == pytest.approx(0.5), family
    s = report.smoothness
    assert s["mean_abs_delta"] == 0.0 and s["reverse_mean_abs_delta"] == 0.0
    assert s["argmax_flips"] == 0.0
    assert math.isnan(s["tv_ratio"]) and math.isnan(s["autocorr"])  # no net change
    assert s["entropy_start"] == pytest.approx(math.log(K))
    assert s["entropy_end"] == pytest.approx(math.log(K))
    np.testing.assert_allclose(report.forward.reward, 0.1)
    summary = report.summary()
    assert summary["max_prob"] == pytest.approx(0.1)
    assert summary["fpr95"] == 1.0 and summary["auroc"] == pytest.approx(0.5)
    # JSON has no NaN: undefined values become null.
    assert report.to_dict()["summary"]["tv_ratio"] is None


def test_confident_model_known_answers() -> None:
    (report,) = evaluate_models([confident()], seed=0, **SMALL)
    for values in report.families.values():
        assert values["mean_msp"] == pytest.approx(0.99)
        assert values["fpr95"] == 1.0
    data = build_eval_data(8, seed=0, **SMALL)
    assert report.accuracy == pytest.approx(np.mean(data.y_test == 3))


def test_evaluate_models_validation() -> None:
    with pytest.raises(ValueError, match="at least one model"):
        evaluate_models([])
    with pytest.raises(ValueError, match="unique"):
        evaluate_models([uniform("a"), confident("a")], **SMALL)
    with pytest.raises(ValueError, match="n_paths"):
        evaluate_models([uniform()], n_paths=0)
    with pytest.raises(ValueError, match="unknown models"):
        evaluate_models([uniform()], hacking={"other": dict.fromkeys(CORE_KEYS, 0.0)}, **SMALL)


def test_hacking_results() -> None:
    summary = {"proxy_p_target": 0.95, "judge_p_target": 0.2, "gap": 0.75, "fooling_rate": 0.8}
    canvases = np.zeros((5, 8, 8), np.uint8)
    hacking = {
        "uniform": summary,
        "confident": {"canvases": canvases, "targets": np.full(5, 3)},
    }
    with pytest.raises(ValueError, match="pass judge="):
        evaluate_models([uniform(), confident()], hacking=hacking, **SMALL)
    reports = evaluate_models(
        [uniform(), confident()], hacking=hacking, judge=uniform("judge"), **SMALL
    )
    assert reports[0].hacking == summary
    # The proxy gives 0.99 to class 3, the uniform judge 0.1: every episode fools it.
    assert reports[1].hacking["proxy_p_target"] == pytest.approx(0.99)
    assert reports[1].hacking["judge_p_target"] == pytest.approx(0.1)
    assert reports[1].hacking["fooling_rate"] == 1.0
    assert "fooling_rate" in reports[1].summary()
    table = comparison_table(reports)
    assert "fooling" in table and "judge" in table
    (raw,) = evaluate_models(
        [uniform()], hacking={"uniform": {"proxy_p": [0.95, 0.2], "judge_p": [0.1, 0.1]}}, **SMALL
    )
    assert raw.hacking["fooling_rate"] == 0.5
    with pytest.raises(ValueError, match="must be an evaluate-agent eval.json"):
        evaluate_models([uniform()], hacking={"uniform": {"gap": 1.0}}, **SMALL)
    # An evaluate-agent eval.json is read as it is (its "overall" block).
    (from_eval,) = evaluate_models(
        [uniform()],
        hacking={"uniform": {"run": "x", "overall": {**summary, "episodes": 9}}},
        **SMALL,
    )
    assert from_eval.hacking["fooling_rate"] == 0.8 and from_eval.hacking["episodes"] == 9


def test_acceptance_flatnet_beats_baseline(zoo_reports: list[compare.ModelReport]) -> None:
    """The project's acceptance criterion: flatnet's reward is flatter and smoother."""
    flat, base = zoo_reports
    for family in EVAL_FAMILIES:
        assert flat.families[family]["mean_msp"] < base.families[family]["mean_msp"], family
    assert flat.summary()["fpr95"] < base.summary()["fpr95"]
    assert flat.summary()["tv_ratio"] < base.summary()["tv_ratio"]


# ---------------------------------------------------------------------------- report


def test_best_rows() -> None:
    assert best_rows([0.3, 0.1, 0.2], "lower") == {1}
    assert best_rows([0.3, 0.1, 0.3], "higher") == {0, 2}
    assert best_rows([float("nan"), 0.5, None], "lower") == {1}
    assert best_rows([float("nan")], "lower") == set()
    assert best_rows([1.0, 2.0], None) == set()


def test_aggregate() -> None:
    mean, std = aggregate([{"a": 1.0, "b": float("nan")}, {"a": 3.0, "b": float("nan")}])
    assert mean["a"] == 2.0 and std["a"] == pytest.approx(math.sqrt(2))
    assert math.isnan(mean["b"])
    _, one = aggregate([{"a": 1.0}])
    assert one["a"] == 0.0


def test_stored_report_round_trips_and_old_ones_are_digit_models(tmp_path: Path) -> None:
    (report,) = evaluate_models([uniform()], seed=0, **SMALL)
    save_report(report, tmp_path / "r")
    assert load_report(tmp_path / "r").num_classes == report.num_classes
    stored = json.loads((tmp_path / "r.json").read_text())
    del stored["num_classes"]  # a report written before num_classes was stored
    (tmp_path / "r.json").write_text(json.dumps(stored))
    assert load_report(tmp_path / "r").num_classes == NUM_CLASSES


def test_report_files_and_best_marks(tmp_path: Path) -> None:
    reports = evaluate_models([uniform(), confident()], seed=0, **SMALL)
    path = write_report(reports, tmp_path, seed=0, n_outliers=60, n_paths=8)
    assert path == tmp_path / "report.md"
    text = path.read_text()
    for name in (
        "false_positive_bars.png",
        "reward_curves.png",
        "morph_uniform.png",
        "morph_confident.png",
    ):
        assert (tmp_path / name).stat().st_size > 5000, name
        assert f"({name})" in text
    assert "class-positive" in text and "seed **0**" in text
    assert "lower is better" in text and "higher is better" in text
    # The uniform model's max-prob row is the best (bold); the confident one is not.
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| model | accuracy"))
    header = lines[start]
    rows = {line.split("|")[1].strip(): line for line in lines[start + 2 : start + 4]}
    col = [c.strip() for c in header.split("|")].index("max-prob ↓")
    assert [c.strip() for c in rows["`uniform`"].split("|")][col] == "**0.100**"
    assert [c.strip() for c in rows["`confident`"].split("|")][col] == "0.990"
    results = json.loads((tmp_path / "results.json").read_text())
    assert "NaN" not in (tmp_path / "results.json").read_text()
    assert [m["name"] for m in results["models"]] == ["uniform", "confident"]
    model = results["models"][0]
    assert set(model["families"]) == set(EVAL_FAMILIES)
    assert model["summary"]["max_prob[blocks]"] == pytest.approx(0.1)
    assert results["columns"]["max_prob"]["better"] == "lower"


def test_plots_readable_names(tmp_path: Path) -> None:
    from flatnet_rl.evaluation.plots import figure_name, plot_morph

    assert figure_name("entropy:kappa=0.3,outliers=2000") == "entropy_kappa_0.3_outliers_2000"
    (report,) = evaluate_models([confident()], **SMALL)
    out = plot_morph(report, tmp_path / "reverse.png", direction="reverse")
    assert out.stat().st_size > 5000


# ------------------------------------------------------------------------------- CLI


def test_cli_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cmp"
    code = main(
        [
            "compare",
            "flatnet",
            "baseline",
            "--out",
            str(out),
            "--paths",
            "20",
            "--outliers-per-family",
            "200",
            "--cache",
            str(tmp_path / "cache"),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| `flatnet` |" in printed and str(out / "report.md") in printed
    assert (out / "report.md").is_file() and (out / "results.json").is_file()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == [
        "false_positive_bars.png",
        "morph_baseline.png",
        "morph_flatnet.png",
        "reward_curves.png",
    ]
    results = json.loads((out / "results.json").read_text())
    assert results["n_paths"] == 20 and results["n_outliers_per_family"] == 200


def test_cli_compare_hacking_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hacking = tmp_path / "hacking.json"
    hacking.write_text(
        json.dumps(
            {
                "flatnet": {
                    "proxy_p_target": 0.3,
                    "judge_p_target": 0.25,
                    "gap": 0.05,
                    "fooling_rate": 0.0,
                }
            }
        )
    )
    code = main(
        [
            "compare",
            "flatnet",
            "--out",
            str(tmp_path / "o"),
            "--paths",
            "5",
            "--outliers-per-family",
            "50",
            "--workers",
            "1",
            "--quiet",
            "--hacking",
            str(hacking),
        ]
    )
    assert code == 0
    assert "fooling" in capsys.readouterr().out
    model = json.loads((tmp_path / "o" / "results.json").read_text())["models"][0]
    assert model["hacking"]["fooling_rate"] == 0.0


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "--paths", "0"],
        ["compare", "--outliers-per-family", "x"],
        ["compare", "--seed", "-1"],
        ["compare", "--workers", "0"],
        ["sweep", "--kappa", "-1"],
        ["sweep", "--kappa", "abc"],
        ["sweep", "--kappa", ","],
        ["sweep", "--outliers", "1.5"],
        ["sweep", "--seeds", "0"],
        ["sweep", "--bogus"],
    ],
)
def test_cli_bad_flags(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_cli_bad_model_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["compare", "entropy:kappa=abc", "--out", str(tmp_path), "--workers", "1", "--quiet"]
    )
    assert code == 2
    assert "kappa must be a number" in capsys.readouterr().err
    assert main(["compare", "flatnet", "flatnet", "--out", str(tmp_path), "--quiet"]) == 2


# ----------------------------------------------------------------------------- sweep


def test_make_jobs() -> None:
    jobs = make_jobs([0, 0.3], [0, 2000], 2, epochs=3, cache_dir="c")
    assert len(jobs) == 8
    assert {(j.kappa, j.outliers, j.seed) for j in jobs} == {
        (k, o, s) for k in (0.0, 0.3) for o in (0, 2000) for s in (0, 1)
    }
    from flatnet_rl.evaluation.sweep import job_spec

    assert job_spec(jobs[0]) == "ce:outliers=0,seed=0,epochs=3"
    assert job_spec(jobs[-1]) == "entropy:kappa=0.3,outliers=2000,seed=1,epochs=3"
    for bad in (
        {"kappas": []},
        {"kappas": [-1]},
        {"kappas": [0.1, 0.1]},
        {"outliers": [-5]},
        {"seeds": 0},
        {"epochs": 0},
    ):
        args = {"kappas": [0.3], "outliers": [0], "seeds": 1, **bad}
        epochs = args.pop("epochs", 1)
        with pytest.raises(ValueError):
            make_jobs(args["kappas"], args["outliers"], args["seeds"], epochs=epochs)


def _check_sweep(out: Path, result) -> None:  # noqa: ANN001 (SweepResult)
    assert [row.name for row in result.rows] == ["kappa=0, outliers=0", "kappa=0.3, outliers=0"]
    assert result.report_path == out / "report.md"
    text = result.report_path.read_text()
    assert "±" in text and "class-positive" in text
    for name in ("false_positive_bars.png", "reward_curves.png", "tradeoff.png"):
        assert (out / name).is_file()
    results = json.loads((out / "results.json").read_text())
    assert [r["kappa"] for r in results["rows"]] == [0.0, 0.3]
    assert all(r["n_seeds"] == len(r["runs"]) for r in results["rows"])


def test_sweep_in_process(tmp_path: Path) -> None:
    result = run_sweep(
        [0, 0.3], [0], 1, tmp_path, workers=1, epochs=2, n_outliers=50, n_paths=6, progress=False
    )
    _check_sweep(tmp_path, result)
    mean, std = result.rows[1].stats()
    assert std["max_prob"] == 0.0  # one seed
    assert result.rows[1].reports[0].training["objective"] == {"loss": "entropy", "kappa": 0.3}
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 2
    # Resumable: a rerun reads the stored job reports instead of evaluating again.
    import flatnet_rl.evaluation.sweep as sweep_mod

    def no_evaluation(*args: object, **kwargs: object) -> None:
        raise AssertionError("a finished sweep job ran again")

    real = sweep_mod.evaluate_spec
    sweep_mod.evaluate_spec = no_evaluation
    try:
        again = run_sweep(
            [0, 0.3],
            [0],
            1,
            tmp_path / "again",
            workers=1,
            epochs=2,
            n_outliers=50,
            n_paths=6,
            cache_dir=tmp_path / "cache",
            progress=False,
        )
    finally:
        sweep_mod.evaluate_spec = real
    assert again.rows[1].stats()[0]["max_prob"] == mean["max_prob"]


@pytest.mark.slow
def test_sweep_worker_processes(tmp_path: Path) -> None:
    result = run_sweep(
        [0, 0.3], [0], 2, tmp_path, workers=2, epochs=2, n_outliers=50, n_paths=6, progress=False
    )
    _check_sweep(tmp_path, result)
    assert all(len(row.reports) == 2 for row in result.rows)
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) == 4


def _two_class_folder(root: Path, first: str, second: str) -> None:
    """Class ``first`` holds vertical bars, ``second`` horizontal ones (16x16 RGB)."""
    from PIL import Image

    for name, vertical in ((first, True), (second, False)):
        (root / name).mkdir(parents=True)
        for i in range(12):
            image = np.zeros((16, 16), np.uint8)
            if vertical:
                image[:, 2 + i % 10 : 4 + i % 10] = 255
            else:
                image[2 + i % 10 : 4 + i % 10, :] = 255
            Image.fromarray(np.stack([image] * 3, axis=-1)).save(root / name / f"{i}.png")


def test_cache_is_keyed_by_the_contents_of_your_data(tmp_path: Path) -> None:
    """The same --data path holding other images trains anew: no stale model."""
    import shutil

    from flatnet_rl.data import DataSpec

    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    _two_class_folder(data_dir, "a", "b")
    data = DataSpec(source="images", path=str(data_dir))
    bars = np.zeros((2, 16, 16, 3), np.uint8)
    bars[0, :, 7:9] = 255  # vertical: class a
    bars[1, 7:9, :] = 255  # horizontal: class b
    first = resolve_model_spec("ce:epochs=8", cache, data=data)
    assert first.predict(bars).tolist() == [0, 1]
    shutil.rmtree(data_dir)
    _two_class_folder(data_dir, "b", "a")  # the classes swapped, same file names and sizes
    again = resolve_model_spec("ce:epochs=8", cache, data=data)
    assert again.predict(bars).tolist() == [1, 0]
    assert len(list(cache.glob("*.safetensors"))) == 2


@pytest.mark.parametrize("replaced", ["reward", "judge"])
def test_a_resumed_agent_grid_reruns_when_a_checkpoint_changed(tmp_path, replaced) -> None:
    # A reward model or judge retrained at the same path (a recipe run again): the stored
    # run's rewards or judge scores are another model's, so the run is not read back.
    import hashlib
    import json
    import shutil

    from flatnet_rl.evaluation.agent_jobs import AgentGrid, _finished, make_jobs
    from flatnet_rl.shipped import checkpoint_path

    paths = {name: tmp_path / f"{name}.safetensors" for name in ("reward", "judge")}
    shutil.copy(checkpoint_path("flatnet"), paths["reward"])
    shutil.copy(checkpoint_path("judge"), paths["judge"])
    grid = AgentGrid(
        reward_models=(str(paths["reward"]),),
        seeds=1,
        timesteps=64,
        eval_episodes=4,
        judges=(str(paths["judge"]),),
    )
    (job,) = make_jobs(grid, tmp_path / "grid")
    job.out.mkdir(parents=True)
    sha = {name: hashlib.sha256(p.read_bytes()).hexdigest() for name, p in paths.items()}
    stored = {**job.config, "reward_fingerprint": sha["reward"]}
    (job.out / "config.json").write_text(json.dumps(stored))
    evaluation = {"overall": {"episodes": 4}, "deterministic": False}
    (job.out / "eval.json").write_text(json.dumps(evaluation))
    (job.out / "curve.json").write_text("{}")
    assert _finished(job) is None  # a run that recorded no judges is not trusted
    stored["judge_fingerprints"] = {str(paths["judge"]): sha["judge"]}
    (job.out / "config.json").write_text(json.dumps(stored))
    assert _finished(job) is not None  # the same run: resumed
    shutil.copy(checkpoint_path("baseline"), paths[replaced])  # replaced at the same path
    assert _finished(job) is None


def test_a_model_returning_nan_is_named_in_compare():
    from flatnet_rl.evaluation.compare import evaluate_models

    class Broken:
        name, canvas_size, metadata = "broken-model", 8, {}

        def predict_proba(self, images, **kwargs):
            return np.full((len(images), 10), np.nan)

    with pytest.raises(ValueError, match="broken-model"):
        evaluate_models([Broken()], n_outliers=10, n_paths=2)


def test_a_stroke_grid_reads_back_its_runs_with_their_searched_drawings(tmp_path: Path) -> None:
    # A stroke run records the drawings its warm start searched (env_kwargs["stroke_demos"]);
    # the grid asked for none, and must still know the run as its own.
    from flatnet_rl.evaluation.agent_comparison import AgentGrid, make_jobs, run_agent_job

    grid = AgentGrid(
        reward_models=("flatnet",),
        seeds=1,
        action_mode="stroke",
        timesteps=64,
        eval_episodes=2,
        hyperparams={"n_steps": 32, "batch_size": 32},
    )
    (job,) = make_jobs(grid, tmp_path / "grid")
    result = run_agent_job(job)
    assert result["eval"]["overall"]["episodes"] == 2
    stored = json.loads((job.out / "config.json").read_text())
    assert len(stored["env_kwargs"]["stroke_demos"]) == 10
    model = (job.out / "model.zip").stat().st_mtime_ns
    assert run_agent_job(job)["eval"] == result["eval"]  # read back, not retrained
    assert (job.out / "model.zip").stat().st_mtime_ns == model


def test_an_agent_grid_names_checkpoints_by_file_and_passes_n_envs(tmp_path: Path) -> None:
    from flatnet_rl.evaluation.agent_comparison import AgentGrid, display_names, make_jobs

    for name in ("a/flat.safetensors", "a/plain.safetensors", "b/flat.safetensors"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    flat, plain, other = (str(tmp_path / n) for n in ("a/flat", "a/plain", "b/flat"))
    flat, plain, other = (p + ".safetensors" for p in (flat, plain, other))
    assert display_names((flat, plain, "flatnet")) == {
        flat: "flat.safetensors",
        plain: "plain.safetensors",
        "flatnet": "flatnet",
    }
    # Two checkpoints of one file name: their full paths, not two rows read alike.
    assert display_names((flat, other)) == {flat: flat, other: other}
    grid = AgentGrid(reward_models=("flatnet",), seeds=2, timesteps=64, n_envs=3)
    assert [job.config["n_envs"] for job in make_jobs(grid, tmp_path / "grid")] == [3, 3]
    with pytest.raises(ValueError, match="n_envs"):
        AgentGrid(reward_models=("flatnet",), n_envs=0)


def test_a_grid_asking_other_evaluation_episodes_evaluates_again_without_retraining(tmp_path):
    from dataclasses import replace

    from flatnet_rl.evaluation.agent_jobs import AgentGrid, make_jobs, run_agent_job

    small = {"n_steps": 32, "batch_size": 32}
    grid = AgentGrid(reward_models=("flatnet",), seeds=1, timesteps=64, eval_episodes=2)
    grid = replace(grid, hyperparams=small, n_envs=2)
    (job,) = make_jobs(grid, tmp_path)
    assert run_agent_job(job)["eval"]["overall"]["episodes"] == 2
    model = (job.out / "model.zip").stat().st_mtime_ns
    (more,) = make_jobs(replace(grid, eval_episodes=3), tmp_path)
    assert run_agent_job(more)["eval"]["overall"]["episodes"] == 3
    assert (job.out / "model.zip").stat().st_mtime_ns == model  # evaluated, not retrained
    (fresh,) = make_jobs(replace(grid, eval_episodes=3), tmp_path, fresh=True)
    assert run_agent_job(fresh)["eval"]["overall"]["episodes"] == 3
    assert (job.out / "model.zip").stat().st_mtime_ns != model  # --overwrite: trained anew
