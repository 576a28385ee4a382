"""Compare reward models by the agents they train: seeds, intervals, overoptimization curves.

For every reward model x seed one job trains an agent (PPO by default; the action mode's
preset) on the
paint env, or on any Gymnasium env given judges, records the overoptimization curve (proxy
and judge-panel ``p_target`` of evaluation episodes during training), and evaluates the
final agent on stochastic episodes from the task's start (the paint env: a blank canvas).
Jobs run on an engine (:mod:`~flatnet_rl.evaluation.engines`) and are resumable: a run
folder holding a finished evaluation of the same job is read, not rerun.

The aggregate per reward model (:mod:`~flatnet_rl.evaluation.stats`; a run is a seed, a
task a target class): IQM of judge ``p_target``, fooling rate and judge accuracy with 95%
stratified bootstrap confidence intervals, the probability that the first reward model
beats each other one, and the Goodhart gap (proxy - judges) at the end of training.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flatnet_rl.agents.config import MAX_ENVS, MAX_TIMESTEPS, AgentConfig
from flatnet_rl.agents.presets import ACTION_MODES, ALGORITHMS, default_timesteps
from flatnet_rl.agents.runs import check_outputs
from flatnet_rl.envs.registration import PAINT_ID
from flatnet_rl.evaluation.engines import run_jobs
from flatnet_rl.evaluation.stats import (
    probability_of_improvement,
    probability_of_improvement_ci,
    summarize_runs,
)
from flatnet_rl.reward.spec import MODES
from flatnet_rl.shipped import zoo_manifest
from flatnet_rl.training.model_specs import resolve_model_spec, spec_fingerprint
from flatnet_rl.util.checks import check_fields, choice_field, int_field
from flatnet_rl.util.devices import resolve_device
from flatnet_rl.util.jsonio import write_json

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


@dataclass(frozen=True)
class AgentGrid:
    """Reward models x seeds, with the settings every run shares.

    Attributes:
        reward_models: reward model specs; the first is the one compared against the others.
        seeds: training seeds 0..N-1.
        action_mode: the paint env's action mode (its preset is used).
        timesteps: steps per run (``None``: the preset's).
        eval_episodes: stochastic evaluation episodes per run from the task's start (the
            paint env: a blank canvas).
        eval_every: the overoptimization curve's interval in steps (``None``: a tenth of
            the run).
        hyperparams: preset overrides for every run, as a JSON object.
        n_envs: envs stepped together in one numpy operation (``None``: the preset's).
        cache_dir: where reward models named by specs are cached.
        algo: every run's Stable-Baselines3 algorithm.
        reward_mode: what the reward pays (``delta``: the change of the target's
            probability, potential-based shaping; the methods page defines each).
        device: where every run trains (``cpu``: parallel runs share the cores; ``auto`` or
            ``cuda[:N]`` puts each worker's run on the GPU).
        env_id, env_kwargs, image, target, max_steps, judges: the env every run trains on
            and what is rewarded, as :class:`~flatnet_rl.agents.AgentConfig` takes them
            (default: the paint env with its shipped judge panel; another env needs judges,
            classifiers trained independently of the reward models, and a target).
    """

    reward_models: tuple[str, ...]
    seeds: int = int_field(5, 1, 1000)
    action_mode: str = choice_field("pixel", ACTION_MODES)
    timesteps: int | None = int_field(None, 1, MAX_TIMESTEPS)
    eval_episodes: int = int_field(100, 1, 10**6)
    eval_every: int | None = int_field(None, 0, MAX_TIMESTEPS)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    n_envs: int | None = int_field(None, 1, MAX_ENVS)
    cache_dir: str = "runs/cache"
    algo: str = choice_field("ppo", ALGORITHMS)
    reward_mode: str = choice_field("delta", MODES)
    device: str = "cpu"
    env_id: str = PAINT_ID
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    image: str = "auto"
    target: int | str | None = None
    max_steps: int | None = None
    judges: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.reward_models:
            raise ValueError("need at least one reward model")
        if len(set(self.reward_models)) != len(self.reward_models):
            raise ValueError(f"reward models repeated: {list(self.reward_models)}")
        check_fields(self)
        resolve_device(self.device)  # an unknown device or absent CUDA, before any job starts
        if self.env_id not in (PAINT_ID, f"flatnet_rl:{PAINT_ID}") and not self.judges:
            # Without judges a run reports its reward model alone: nothing to compare.
            raise ValueError(
                f"comparing agents on {self.env_id!r} needs judges (--judges): classifiers "
                "trained independently of the reward models, to score every run alike"
            )

    @property
    def steps(self) -> int:
        # The first reward model's canvas (zoo models know theirs) picks a stroke budget.
        canvas = zoo_manifest().get(self.reward_models[0], {}).get("canvas")
        return self.timesteps or default_timesteps(self.action_mode, canvas)

    @property
    def every(self) -> int:
        return self.eval_every if self.eval_every is not None else max(1, self.steps // 10)


def display_names(reward_models: tuple[str, ...]) -> dict[str, str]:
    """How tables and figures name each reward model: a checkpoint path by its file name (the
    full path stays in ``results.json``), any other spec as written; the full specs where two
    file names are the same."""
    names = {m: Path(m).name if "/" in m and Path(m).is_file() else m for m in reward_models}
    return names if len(set(names.values())) == len(names) else {m: m for m in reward_models}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+=-]+", "_", text).strip("_") or "model"


@dataclass(frozen=True)
class AgentJob:
    """One run of the grid (picklable: a Ray task or a worker process runs it)."""

    config: dict[str, Any]
    eval_episodes: int

    @property
    def out(self) -> Path:
        return Path(self.config["out"])


def make_jobs(grid: AgentGrid, out: str | Path) -> list[AgentJob]:
    """The grid as jobs, reward model major, with every config checked now."""
    jobs = []
    for reward_model in grid.reward_models:
        for seed in range(grid.seeds):
            config = AgentConfig(
                reward_model=reward_model,
                action_mode=grid.action_mode,
                timesteps=grid.steps,
                seed=seed,
                out=str(Path(out) / "runs" / slug(reward_model) / f"seed{seed}"),
                algo=grid.algo,
                reward_mode=grid.reward_mode,
                device=grid.device,
                hyperparams=dict(grid.hyperparams),
                n_envs=grid.n_envs,
                eval_every=grid.every,
                cache_dir=grid.cache_dir,
                env_id=grid.env_id,
                env_kwargs=dict(grid.env_kwargs),
                image=grid.image,
                target=grid.target,
                max_steps=grid.max_steps,
                judges=list(grid.judges),
            )
            jobs.append(AgentJob(config.to_dict(), grid.eval_episodes))
    return jobs


def _as_asked(stored: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
    """A run's stored config without what the run added itself: the stroke drawings it
    searched on the reward model (``env_kwargs["stroke_demos"]``) when the job brought none."""
    kwargs = stored.get("env_kwargs")
    if not isinstance(kwargs, dict) or "stroke_demos" in asked.get("env_kwargs", {}):
        return stored
    return {**stored, "env_kwargs": {k: v for k, v in kwargs.items() if k != "stroke_demos"}}


def _same_judges(recorded: Any) -> bool:
    """Whether every judge a run recorded still has the bytes (or spec) it was scored by."""
    if not isinstance(recorded, dict):  # a run from before judges were recorded: rerun it
        return False
    try:
        return all(spec_fingerprint(name) == value for name, value in recorded.items())
    except (OSError, ValueError):  # a judge gone or no longer a model
        return False


def _finished(job: AgentJob) -> dict[str, Any] | None:
    """The stored result of a job whose run folder holds the same, evaluated, run."""
    try:
        stored = json.loads((job.out / "config.json").read_text())
        evaluation = json.loads((job.out / "eval.json").read_text())
        curve = json.loads((job.out / "curve.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = all(_as_asked(stored, job.config).get(k) == v for k, v in job.config.items())
    # The same name is not the same reward model: a checkpoint replaced at the same path.
    same = same and stored.get("reward_fingerprint") == spec_fingerprint(job.config["reward_model"])
    same = same and _same_judges(stored.get("judge_fingerprints"))
    done = evaluation.get("overall", {}).get("episodes") == job.eval_episodes
    if not (same and done and not evaluation.get("deterministic", True)):
        return None
    return {"eval": evaluation, "curve": curve, "train_seconds": stored.get("train_seconds")}


def run_agent_job(job: AgentJob) -> dict[str, Any]:
    """Train and evaluate one run (or read it back when it is already finished)."""
    from flatnet_rl.agents.evaluate import evaluate_agent
    from flatnet_rl.agents.train import train_agent

    result = _finished(job)
    if result is None:
        config = AgentConfig.from_dict(job.config)
        run = train_agent(config, progress=False, overwrite=True)
        evaluate_agent(run, episodes=job.eval_episodes, deterministic=False, overwrite=True)
        result = _finished(job)
        if result is None:
            raise RuntimeError(f"run {job.out} did not leave a readable evaluation")
    return {"reward_model": job.config["reward_model"], "seed": job.config["seed"], **result}


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

    Finished runs (the same config, reward model bytes and evaluation) are read back, not
    rerun, unless ``overwrite``. An existing report is refused unless ``overwrite`` or
    ``resume`` (keep the finished runs, replace the report: a grid grown by a seed or a
    reward model, or a recipe run again).
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
    jobs = make_jobs(grid, out)
    if overwrite:
        for job in jobs:
            (job.out / "eval.json").unlink(missing_ok=True)
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
