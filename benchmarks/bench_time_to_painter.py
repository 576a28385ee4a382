"""Time to a painter: ``flatnet-rl train-agent`` with no flags but the seed, per action mode.

    python benchmarks/bench_time_to_painter.py [--seeds 3] [--modes pixel pen]
        [--out runs/bench/painter]

Runs the command line exactly as a user would (``flatnet-rl train-agent [--action-mode pen]
--seed K --out ...``: the preset's budget, its default threads, then 100 stochastic
evaluation episodes from a blank canvas scored by the judge panel), one run at a time so
that the wall times are the machine's, and tabulates per run: training wall seconds, the
judges' mean p_target, the worst digit, the fooling rate. Goals (issue "time to a
painter", 2 CPU cores): pixel mode within 2 minutes, judge >= 0.9 and every digit >= 0.5;
pen mode within 10 minutes, judge >= 0.8 and every digit >= 0.5; stroke mode (8x8, and
``stroke-14``/``stroke-28`` with the shipped flat models of those sizes) within 10 minutes,
judge >= 0.9 and every digit >= 0.5.
Writes ``painter.md`` and ``painter.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import machine

GOALS = {
    "pixel": (120.0, 0.9, 0.5),
    "pen": (600.0, 0.8, 0.5),
    "stroke": (600.0, 0.9, 0.5),
    "stroke-14": (600.0, 0.9, 0.5),
    "stroke-28": (600.0, 0.9, 0.5),
}
#: The train-agent flags of each row kind (stroke at 14x14 and 28x28: the shipped models).
FLAGS = {
    "pixel": [],
    "pen": ["--action-mode", "pen"],
    "stroke": ["--action-mode", "stroke"],
    "stroke-14": ["--action-mode", "stroke", "--reward-model", "flatnet-14"],
    "stroke-28": ["--action-mode", "stroke", "--reward-model", "flatnet-28"],
}


def train(mode: str, seed: int, out: Path, overwrite: bool) -> dict:
    """One ``flatnet-rl train-agent`` run; its timings and evaluation."""
    # The console script next to this interpreter: the command line a user runs.
    cli = shutil.which("flatnet-rl", path=str(Path(sys.executable).parent)) or "flatnet-rl"
    command = [cli, "train-agent", "--seed", str(seed), *FLAGS[mode]]
    command += ["--out", str(out), "--quiet"] + (["--overwrite"] if overwrite else [])
    print("+ flatnet-rl " + " ".join(command[1:]), flush=True)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    command_seconds = time.perf_counter() - start
    config = json.loads((out / "config.json").read_text())
    result = json.loads((out / "eval.json").read_text())
    per_digit = {int(k): v["judge_p_target"] for k, v in result["per_target"].items()}
    return {
        "mode": mode,
        "seed": seed,
        "train_seconds": config["wall_seconds"],
        "command_seconds": command_seconds,
        "judge": result["overall"]["judge_p_target"],
        "worst_digit": min(per_digit, key=per_digit.get),
        "worst": min(per_digit.values()),
        "fooling": result["overall"]["fooling_rate"],
        "proxy": result["overall"]["proxy_p_target"],
        "per_digit": per_digit,
    }


def table(rows: list[dict]) -> str:
    lines = [
        f"Machine: {machine()}. Each row: `flatnet-rl train-agent "
        "[--action-mode pen|stroke [--reward-model flatnet-N]] --seed K`, 100 stochastic "
        "episodes from a blank canvas.",
        "",
        "| action mode | seed | training wall s | judge p_target | worst digit (judge) "
        "| fooling rate | proxy p_target | goal met |",
        "|---|---:|---:|---:|---|---:|---:|---|",
    ]
    for r in rows:
        seconds, judge, worst = GOALS[r["mode"]]
        met = r["train_seconds"] <= seconds and r["judge"] >= judge and r["worst"] >= worst
        lines.append(
            f"| {r['mode']} | {r['seed']} | {r['train_seconds']:.0f} | {r['judge']:.3f} | "
            f"{r['worst_digit']}: {r['worst']:.3f} | {r['fooling']:.2f} | {r['proxy']:.3f} | "
            f"{'yes' if met else 'no'} |"
        )
    for mode in dict.fromkeys(r["mode"] for r in rows):
        mine = [r for r in rows if r["mode"] == mode]
        seconds, judge, worst = GOALS[mode]
        lines.append("")
        lines.append(
            f"{mode}: training {np.mean([r['train_seconds'] for r in mine]):.0f} s on average "
            f"(goal <= {seconds:.0f}), judge {np.mean([r['judge'] for r in mine]):.3f} "
            f"(goal >= {judge}), worst digit over all seeds "
            f"{min(r['worst'] for r in mine):.3f} (goal >= {worst})."
        )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    modes = list(dict.fromkeys(r["mode"] for r in rows))
    fig = Figure(figsize=(5.2 * len(modes), 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(modes), sharey=True))
    for ax, mode in zip(axes, modes, strict=True):
        mine = [r for r in rows if r["mode"] == mode]
        width = 0.8 / len(mine)
        for k, r in enumerate(mine):
            digits = sorted(r["per_digit"])
            ax.bar(
                np.array(digits) + (k - (len(mine) - 1) / 2) * width,
                [r["per_digit"][d] for d in digits],
                width,
                label=f"seed {r['seed']} ({r['train_seconds']:.0f} s)",
            )
        ax.axhline(GOALS[mode][2], ls="--", c="grey", lw=1)
        ax.set_xticks(range(10))
        ax.set_xlabel("target digit")
        ax.set_title(f"{mode}: judge p_target per digit", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", ncol=len(mine))
    axes[0].set_ylabel("judge p_target")
    axes[0].set_ylim(0, 1.2)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 per mode")
    parser.add_argument("--modes", nargs="+", default=["pixel", "pen"], choices=list(GOALS))
    parser.add_argument("--out", type=Path, default=Path("runs/bench/painter"))
    parser.add_argument("--overwrite", action="store_true", help="replace earlier runs")
    args = parser.parse_args()
    runs = [(m, s, args.out / m / f"seed{s}") for m in args.modes for s in range(args.seeds)]
    existing = [str(path) for *_, path in runs if path.exists()]
    if existing and not args.overwrite:
        parser.error(f"{existing[0]} exists: pass --overwrite to train again")
    rows = [train(mode, seed, path, args.overwrite) for mode, seed, path in runs]
    text = table(rows)
    (args.out / "painter.md").write_text(text)
    (args.out / "painter.json").write_text(json.dumps(rows, indent=2) + "\n")
    plot(rows, args.out / "painter.png")
    print(text)
    print(f"wrote {args.out / 'painter.md'} and {args.out / 'painter.png'}")


if __name__ == "__main__":
    main()
