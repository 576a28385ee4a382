"""Where jobs run: worker processes on this machine, or Ray tasks on a cluster.

``run_jobs(fn, items, engine=...)`` is ``[fn(item) for item in items]``, in order:

* ``engine="local"``: a ``ProcessPoolExecutor`` with the ``spawn`` start method (no forked
  torch or tqdm state), one torch thread per worker (with N processes on N cores, several
  threads per process only contend: measured 3-4x slower on a loaded 2-core machine);
  ``workers=1`` runs in this process. A failed job, Ctrl-C or (on Linux) the command's death
  by any signal stops every worker.
* ``engine="ray"``: one Ray task per item (``num_cpus=1`` each, one torch thread), on the
  cluster at ``address`` (``"auto"``: the running one) or a local Ray started for the run.
  Ray is an optional extra: ``pip install "flatnet-rl[ray]"``.

Jobs make themselves resumable: they write their results to storage every node sees (the
``--out`` folder, the model cache) and return the stored result when it is already there,
so rerunning an interrupted grid only runs what is missing, on either engine.
"""

from __future__ import annotations

import ctypes
import importlib.util
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from flatnet_rl.util.checks import check_plain_int

T = TypeVar("T")
R = TypeVar("R")

ENGINES = ("local", "ray")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def init_worker(parent: int | None = None) -> None:
    """Pool initializer: one torch thread per worker process, so workers don't oversubscribe;
    with ``parent`` (the pid of the process that started the pool), the worker dies with it."""
    import torch

    if parent is not None:
        _die_with(parent)
    torch.set_num_threads(1)


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this process when its parent dies, however it dies (``kill
    -9`` included). Killing a command that ran a pool left its workers training on and
    writing run folders for minutes. SIGKILL, not SIGTERM: pygame (SDL), which renders
    CartPole's frames, catches SIGTERM, and such workers trained on. Elsewhere a no-op (the
    parent's own cleanup remains)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    except (OSError, AttributeError):  # no prctl: a libc other than glibc/musl
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _in_worker(fn: Callable[[T], R], item: T) -> R:
    init_worker()
    return fn(item)


def _check_workers(workers: int) -> None:
    check_plain_int("workers", workers, 1)


def _local(fn: Callable[[T], R], items: list[T], workers: int, bar: Any) -> list[R]:
    results: list[Any] = [None] * len(items)
    if workers == 1 or len(items) <= 1:
        for i, item in enumerate(items):
            results[i] = fn(item)
            bar.update()
        return results
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(items)),
        mp_context=context,
        initializer=init_worker,
        initargs=(os.getpid(),),
    )
    try:
        index: dict[Future, int] = {pool.submit(fn, item): i for i, item in enumerate(items)}
        pending = set(index)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if error is not None:
                    raise error
                results[index[future]] = future.result()
                bar.update()
    except BaseException:
        # Fail fast (a broken job, Ctrl-C): don't run the rest of the grid, and stop the jobs
        # still running (and those already handed to a worker, which cancel_futures cannot
        # reach): left alive, they went on training and writing run folders after the command
        # had reported the error. The pool has no public way to reach its processes.
        running = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)  # (it forgets them)
        for process in running:
            process.kill()  # SIGTERM is caught by SDL in workers that render with pygame
        raise
    pool.shutdown()
    return results


def check_engine(engine: str) -> None:
    """Refuse an unknown engine, or Ray when it is not installed, before any job starts."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    if engine == "ray" and importlib.util.find_spec("ray") is None:
        raise ImportError('engine "ray" needs Ray: pip install "flatnet-rl[ray]"')


def _ray(
    fn: Callable[[T], R], items: list[T], address: str | None, workers: int, bar: Any
) -> list[R]:
    try:
        import ray
    except ImportError as err:
        raise ImportError('engine "ray" needs Ray: pip install "flatnet-rl[ray]"') from err
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(_in_worker)
        refs = [task.remote(fn, item) for item in items]
        order = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(items)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    results[order[ref]] = ray.get(ref)
                except ray.exceptions.RayTaskError as err:
                    for other in pending:
                        ray.cancel(other)
                    raise err.as_instanceof_cause() from None
                bar.update()
        return results
    finally:
        if started_here:
            ray.shutdown()


def run_jobs(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    engine: str = "local",
    workers: int = 2,
    address: str | None = None,
    desc: str = "jobs",
    progress: bool = True,
) -> list[R]:
    """``[fn(item) for item in items]`` on an engine (see the module docstring).

    ``fn`` and the items must be picklable (a top-level function or a ``functools.partial``
    of one). The first failing item cancels the jobs not yet started and re-raises.

    Raises:
        ValueError: unknown engine or bad ``workers``.
        ImportError: ``engine="ray"`` without Ray installed.
    """
    from tqdm.auto import tqdm

    from flatnet_rl.util.threads import ensure_thread_policy

    ensure_thread_policy()  # for the jobs run in this process (workers=1)
    check_engine(engine)
    _check_workers(workers)
    items = list(items)
    with tqdm(total=len(items), desc=desc, unit="job", disable=not progress) as bar:
        if engine == "ray":
            return _ray(fn, items, address, workers, bar)
        return _local(fn, items, workers, bar)
