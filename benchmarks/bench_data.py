"""The README's ``--data`` commands on ordinary env frames: wall time and peak memory.

    python benchmarks/bench_data.py [--frames 1000] [--out runs/bench/data]

Collects ``--frames`` labelled 256x256 RGB ``render()`` frames of MiniGrid-Empty-8x8-v0
(tile 32; the agent within 2 cells of the goal or not; needs ``minigrid``) into an image
folder, then runs the three commands of the README's "Your own images" section on it, each
as a fresh process with its defaults:

    flatnet-rl train-classifier --data pictures/ --out mine.safetensors
    flatnet-rl train-classifier --data pictures/ --loss ce --outliers 0 --out plain.safetensors
    flatnet-rl compare mine.safetensors plain.safetensors --data pictures/ --out runs/mine

and reports each one's wall seconds and peak resident memory (the issue's goal: under 4 GB and
a few minutes on 2 cores). Writes ``data.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import machine

from flatnet_rl.data.collect import collect_labelled_frames
from flatnet_rl.data.folders import save_image_folder

GOAL = (6, 6)  # the goal cell of MiniGrid's 8x8 empty room


def near_goal(env: Any, obs: Any) -> str:
    x, y = env.unwrapped.agent_pos
    return "near_goal" if abs(x - GOAL[0]) + abs(y - GOAL[1]) <= 2 else "far"


def run(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident GB of one command (a child process of its own)."""
    cli = shutil.which("flatnet-rl", path=str(Path(sys.executable).parent)) or "flatnet-rl"
    print("+ flatnet-rl " + " ".join(command), flush=True)
    # ru_maxrss of the children is the largest child so far: run each in a fresh helper.
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
        "stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", probe, cli, *command],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    return seconds, int(done.stdout.split()[-1]) / 1024**2  # KB -> GB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=1000, help="labelled frames")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/data"))
    args = parser.parse_args()
    if args.frames < 2:
        parser.error(f"--frames must be at least 2 (one per class), got {args.frames}")
    work = args.out
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    frames = collect_labelled_frames(
        "minigrid:MiniGrid-Empty-8x8-v0",
        args.frames,
        near_goal,
        class_names=["far", "near_goal"],
        env_kwargs={"tile_size": 32},
        seed=0,
    )
    save_image_folder(frames.x, frames.y, frames.class_names, work / "pictures")
    commands = {
        "flat": ["train-classifier", "--data", "pictures/", "--out", "mine.safetensors"],
        "plain": [
            "train-classifier",
            "--data",
            "pictures/",
            "--loss",
            "ce",
            "--outliers",
            "0",
            "--out",
            "plain.safetensors",
        ],
        "compare": [
            "compare",
            "mine.safetensors",
            "plain.safetensors",
            "--data",
            "pictures/",
            "--out",
            "runs/mine",
        ],
    }
    side = frames.x.shape[1]
    lines = [
        f"Machine: {machine()}; load average before the run "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}. "
        f"{args.frames} MiniGrid frames, {side}x{side} RGB, as PNG files.",
        "",
        "| command | wall s | peak memory GB |",
        "|---|---:|---:|",
    ]
    for command in commands.values():
        seconds, gigabytes = run(command, work)
        lines.append(f"| `flatnet-rl {' '.join(command)}` | {seconds:.0f} | {gigabytes:.2f} |")
    text = "\n".join(lines) + "\n"
    (work / "data.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
