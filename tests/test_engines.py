"""Where jobs run: local worker processes, and Ray (``-m ray``: .ci/run installs the extra)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flatnet_rl.evaluation.engines import run_jobs
from flatnet_rl.evaluation.sweep import run_sweep


def test_local_engine_keeps_order_and_validates():
    assert run_jobs(abs, [-3, 1, -2], workers=1, progress=False) == [3, 1, 2]
    with pytest.raises(ValueError, match="engine"):
        run_jobs(abs, [1], engine="spark")
    with pytest.raises(ValueError, match="workers"):
        run_jobs(abs, [1], workers=0)
    with pytest.raises(TypeError):
        run_jobs(abs, ["x"], workers=1, progress=False)


def test_local_worker_processes():
    assert run_jobs(abs, [-1, -2, -3], workers=2, progress=False) == [1, 2, 3]


def test_a_failed_job_stops_the_jobs_still_running(tmp_path):
    # A job left running after another failed went on writing its outputs in the background
    # (compare-agents: a worker trained runs for minutes after the command had exited).
    marker = tmp_path / "finished"
    slow = f"import pathlib, time; time.sleep(4); pathlib.Path({str(marker)!r}).write_text('x')"
    with pytest.raises(ZeroDivisionError):
        run_jobs(exec, [slow, "1 / 0"], workers=2, progress=False)
    time.sleep(6)
    assert not marker.exists()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_killed_command_leaves_no_worker_running(tmp_path, how):
    # Killing a command that ran a pool (kill -9, Ctrl-C) left its workers training on.
    import signal
    import subprocess
    import sys

    if how == "SIGKILL" and not sys.platform.startswith("linux"):
        pytest.skip("the kernel's parent-death signal is Linux's")
    # Each job waits for the other to start (a loaded machine starts the workers seconds
    # apart: without the wait, the first worker could finish a job and take the second).
    job = (
        f"import os, pathlib, time; d = pathlib.Path({str(tmp_path)!r}); "
        "import signal; signal.signal(signal.SIGTERM, lambda *a: None); "  # as SDL does
        "(d / f'started-{os.getpid()}').write_text(''); t = time.monotonic() + 100\n"
        "while len(list(d.glob('started-*'))) < 2 and time.monotonic() < t: time.sleep(0.1)\n"
        "time.sleep(4); (d / f'finished-{os.getpid()}').write_text('')"
    )
    script = (
        "from flatnet_rl.evaluation.engines import run_jobs\n"
        f"run_jobs(exec, [{job!r}] * 2, workers=2, progress=False)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(list(tmp_path.glob("started-*"))) == 2, "the workers never started"
    parent.send_signal(getattr(signal, how))
    parent.wait(timeout=30)
    time.sleep(6)
    assert not list(tmp_path.glob("finished-*"))
    for started in tmp_path.glob("started-*"):
        assert not _running(int(started.name.split("-")[1]))


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit is reaped by whatever adopted it)."""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _tiny_sweep(out: Path, cache: Path, engine: str) -> dict:
    run_sweep(
        [0, 0.3],
        [0],
        1,
        out,
        workers=2,
        epochs=2,
        n_outliers=40,
        n_paths=4,
        cache_dir=cache,
        engine=engine,
        progress=False,
    )
    rows = json.loads((out / "results.json").read_text())["rows"]
    return {r["name"]: r["mean"] for r in rows}


@pytest.mark.ray
def test_sweep_on_ray_matches_the_local_pool_and_resumes(tmp_path):
    """A tiny grid through a local Ray instance gives the local pool's numbers; a rerun on
    Ray reads the stored job results instead of training again."""
    pytest.importorskip("ray")
    local = _tiny_sweep(tmp_path / "local", tmp_path / "cache_local", "local")
    on_ray = _tiny_sweep(tmp_path / "ray", tmp_path / "cache_ray", "ray")
    assert local.keys() == on_ray.keys()
    for name in local:
        for key in ("accuracy", "max_prob", "fpr95"):
            assert on_ray[name][key] == pytest.approx(local[name][key], abs=1e-6), (name, key)
    reports = sorted((tmp_path / "cache_ray" / "reports").glob("*.json"))
    assert len(reports) == 2
    stamps = [p.stat().st_mtime_ns for p in reports]
    again = _tiny_sweep(tmp_path / "ray_again", tmp_path / "cache_ray", "ray")
    assert again == on_ray
    assert [p.stat().st_mtime_ns for p in reports] == stamps  # nothing recomputed
