"""Sweep flatnet's two knobs, entropy weight kappa x outlier exposure, over training seeds.

>>> from flatnet_rl.evaluation.sweep import run_sweep
>>> result = run_sweep([0, 0.3], [0, 2000], 3, "runs/sweep", workers=2)
>>> result.report_path
PosixPath('runs/sweep/report.md')

Every grid point ``(kappa, outliers, seed)`` is one job (:class:`SweepJob`): kappa = 0
trains plain cross-entropy (``ce``), kappa > 0 flatnet's ``entropy`` loss
``CE - kappa H(p)``; ``outliers > 0`` adds outlier exposure on that many random canvases.
A job trains its model through :func:`~flatnet_rl.evaluation.compare.resolve_model_spec`
(so models are cached under ``cache_dir`` by spec hash and a rerun skips training) and
evaluates it with :func:`~flatnet_rl.evaluation.compare.evaluate_models` on the data of the
evaluation ``seed``, which is the same for every job. Jobs run in worker processes
(``ProcessPoolExecutor`` with the ``spawn`` start method, so no forked torch state; each
worker calls ``torch.set_num_threads(1)`` so that N workers use N cores instead of fighting
over them). The report (:func:`~flatnet_rl.evaluation.report.write_sweep_report`) has one
row per ``(kappa, outliers)`` with mean ± std over seeds.

Running the same grid on a cluster with Ray
-------------------------------------------
Ray is not a dependency of flatnet-rl: install it on the cluster (``pip install "ray[default]"``)
and put ``cache_dir`` on storage every node sees. ``ray.util.multiprocessing.Pool`` is a
drop-in for a process pool, and the job pieces below are plain picklable functions::

    import ray
    from ray.util.multiprocessing import Pool
    from flatnet_rl.evaluation.sweep import init_worker, make_jobs, run_job, write_sweep

    ray.init(address="auto")                      # connect to the running cluster
    jobs = make_jobs([0, 0.1, 0.3, 1], [0, 2000], seeds=3, epochs=40,
                     cache_dir="/shared/flatnet-cache")
    with Pool(initializer=init_worker) as pool:   # one Ray actor per CPU by default
        results = list(pool.imap_unordered(run_job, jobs))
    write_sweep(results, "runs/sweep")

``pool.imap_unordered`` yields results as jobs finish (wrap it in ``tqdm(total=len(jobs))``
for progress); ``results`` are ``(job, ModelReport)`` pairs, exactly what
:func:`run_sweep` collects from its local pool.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from itertools import product
from pathlib import Path
from typing import TypeVar

from flatnet_rl.evaluation.compare import ModelReport, evaluate_spec
from flatnet_rl.evaluation.report import AggregateRow, write_sweep_report

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "SweepJob",
    "SweepResult",
    "init_worker",
    "job_spec",
    "make_jobs",
    "run_in_workers",
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
        cache_dir: where trained models are cached (shared storage on a cluster).
        eval_seed, n_outliers, n_paths: evaluation data (same for every job).
    """

    kappa: float
    outliers: int
    seed: int
    epochs: int
    cache_dir: str
    eval_seed: int = 0
    n_outliers: int = 1000
    n_paths: int = 100

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
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
            raise ValueError(f"{name} must be integers >= 0, got {values}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1, got {epochs!r}")
    return [
        SweepJob(k, o, s, epochs, str(cache_dir), eval_seed, n_outliers, n_paths)
        for k, o, s in product(kappas, outliers, seed_list)
    ]


def init_worker() -> None:
    """Pool initializer: one torch thread per worker process, so workers don't oversubscribe."""
    import torch

    torch.set_num_threads(1)


def run_in_workers(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    *,
    desc: str = "jobs",
    progress: bool = True,
) -> list[R]:
    """``[fn(item) for item in items]`` in worker processes; results in the order of ``items``.

    ``workers > 1`` uses a ``ProcessPoolExecutor`` with the ``spawn`` start method (no forked
    torch or tqdm state) and :func:`init_worker` (one torch thread per process: with N
    processes on N cores, several threads per process only contend, which measured 3-4x
    slower on a loaded 2-core machine). ``workers == 1`` runs in this process, no pool.
    ``fn`` and the items must be picklable (a top-level function or a ``functools.partial``
    of one). The first failing item cancels the jobs not yet started and re-raises.
    A tqdm bar counts finished items.
    """
    from tqdm.auto import tqdm

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    items = list(items)
    results: list[R | None] = [None] * len(items)
    with tqdm(total=len(items), desc=desc, unit="model", disable=not progress) as bar:
        if workers == 1 or len(items) <= 1:
            for i, item in enumerate(items):
                results[i] = fn(item)
                bar.update()
            return results  # type: ignore[return-value]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(workers, len(items)), mp_context=context, initializer=init_worker
        ) as pool:
            index: dict[Future, int] = {pool.submit(fn, item): i for i, item in enumerate(items)}
            pending = set(index)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        # Fail fast: don't train the rest of the grid after a broken job.
                        pool.shutdown(wait=False, cancel_futures=True)
                        raise error
                    results[index[future]] = future.result()
                    bar.update()
    return results  # type: ignore[return-value]


def run_job(job: SweepJob) -> tuple[SweepJob, ModelReport]:
    """Train (or load from the cache) and evaluate one grid point."""
    report = evaluate_spec(
        job_spec(job),
        job.cache_dir,
        seed=job.eval_seed,
        n_outliers=job.n_outliers,
        n_paths=job.n_paths,
    )
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
    progress: bool = True,
) -> SweepResult:
    """Train and evaluate the grid ``kappas x outliers x seeds`` and write the report.

    Args:
        kappas: entropy weights (0 = plain cross-entropy).
        outliers: outlier-exposure pool sizes (0 = none).
        seeds: number of training seeds (0..n-1) or a list of seeds.
        out_dir: folder for ``report.md``, ``results.json`` and the figures.
        workers: worker processes (``spawn``, one torch thread each); ``1`` runs the jobs in
            this process without a pool.
        epochs: training epochs per model.
        cache_dir: model cache (default ``<out_dir>/cache``).
        eval_seed, n_outliers, n_paths: evaluation data, as in
            :func:`~flatnet_rl.evaluation.compare.evaluate_models`.
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
    )
    results = run_in_workers(run_job, jobs, workers, desc="sweep", progress=progress)
    rows, path = write_sweep(results, out_dir)
    return SweepResult(rows, path)
