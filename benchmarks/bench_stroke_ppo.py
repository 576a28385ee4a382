"""The learned reward's share of PPO wall time in stroke mode, side by side in one run.

    python benchmarks/bench_stroke_ppo.py [--canvas 28] [--steps 16384] [--repeats 2]

PPO at ``train-agent --action-mode stroke``'s preset for the canvas size, with a constant
reward (the control, no classifier), with the shipped flat CNN (``flatnet-28``: 22 MFLOP a
canvas) and with the flat LeNet (``flatnet-lenet-28``: 0.8 MFLOP), each scored once per rollout
(the default). Runs alternate, fastest of ``--repeats`` each, so a drift in the machine's load
hits all of them (goal: the learned reward adds <= 25% at 28x28).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import ConstantReward, machine
from stable_baselines3.common.vec_env import VecMonitor

import flatnet_rl
from flatnet_rl.agents import AgentConfig, build_algorithm
from flatnet_rl.agents.callbacks import RolloutRewardCallback
from flatnet_rl.agents.envs import make_env
from flatnet_rl.envs import PaintVecEnv
from flatnet_rl.reward import RolloutRewardVecEnv
from flatnet_rl.shipped import zoo_name


def ppo_seconds(config: AgentConfig, reward: flatnet_rl.Classifier | None) -> float:
    if reward is None:
        venv = PaintVecEnv(
            config.n_envs,
            canvas_size=config.canvas_size,
            action_mode="stroke",
            start=config.start,
        )
        venv.seed(0)
        env = VecMonitor(ConstantReward(venv))
        callbacks = []
    else:
        env = make_env(config, reward)
        callbacks = [RolloutRewardCallback(env)] if isinstance(env, RolloutRewardVecEnv) else []
    model = build_algorithm(config, env)
    model.tensorboard_log = None
    start = time.perf_counter()
    model.learn(config.timesteps, callback=callbacks)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--canvas", type=int, default=28)
    parser.add_argument("--steps", type=int, default=16_384)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/bench/stroke_ppo.md"))
    args = parser.parse_args()
    rewards = {"constant reward": None}
    for name in (zoo_name("flatnet", args.canvas), f"flatnet-lenet-{args.canvas}"):
        if name in flatnet_rl.classifier.zoo_manifest():
            rewards[f"`{name}`, per rollout"] = flatnet_rl.load_classifier(name, device="cpu")
    config = AgentConfig(
        action_mode="stroke",
        canvas_size=args.canvas,
        reward_model=zoo_name("flatnet", args.canvas),
        timesteps=args.steps,
        device="cpu",
        out="/tmp/flatnet-bench-stroke",
    )
    seconds: dict[str, list[float]] = {name: [] for name in rewards}
    for _ in range(args.repeats):  # alternated, so drifts in machine load hit all
        for name, reward in rewards.items():
            seconds[name].append(ppo_seconds(config, reward))
            print(f"{name}: {seconds[name][-1]:.1f} s", flush=True)
    fastest = {name: min(values) for name, values in seconds.items()}
    lines = [
        f"Machine: {machine()}.",
        "",
        f"| PPO, stroke mode {args.canvas}x{args.canvas} ({config.n_envs} envs, "
        f"{torch.get_num_threads()} threads), {args.steps:,} steps | wall s (fastest; all) "
        "| the reward's share (goal <= +25%) |",
        "|---|---|---:|",
    ]
    for name in rewards:
        share = fastest[name] / fastest["constant reward"] - 1
        runs = ", ".join(f"{x:.1f}" for x in seconds[name])
        shown = "—" if rewards[name] is None else f"{share:+.1%}"
        lines.append(f"| {name} | {fastest[name]:.1f} ({runs}) | {shown} |")
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
