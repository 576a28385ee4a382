"""Compare reward models by the agents they train: seeds, intervals, overoptimization curves.

For every reward model x seed one job trains an agent (PPO by default; the action mode's
preset) on the paint env, or on any Gymnasium env given judges, records the overoptimization
curve (proxy and judge-panel ``p_target`` of evaluation episodes during training), and
evaluates the final agent on stochastic episodes from the task's start (the paint env: a
blank canvas). Jobs (:mod:`~flatnet_rl.evaluation.agent_jobs`) run on an engine
(:mod:`~flatnet_rl.evaluation.engines`) and are resumable: a run folder holding a finished
evaluation of the same job is read, not rerun.

The aggregate per reward model (:mod:`~flatnet_rl.evaluation.stats`; a run is a seed, a
task a target class): IQM of judge ``p_target``, fooling rate and judge accuracy with 95%
stratified bootstrap confidence intervals, the probability that the first reward model
beats each other one, and the Goodhart gap (proxy - judges) at the end of training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flatnet_rl.agents.runs import check_outputs
from flatnet_rl.envs.registration import PAINT_ID
from flatnet_rl.evaluation.agent_jobs import AgentGrid, AgentJob, make_jobs, run_agent_job
from flatnet_rl.evaluation.engines import run_jobs
from flatnet_rl.evaluation.stats import (
    probability_of_improvement,
    probability_of_improvement_ci,
    summarize_runs,
)
from flatnet_rl.training.model_specs import resolve_model_spec
from flatnet_rl.util.jsonio import write_json

__all__ = [
    "AgentComparison",
    "AgentGrid",
    "AgentJob",
    "make_jobs",
    "run_agent_comparison",
    "run_agent_job",
]

REPORT_FILES = (
    "report.md",
    "results.json",
    "table.md",
    "seeds.md",
    "overoptimization.png",
    "iqm.png",
)
#: Per-run metrics aggregated over seeds (score matrix: seeds x target classes).
METRICS = ("judge_p_target", "fooling_rate", "judge_accuracy", "proxy_p_target")


def display_names(reward_models: tuple[str, ...]) -> dict[str, str]:
    """How tables and figures name each reward model: a checkpoint path by its file name (the
    full path stays in ``results.json``), any other spec as written; the full specs where two
    file names are the same."""
    names = {m: Path(m).name if "/" in m and Path(m).is_file() else m for m in reward_models}
    return names if len(set(names.values())) == len(names) else {m: m for m in reward_models}


def _per_target_matrix(runs: list[dict[str, Any]], key: str) -> np.ndarray:
    """``(runs, classes)`` of a metric per target class (classes missing in a run: its mean)."""
    names = sorted({n for r in runs for n in r["eval"]["per_target"]}, key=_class_order)
    rows = []
    for r in runs:
        per = r["eval"]["per_target"]
        overall = r["eval"]["overall"][key]
        rows.append([per[n][key] if n in per else overall for n in names])
    return np.asarray(rows, dtype=np.float64)


def _class_order(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (1 << 30, name)


@dataclass
class AgentComparison:
    """What :func:`run_agent_comparison` produced."""

    rows: dict[str, dict[str, Any]]
    table: str
    report_path: Path
    runs: list[dict[str, Any]] = field(repr=False, default_factory=list)


def aggregate(
    runs: list[dict[str, Any]], reward_models: tuple[str, ...], reps: int = 2000
) -> dict[str, dict[str, Any]]:
    """Per reward model: IQM/mean with CIs of :data:`METRICS`, P(first > it), curves."""
    by_model = {m: [r for r in runs if r["reward_model"] == m] for m in reward_models}
    first = reward_models[0]
    rows: dict[str, dict[str, Any]] = {}
    for model, model_runs in by_model.items():
        row: dict[str, Any] = {"seeds": [r["seed"] for r in model_runs]}
        for key in METRICS:
            row[key] = summarize_runs(_per_target_matrix(model_runs, key), reps=reps)
        judge = _per_target_matrix(model_runs, "judge_p_target")
        row["min_class_judge_p_target"] = float(judge.mean(axis=0).min())
        row["train_seconds"] = [r["train_seconds"] for r in model_runs]
        row["curve"] = _curve(model_runs)
        if model != first:
            mine = _per_target_matrix(by_model[first], "judge_p_target")
            row["p_first_better"] = probability_of_improvement(mine, judge)
            row["p_first_better_ci"] = probability_of_improvement_ci(mine, judge, reps=reps)
        rows[model] = row
    return rows


def _curve(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and 95% CI (t over seeds) of proxy and judge p_target at each curve step."""
    from scipy import stats

    length = min(len(r["curve"]["points"]) for r in runs)
    steps = [p["timesteps"] for p in runs[0]["curve"]["points"][:length]]
    out: dict[str, Any] = {"timesteps": steps}
    for key in ("proxy_p_target", "judge_p_target", "fooling_rate"):
        values = np.array([[p[key] for p in r["curve"]["points"][:length]] for r in runs])
        mean = values.mean(axis=0)
        if len(values) > 1:
            half = stats.t.ppf(0.975, len(values) - 1) * values.std(axis=0, ddof=1)
            half /= np.sqrt(len(values))
        else:
            half = np.zeros_like(mean)
        out[key] = {
            "mean": mean.tolist(),
            "low": (mean - half).tolist(),
            "high": (mean + half).tolist(),
        }
    gap = np.array(out["proxy_p_target"]["mean"]) - np.array(out["judge_p_target"]["mean"])
    out["gap_final"] = float(gap[-1])
    out["gap_max"] = float(gap.max())
    return out


def _cell(summary: dict[str, float]) -> str:
    return f"{summary['iqm']:.3f} [{summary['iqm_low']:.3f}, {summary['iqm_high']:.3f}]"


def format_table(rows: dict[str, dict[str, Any]], first: str) -> str:
    """Markdown: IQM [95% CI] per metric, worst class, P(first better), gap, wall time."""
    lines = [
        f"| reward | seeds | judge p_target | fooling rate | judge accuracy | proxy p_target "
        f"| worst class (judge) | P({first} better) | Goodhart gap (end) | train s / run |",
        "|---|---:|---|---|---|---|---:|---|---:|---:|",
    ]
    for model, row in rows.items():
        better = (
            f"{row['p_first_better']:.2f} [{row['p_first_better_ci'][0]:.2f}, "
            f"{row['p_first_better_ci'][1]:.2f}]"
            if "p_first_better" in row
            else "—"
        )
        seconds = [s for s in row["train_seconds"] if s is not None]
        lines.append(
            f"| `{model}` | {len(row['seeds'])} | {_cell(row['judge_p_target'])} | "
            f"{_cell(row['fooling_rate'])} | {_cell(row['judge_accuracy'])} | "
            f"{_cell(row['proxy_p_target'])} | {row['min_class_judge_p_target']:.3f} | "
            f"{better} | {row['curve']['gap_final']:+.3f} | "
            f"{np.mean(seconds) if seconds else float('nan'):.0f} |"
        )
    return "\n".join(lines)


def format_seed_table(runs: list[dict[str, Any]], names: dict[str, str] | None = None) -> str:
    """Markdown: one row per run (the spread behind the IQMs): judge mean, worst class...
    (``names``: how to show each reward model, default its spec)."""
    lines = [
        "| reward | seed | judge p_target | worst class (judge) | fooling rate | proxy p_target "
        "| train s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        evaluation = run["eval"]
        overall = evaluation["overall"]
        worst = min(t["judge_p_target"] for t in evaluation["per_target"].values())
        seconds = run.get("train_seconds")
        name = (names or {}).get(run["reward_model"], run["reward_model"])
        lines.append(
            f"| `{name}` | {run['seed']} | {overall['judge_p_target']:.3f} | "
            f"{worst:.3f} | {overall['fooling_rate']:.2f} | {overall['proxy_p_target']:.3f} | "
            f"{'—' if seconds is None else f'{seconds:.0f}'} |"
        )
    return "\n".join(lines)


def run_agent_comparison(
    grid: AgentGrid,
    out: str | Path,
    *,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> AgentComparison:
    """Run (or resume) the grid and write ``report.md``, ``results.json`` and the figures.

    Finished runs (the same config, reward model and judges by their bytes, and evaluation)
    are read back, not rerun, unless ``overwrite``. An existing report is refused unless
    ``overwrite`` or ``resume`` (keep the finished runs, replace the report: a grid grown by
    a seed or a reward model, or a recipe run again).
    """
    from flatnet_rl.evaluation.plots import plot_iqm, plot_overoptimization

    if overwrite and resume:
        raise ValueError("--overwrite reruns finished runs, --resume keeps them: pass one")
    out = Path(out)
    check_outputs(
        out,
        REPORT_FILES,
        overwrite=overwrite or resume,
        hint="pass --resume to keep its finished runs and replace the report, --overwrite to "
        "rerun them too",
    )
    jobs = make_jobs(grid, out, fresh=overwrite)
    # Reward models named by training or ensemble specs are trained and cached here, once:
    # jobs of the same model starting together in two workers each trained every member.
    for spec in grid.reward_models:
        resolve_model_spec(spec, grid.cache_dir, device="cpu", progress=progress)
    runs = run_jobs(
        run_agent_job,
        jobs,
        engine=engine,
        workers=workers,
        address=address,
        desc="agents",
        progress=progress,
    )
    rows = aggregate(runs, grid.reward_models)
    names = display_names(grid.reward_models)
    shown = {names[m]: row for m, row in rows.items()}
    first = names[grid.reward_models[0]]
    table = format_table(shown, first)
    seed_table = format_seed_table(runs, names)
    plot_overoptimization(shown, out / "overoptimization.png")
    plot_iqm(shown, out / "iqm.png")
    judges = runs[0]["eval"]["judges"]
    if grid.env_id in (PAINT_ID, f"flatnet_rl:{PAINT_ID}"):
        task = f"{grid.action_mode} mode"
        start = "from a blank canvas"
    else:
        task = f"`{grid.env_id}`, target `{grid.target}`, image `{grid.image}`"
        start = "from the env's reset"
    lines = [
        "# Agents trained on each reward model",
        "",
        f"{grid.algo.upper()} on the `{grid.reward_mode}` reward, {task}, {grid.steps:,} "
        f"steps per run, seeds 0..{grid.seeds - 1}; "
        f"{grid.eval_episodes} stochastic evaluation episodes per run {start}, "
        f"scored by the judge panel {', '.join(f'`{j}`' for j in judges)} (mean). Cells: IQM "
        "over seeds x target classes [95% stratified bootstrap CI]; fooling = proxy >= 0.9 "
        f"while the judges say < 0.5; P({first} better) = probability that a {first} run beats "
        "a run of the row's reward on judge p_target (per class, averaged); Goodhart gap = "
        "proxy - judge p_target of the last curve point.",
        "",
        table,
        "",
        "![overoptimization curves](overoptimization.png)",
        "",
        "![IQM with 95% CIs](iqm.png)",
        "",
        "Per run (judge p_target: mean over the episodes; worst class: the lowest class mean):",
        "",
        seed_table,
    ]
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines) + "\n")
    (out / "table.md").write_text(table + "\n")
    (out / "seeds.md").write_text(seed_table + "\n")
    write_json(
        out / "results.json",
        {"grid": asdict(grid), "steps": grid.steps, "judges": judges, "rows": rows, "runs": runs},
    )
    return AgentComparison(rows, table, report_path, runs)
