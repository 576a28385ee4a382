"""Thread policies on a shared machine: env steps/s of the default ``train-agent``, alone and
beside other work, side by side in one run.

    python benchmarks/bench_threads.py [--modes pixel pen stroke] [--settings torch passive auto]
        [--beside none busy1 busy2 agents2] [--timesteps 16384] [--repeats 2]
        [--out runs/bench/threads] [--plot docs/threads.png]

Each measurement runs the command line as a user would, ``flatnet-rl train-agent
[--action-mode M] --timesteps T --eval-episodes 0`` with ``FLATNET_RL_THREADS`` set to the
thread setting (``passive``: torch's default threads with ``OMP_WAIT_POLICY=PASSIVE``), and
reads env steps/s from the run's own training wall time (``config.json``: start-up and
evaluation excluded). Beside it run, started just before it and stopped just after:

* ``none``: nothing of ours (the machine may still be shared: the 1-minute load average
  before each measurement is recorded);
* ``busy1`` / ``busy2``: one / two CPU-bound processes (a Python busy loop);
* ``agents2``: two other ``train-agent`` runs with the same thread setting.

The settings are interleaved (every setting once per condition, then again), so that a
change in the machine's other load falls on all of them alike. Writes ``threads.md`` and
``threads.json`` to ``--out`` and the plot to ``--plot``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BESIDE = {
    "none": "alone",
    "busy1": "beside 1 busy process",
    "busy2": "beside 2 busy processes",
    "agents2": "beside 2 other train-agent runs",
}
SHORT = {"none": "alone", "busy1": "+1 busy", "busy2": "+2 busy", "agents2": "+2 train-agent"}
SETTINGS = {
    "torch": "torch's default threads, OpenMP's default wait policy (flatnet-rl 0.2)",
    "passive": "torch's default threads, OMP_WAIT_POLICY=PASSIVE",
    "free": "threads = free cores (cores - load average), OMP_WAIT_POLICY=PASSIVE",
    "auto": "auto, the default policy: one thread",
}
#: Seconds the background work runs before the measured run starts.
WARM_UP = 2.0


def _cli() -> str:
    # The console script next to this interpreter: the command line a user runs.
    return shutil.which("flatnet-rl", path=str(Path(sys.executable).parent)) or "flatnet-rl"


def _env(setting: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("OMP_NUM_THREADS", None)
    if setting == "passive":
        env.update(FLATNET_RL_THREADS="torch", OMP_WAIT_POLICY="PASSIVE")
    else:
        env["FLATNET_RL_THREADS"] = setting
    return env


def _train_command(mode: str, timesteps: int, out: Path) -> list[str]:
    command = [_cli(), "train-agent", "--timesteps", str(timesteps), "--eval-episodes", "0"]
    if mode != "pixel":
        command += ["--action-mode", mode]
    return command + ["--out", str(out), "--overwrite", "--quiet"]


def _start_background(beside: str, setting: str, mode: str, scratch: Path) -> list:
    if beside.startswith("busy"):
        loop = [sys.executable, "-c", "while True: pass"]
        return [subprocess.Popen(loop) for _ in range(int(beside[-1]))]
    if beside.startswith("agents"):
        return [
            subprocess.Popen(
                _train_command(mode, 10**9, scratch / f"other{k}"),
                env=_env(setting),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for k in range(int(beside[-1]))
        ]
    return []


def measure(
    mode: str, setting: str, beside: str, timesteps: int, scratch: Path, limit: float
) -> dict:
    """One measured run beside the background work; its env steps/s (an upper bound,
    ``timed_out``, when the run took longer than ``limit`` seconds and was stopped)."""
    load = os.getloadavg()[0]
    background = _start_background(beside, setting, mode, scratch)
    out = scratch / "measured"
    shutil.rmtree(out, ignore_errors=True)
    timed_out = False
    try:
        if background:
            time.sleep(WARM_UP)
        start = time.perf_counter()
        try:
            subprocess.run(
                _train_command(mode, timesteps, out),
                env=_env(setting),
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=limit,
            )
            seconds = json.loads((out / "config.json").read_text())["wall_seconds"]
        except subprocess.TimeoutExpired:
            timed_out, seconds = True, time.perf_counter() - start
    finally:
        for process in background:
            process.kill()
            process.wait()
    row = {
        "mode": mode,
        "setting": setting,
        "beside": beside,
        "seconds": round(seconds, 1),
        "steps_per_s": timesteps / max(seconds, 1e-9),
        "timed_out": timed_out,
        "load_before": round(load, 2),
    }
    print(json.dumps(row), flush=True)
    return row


def summarize(rows: list[dict]) -> dict[tuple[str, str, str], dict]:
    """Median steps/s per (mode, setting, beside) over the repeats, and the loads seen."""
    cells: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        cells.setdefault((r["mode"], r["setting"], r["beside"]), []).append(r)
    return {
        key: {
            "steps_per_s": statistics.median(r["steps_per_s"] for r in mine),
            "timed_out": sum(r["timed_out"] for r in mine) * 2 > len(mine),
            "loads": [r["load_before"] for r in mine],
        }
        for key, mine in cells.items()
    }


def table(rows: list[dict], timesteps: int, repeats: int) -> str:
    cells = summarize(rows)
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    besides = list(dict.fromkeys(r["beside"] for r in rows))
    loads = [r["load_before"] for r in rows if r["beside"] == "none"]
    header = "| mode | threads | " + " | ".join(BESIDE[b] for b in besides) + " |"
    lines = [
        f"`flatnet-rl train-agent --timesteps {timesteps:,} --eval-episodes 0`, env steps/s of "
        f"training (median of {repeats}; in brackets: time relative to the same setting alone; "
        "'<': the run was stopped at the time limit); "
        f"{os.cpu_count()} cores; 1-minute load average before the runs alone: "
        f"{min(loads):.1f} to {max(loads):.1f} (the machine was shared).",
        "",
        header,
        "|---|---|" + "---:|" * len(besides),
    ]
    for mode in modes:
        for setting in settings:
            alone = cells.get((mode, setting, "none"), {}).get("steps_per_s")
            parts = []
            for beside in besides:
                cell = cells.get((mode, setting, beside))
                if cell is None:
                    parts.append("")
                    continue
                rate = cell["steps_per_s"]
                bound = "< " if cell["timed_out"] else ""
                slower = ""
                if alone and beside != "none":
                    slower = f" ({'> ' if bound else ''}{alone / rate:.1f}x)"
                parts.append(f"{bound}{rate:,.0f}{slower}")
            lines.append(f"| {mode} | {setting} | " + " | ".join(parts) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    cells = summarize(rows)
    modes = list(dict.fromkeys(r["mode"] for r in rows))
    settings = list(dict.fromkeys(r["setting"] for r in rows))
    besides = list(dict.fromkeys(r["beside"] for r in rows))
    fig = Figure(figsize=(5.2 * len(modes), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(modes)))
    width = 0.8 / len(settings)
    for ax, mode in zip(axes, modes, strict=True):
        for k, setting in enumerate(settings):
            values = [cells.get((mode, setting, b), {}).get("steps_per_s", 0) for b in besides]
            x = np.arange(len(besides)) + (k - (len(settings) - 1) / 2) * width
            ax.bar(x, values, width, label=setting)
        ax.set_xticks(range(len(besides)), [SHORT[b] for b in besides])
        ax.set_title(f"{mode} mode: train-agent env steps/s", fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.legend(fontsize=8, title="threads", title_fontsize=8)
    axes[0].set_ylabel("env steps/s")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", nargs="+", default=["pixel", "pen", "stroke"])
    parser.add_argument("--settings", nargs="+", default=["torch", "passive", "auto"])
    parser.add_argument("--beside", nargs="+", default=list(BESIDE), choices=list(BESIDE))
    parser.add_argument("--timesteps", type=int, default=16384)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument(
        "--limit", type=float, default=60.0, help="seconds after which a run is stopped"
    )
    parser.add_argument("--out", type=Path, default=Path("runs/bench/threads"))
    parser.add_argument("--plot", type=Path, default=Path("docs/threads.png"))
    args = parser.parse_args()
    for setting in args.settings:
        if setting not in SETTINGS and not setting.isdigit():
            parser.error(f"--settings: expected one of {list(SETTINGS)} or a number, got {setting}")
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(args.repeats):
            for mode in args.modes:
                for beside in args.beside:
                    for setting in args.settings:
                        rows.append(
                            measure(
                                mode, setting, beside, args.timesteps, Path(scratch), args.limit
                            )
                        )
    text = table(rows, args.timesteps, args.repeats)
    (args.out / "threads.md").write_text(text)
    (args.out / "threads.json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(rows, args.plot)
    print(text)
    print(f"wrote {args.out / 'threads.md'} and {args.plot}")


if __name__ == "__main__":
    main()
