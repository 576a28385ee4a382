"""Sweep flatnet's two knobs, entropy weight kappa x outlier exposure, over training seeds.

>>> from flatnet_rl.evaluation.sweep import run_sweep
>>> result = run_sweep([0, 0.3], [0, 2000], 3, "runs/sweep", workers=2)
>>> result.report_path
PosixPath('runs/sweep/report.md')

Every grid point ``(kappa, outliers, seed)`` is one job (:class:`SweepJob`): kappa = 0
trains plain cross-entropy (``ce``), kappa > 0 flatnet's ``entropy`` loss
``CE - kappa H(p)``; ``outliers > 0`` adds outlier exposure on that many random images.
A job trains its model through :func:`~flatnet_rl.training.specs.resolve_model_spec` (cached
under ``cache_dir`` by spec hash), evaluates it on the data of the evaluation ``seed`` (the
same for every job), and stores its report next to the model
(:mod:`~flatnet_rl.evaluation.store`): a rerun, on either engine, skips finished jobs.
Jobs run on an engine (:mod:`~flatnet_rl.evaluation.engines`): worker processes here, or
Ray tasks on a cluster (``engine="ray"``, ``address=...``; put ``cache_dir`` on storage every
node sees). The report (:func:`~flatnet_rl.evaluation.report.write_sweep_report`) has one
row per ``(kappa, outliers)`` with mean ± std over seeds.

:func:`compare_over_seeds` (``flatnet-rl compare --seeds N``) does the same for any list of
models: each model trained on the fly is trained on N seeds, so that a table states how much
a row moves with the training seed (and so across machines and thread counts, which move
floating-point sums far less).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from itertools import product
from pathlib import Path

from flatnet_rl.data import DataSpec
from flatnet_rl.evaluation.compare import ModelReport, evaluate_spec
from flatnet_rl.evaluation.engines import run_jobs
from flatnet_rl.evaluation.report import AggregateRow, write_sweep_report
from flatnet_rl.evaluation.store import load_report, save_report
from flatnet_rl.training.model_specs import seed_replicate
from flatnet_rl.training.specs import config_from_spec, spec_hash
from flatnet_rl.util.checks import check_plain_int, is_plain_int

SEEDS_INTRO = (
    "Models trained on the fly (training specs, ensembles of trained seeds) were trained with "
    "{seeds} seeds each (seed s; an ensemble's member seeds moved by s x (its largest + 1)); "
    "their cells are the mean ± sample standard deviation over the seeds, all evaluated on "
    "the same seeded data. Models with fixed weights (zoo names, checkpoint files) are "
    "evaluated once: their cells are exact."
)

__all__ = [
    "SweepJob",
    "SweepResult",
    "job_spec",
    "make_jobs",
    "run_job",
    "run_sweep",
    "write_sweep",
]


@dataclass(frozen=True)
class SweepJob:
    """One grid point: train (or load from the cache) and evaluate one model.

    Attributes:
        kappa: entropy weight; 0 means plain cross-entropy.
        outliers: number of outlier-exposure canvases (0 = none).
        seed: training seed.
        epochs: training epochs.
        cache_dir: where trained models and job reports are stored (shared storage on a
            cluster).
        eval_seed, n_outliers, n_paths: evaluation data (same for every job).
        data: the labelled images (default: the embedded 8x8 digits).
    """

    kappa: float
    outliers: int
    seed: int
    epochs: int
    cache_dir: str
    eval_seed: int = 0
    n_outliers: int = 1000
    n_paths: int = 100
    data: DataSpec | None = None

    @property
    def row_name(self) -> str:
        return f"kappa={self.kappa:g}, outliers={self.outliers}"


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` produced: seed-averaged rows and the report's path."""

    rows: list[AggregateRow]
    report_path: Path


def job_spec(job: SweepJob) -> str:
    """The training spec of a job, e.g. ``entropy:kappa=0.3,outliers=2000,seed=1,epochs=40``."""
    head = "ce:" if job.kappa == 0 else f"entropy:kappa={job.kappa!r},"
    return f"{head}outliers={job.outliers},seed={job.seed},epochs={job.epochs}"


def make_jobs(
    kappas: Iterable[float],
    outliers: Iterable[int],
    seeds: int | Sequence[int],
    *,
    epochs: int = 40,
    cache_dir: str | Path = "runs/cache",
    eval_seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    data: DataSpec | None = None,
) -> list[SweepJob]:
    """The grid ``kappas x outliers x seeds`` as jobs, in row order.

    ``seeds`` is a count (``3`` means seeds 0, 1, 2) or an explicit list of seeds.

    Raises:
        ValueError: empty or repeated grid values, negative or non-finite kappa, negative
            outliers or seeds, epochs < 1.
    """
    kappas = [float(k) for k in kappas]
    outliers = list(outliers)
    if isinstance(seeds, bool):
        raise ValueError(f"seeds must be a count or a list of seeds, got {seeds!r}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    for name, values in (("kappas", kappas), ("outliers", outliers), ("seeds", seed_list)):
        if not values:
            raise ValueError(f"{name} must not be empty")
        if len(set(values)) != len(values):
            raise ValueError(f"{name} has repeated values: {values}")
    if any(not math.isfinite(k) or k < 0 for k in kappas):
        raise ValueError(f"kappas must be finite and >= 0, got {kappas}")
    for name, values in (("outliers", outliers), ("seeds", seed_list)):
        if any(not is_plain_int(v) or v < 0 for v in values):
            raise ValueError(f"{name} must be integers >= 0, got {values}")
    check_plain_int("epochs", epochs, 1)
    return [
        SweepJob(k, o, s, epochs, str(cache_dir), eval_seed, n_outliers, n_paths, data)
        for k, o, s in product(kappas, outliers, seed_list)
    ]


def _report_base(job: SweepJob) -> Path:
    """Where a job's report is stored: named by the model's training hash and the
    evaluation settings, next to the cached model."""
    evaluation = {
        "seed": job.eval_seed,
        "n_outliers": job.n_outliers,
        "n_paths": job.n_paths,
        "data": None if job.data is None else asdict(job.data),
    }
    key = hashlib.sha256(json.dumps(evaluation, sort_keys=True).encode()).hexdigest()[:12]
    model = spec_hash(config_from_spec(job_spec(job), job.data))
    return Path(job.cache_dir) / "reports" / f"{model}-{key}"


def run_job(job: SweepJob) -> tuple[SweepJob, ModelReport]:
    """Train (or load from the cache) and evaluate one grid point; a stored report of the
    same job is returned as it is."""
    base = _report_base(job)
    report = load_report(base)
    if report is None:
        report = evaluate_spec(
            job_spec(job),
            job.cache_dir,
            seed=job.eval_seed,
            n_outliers=job.n_outliers,
            n_paths=job.n_paths,
            data=job.data,
        )
        base.parent.mkdir(parents=True, exist_ok=True)
        save_report(report, base)
    return job, report


def _rows(results: Iterable[tuple[SweepJob, ModelReport]]) -> list[AggregateRow]:
    """Group results by ``(kappa, outliers)`` in grid order, seeds sorted within a row."""
    grouped: dict[tuple[float, int], list[tuple[SweepJob, ModelReport]]] = {}
    for job, report in sorted(results, key=lambda r: (r[0].kappa, r[0].outliers, r[0].seed)):
        grouped.setdefault((job.kappa, job.outliers), []).append((job, report))
    rows = []
    for (kappa, outliers), members in grouped.items():
        rows.append(
            AggregateRow(
                name=members[0][0].row_name,
                params={
                    "kappa": kappa,
                    "outliers": outliers,
                    "seeds": [job.seed for job, _ in members],
                },
                reports=[report for _, report in members],
            )
        )
    return rows


def write_sweep(
    results: Iterable[tuple[SweepJob, ModelReport]], out_dir: str | Path, *, figures: bool = True
) -> tuple[list[AggregateRow], Path]:
    """Aggregate ``(job, report)`` pairs per ``(kappa, outliers)`` and write the report."""
    results = list(results)
    if not results:
        raise ValueError("no sweep results to write")
    rows = _rows(results)
    jobs = [job for job, _ in results]
    first = jobs[0]
    settings = {
        "kappa": sorted({j.kappa for j in jobs}),
        "outliers": sorted({j.outliers for j in jobs}),
        "seeds": sorted({j.seed for j in jobs}),
        "epochs": sorted({j.epochs for j in jobs}),
    }
    path = write_sweep_report(
        rows,
        out_dir,
        seed=first.eval_seed,
        n_outliers=first.n_outliers,
        n_paths=first.n_paths,
        settings=settings,
        data=first.data,
        figures=figures,
    )
    return rows, path


def run_sweep(
    kappas: Iterable[float],
    outliers: Iterable[int],
    seeds: int | Sequence[int],
    out_dir: str | Path,
    workers: int = 2,
    epochs: int = 40,
    *,
    cache_dir: str | Path | None = None,
    eval_seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    data: DataSpec | None = None,
    engine: str = "local",
    address: str | None = None,
    progress: bool = True,
) -> SweepResult:
    """Train and evaluate the grid ``kappas x outliers x seeds`` and write the report.

    Args:
        kappas: entropy weights (0 = plain cross-entropy).
        outliers: outlier-exposure pool sizes (0 = none).
        seeds: number of training seeds (0..n-1) or a list of seeds.
        out_dir: folder for ``report.md``, ``results.json`` and the figures.
        workers: worker processes (``spawn``, one torch thread each; ``1`` runs the jobs in
            this process), or the CPUs of a local Ray started for the run.
        epochs: training epochs per model.
        cache_dir: model cache (default ``<out_dir>/cache``).
        eval_seed, n_outliers, n_paths: evaluation data, as in
            :func:`~flatnet_rl.evaluation.compare.evaluate_models`.
        data: labelled images to train and evaluate on (default: the embedded digits).
        engine, address: ``"local"`` or ``"ray"`` (:mod:`~flatnet_rl.evaluation.engines`).
        progress: tqdm bar over finished jobs.
    """
    cache = Path(cache_dir) if cache_dir is not None else Path(out_dir) / "cache"
    jobs = make_jobs(
        kappas,
        outliers,
        seeds,
        epochs=epochs,
        cache_dir=cache,
        eval_seed=eval_seed,
        n_outliers=n_outliers,
        n_paths=n_paths,
        data=data,
    )
    results = run_jobs(
        run_job,
        jobs,
        engine=engine,
        workers=workers,
        address=address,
        desc="sweep",
        progress=progress,
    )
    rows, path = write_sweep(results, out_dir)
    return SweepResult(rows, path)


def compare_over_seeds(
    specs: Sequence[str],
    seeds: int,
    out_dir: str | Path,
    *,
    cache_dir: str | Path = "runs/cache",
    seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    data: DataSpec | None = None,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    progress: bool = True,
) -> Path:
    """Evaluate models like ``compare``, each one trained on the fly on ``seeds`` training
    seeds (:func:`~flatnet_rl.training.specs.seed_replicate`); one row per spec, mean ± std.
    Writes ``report.md``, ``results.json``, ``table.md`` and ``families.md``; returns the
    report's path."""
    check_plain_int("seeds", seeds, 1)
    replicates = [
        [r for r in (seed_replicate(spec, k) for k in range(seeds)) if r is not None]
        for spec in specs
    ]
    job = partial(
        evaluate_spec,
        cache_dir=cache_dir,
        seed=seed,
        n_outliers=n_outliers,
        n_paths=n_paths,
        data=data,
    )
    flat = [r for group in replicates for r in group]
    reports = iter(
        run_jobs(
            job,
            flat,
            engine=engine,
            workers=workers,
            address=address,
            desc="models",
            progress=progress,
        )
    )
    rows = [
        AggregateRow(name=spec, params={"spec": spec}, reports=[next(reports) for _ in group])
        for spec, group in zip(specs, replicates, strict=True)
    ]
    return write_sweep_report(
        rows,
        out_dir,
        seed=seed,
        n_outliers=n_outliers,
        n_paths=n_paths,
        settings={"seeds": seeds},
        title=f"flatnet-rl compare over {seeds} training seeds",
        data=data,
        intro=SEEDS_INTRO.format(seeds=seeds),
        first_header="model",
    )
