"""How the reward, the env, training and agents scale with the canvas: 8x8, 14x14, 28x28.

    python benchmarks/bench_scaling.py [--ppo-seconds 300] [--out runs/bench/scaling.md]

For each canvas side, with the shipped flatnet model of that size, side by side in one run:

* reward FLOPs per canvas and the time of one classifier call on the default vector of
  envs (ms per vector step, us per env step), and per env step when a rollout of 32 steps
  is scored in one call (train-agent's default);
* env steps/s of the native vectorized paint env (pen mode), bare and rewarded;
* classifier training: seconds per epoch of the shipped recipe (measured over
  ``--train-epochs`` epochs) and the recipe's full time at that rate;
* PPO (``train-agent``'s preset of each action mode, pixel and pen, with its budget and
  learning-rate decay): training seconds until the judge panel's mean p_target on
  evaluation episodes first reaches 0.8, within ``--ppo-seconds`` per run and the preset's
  steps (and the judge reached when not).
Writes the markdown table to ``--out`` and a figure next to it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from common import best_of, machine
from torch.utils.flop_counter import FlopCounterMode

from flatnet_rl import FlatnetRewardVecEnv, load_classifier
from flatnet_rl.agents import AgentConfig, train_agent
from flatnet_rl.envs import PaintVecEnv
from flatnet_rl.shipped import zoo_manifest, zoo_name
from flatnet_rl.training import TrainConfig, config_from_spec, train_classifier

SIDES = (8, 14, 28)
MODES = ("pixel", "pen")
JUDGE_GOAL = 0.8
#: The judges score CURVE_EPISODES evaluation episodes every EVAL_EVERY training steps
#: (evaluation time is not training time; at 28x28 a pen episode is 224 steps).
EVAL_EVERY = 20_000
CURVE_EPISODES = 30


def steps_per_second(venv, steps: int) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, venv.action_space.n, size=(steps, venv.num_envs))
    venv.reset()
    start = time.perf_counter()
    for a in actions:
        venv.step(a)
    return steps * venv.num_envs / (time.perf_counter() - start)


def seconds_per_epoch(side: int, epochs: int) -> tuple[float, int]:
    """Measured seconds per epoch of the shipped flatnet recipe at ``side``, and its epochs."""
    spec = zoo_manifest()[zoo_name("flatnet", side)]["spec"]
    recipe: TrainConfig = config_from_spec(spec)
    short = TrainConfig(**{**recipe.__dict__, "epochs": epochs, "device": "cpu"})
    start = time.perf_counter()
    train_classifier(short, progress=False)
    return (time.perf_counter() - start) / epochs, recipe.epochs


def time_to_goal(
    side: int, mode: str, max_seconds: float, out: Path
) -> tuple[float | None, list[dict]]:
    """Training seconds of PPO until the judges reach the goal (None: not within)."""
    config = AgentConfig(
        reward_model=zoo_name("flatnet", side),
        action_mode=mode,
        out=str(out / f"ppo_{mode}_{side}"),
        device="cpu",
        eval_every=EVAL_EVERY,
        curve_episodes=CURVE_EPISODES,
    )
    run = train_agent(
        config,
        progress=False,
        overwrite=True,
        stop_at_judge=JUDGE_GOAL,
        max_train_seconds=max_seconds,
    )
    points = json.loads((run / "curve.json").read_text())["points"]
    reached = [p["seconds"] for p in points if p["judge_p_target"] >= JUDGE_GOAL]
    return (reached[0] if reached else None), points


def goal_cell(goal: float | None, points: list[dict], max_seconds: float) -> str:
    if goal is not None:
        return f"{goal:.0f}"
    reached = max((p["judge_p_target"] for p in points), default=float("nan"))
    return f"not within {max_seconds:.0f} s or the preset's steps (best {reached:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ppo-seconds", type=float, default=300.0)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--sides", type=int, nargs="+", default=list(SIDES))
    parser.add_argument("--out", type=Path, default=Path("runs/bench/scaling.md"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    n_envs = AgentConfig().n_envs
    rows = []
    for side in args.sides:
        clf = load_classifier(zoo_name("flatnet", side), device="cpu")
        canvases = np.random.default_rng(0).random((n_envs, side, side)) < 0.2
        with FlopCounterMode(display=False) as counter:
            clf.predict_proba(canvases[:1])
        call_ms = best_of(lambda c=clf, x=canvases: [c.predict_proba(x) for _ in range(50)]) / 50e-3
        # A rollout scored at once (train-agent's default): 32 steps of the vector.
        rollout = np.random.default_rng(1).random((32 * n_envs, side, side)) < 0.2
        rollout_us = best_of(lambda c=clf, x=rollout: c.predict_proba(x)) / len(rollout) * 1e6
        steps = max(50, 20_000 // n_envs)
        bare = steps_per_second(PaintVecEnv(n_envs, canvas_size=side, action_mode="pen"), steps)
        rewarded = steps_per_second(
            FlatnetRewardVecEnv(PaintVecEnv(n_envs, canvas_size=side, action_mode="pen"), clf),
            steps,
        )
        per_epoch, epochs = seconds_per_epoch(side, args.train_epochs)
        agents = {m: time_to_goal(side, m, args.ppo_seconds, args.out.parent) for m in args.modes}
        rows.append(
            {
                "side": side,
                "mflops": counter.get_total_flops() / 1e6,
                "call_ms": call_ms,
                "us_per_step": 1e3 * call_ms / n_envs,
                "rollout_us": rollout_us,
                "bare": bare,
                "rewarded": rewarded,
                "per_epoch": per_epoch,
                "recipe_s": per_epoch * epochs,
                "epochs": epochs,
                "agents": agents,
            }
        )
        print(f"canvas {side}: done", flush=True)

    lines = [
        f"Machine: {machine()}; {n_envs} envs per vector (env steps/s: pen mode); PPO with "
        f"each action mode's preset (its steps), goal judge p_target >= {JUDGE_GOAL}, at most "
        f"{args.ppo_seconds:.0f} training seconds per run (one seed).",
        "",
        "| canvas | reward MFLOP / canvas | reward ms / vector step | us / env step | "
        "us / env step, per rollout | env steps/s bare | env steps/s rewarded | classifier "
        "s / epoch | recipe training s | "
        + " | ".join(f"PPO s to judge {JUDGE_GOAL} ({m})" for m in args.modes)
        + " |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(args.modes),
    ]
    for r in rows:
        goals = " | ".join(goal_cell(*r["agents"][m], args.ppo_seconds) for m in args.modes)
        lines.append(
            f"| {r['side']}x{r['side']} | {r['mflops']:.2f} | {r['call_ms']:.2f} | "
            f"{r['us_per_step']:.1f} | {r['rollout_us']:.1f} | {r['bare']:,.0f} | "
            f"{r['rewarded']:,.0f} | "
            f"{r['per_epoch']:.1f} | {r['recipe_s']:.0f} ({r['epochs']} epochs) | {goals} |"
        )
    table = "\n".join(lines)
    args.out.write_text(table + "\n")
    print(table)
    plot(rows, args.out.with_suffix(".png"))


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    sides = [r["side"] for r in rows]
    left.plot(sides, [r["mflops"] for r in rows], "o-", label="reward MFLOP / canvas")
    left.plot(sides, [r["per_epoch"] for r in rows], "s-", label="classifier s / epoch")
    left.plot(sides, [r["us_per_step"] for r in rows], "^-", label="reward us / env step")
    left.plot(
        sides, [r["rollout_us"] for r in rows], "v-", label="reward us / env step, per rollout"
    )
    left.set_yscale("log")
    left.set_xlabel("canvas side")
    left.legend(fontsize=8)
    left.grid(alpha=0.3, which="both")
    for r in rows:
        for mode, (_, pts) in r["agents"].items():
            right.plot(
                [p["seconds"] for p in pts],
                [p["judge_p_target"] for p in pts],
                "o-" if mode == "pixel" else "s--",
                label=f"{r['side']}x{r['side']} {mode}",
            )
    right.axhline(JUDGE_GOAL, ls="--", c="grey", lw=1)
    right.set_xlabel("PPO training seconds")
    right.set_ylabel("judge p_target")
    right.set_ylim(0, 1)
    right.legend(fontsize=8)
    right.grid(alpha=0.3)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
