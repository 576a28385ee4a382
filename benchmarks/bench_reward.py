"""Reward speed, measured side by side in one run (issue goals on 2 cores).

    python benchmarks/bench_reward.py [--ppo-steps 65536] [--out runs/bench/reward.md]

1. env steps/s for N = 1, 8, 64, 256 envs: SB3's DummyVecEnv of PaintEnv vs the native
   vectorized PaintVecEnv, bare and under FlatnetRewardVecEnv (one classifier call per
   vector step); and the single-env FlatnetPaint-v0;
2. the classifier: FLOPs per canvas, batched throughput against the FLOP bound of this CPU
   (its measured float32 matmul rate), one call on 8 and 64 canvases;
3. the reward's share of PPO wall time at ``train-agent``'s default settings (preset, number
   of envs, start canvases, native env, the reward scored once per rollout): the same run
   with the flatnet reward scored per rollout and per step, with a flat MLP reward
   (``--light-reward``, the flatnet recipe on an MLP: a tenth of the FLOPs) and with a
   constant reward, alternated, fastest of ``--repeats`` each (goal: <= 10%).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from common import ConstantReward, best_of, machine, matmul_gflops
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor
from torch.utils.flop_counter import FlopCounterMode

import flatnet_rl
from flatnet_rl import FlatnetRewardVecEnv
from flatnet_rl.agents import AgentConfig, build_algorithm
from flatnet_rl.agents.callbacks import RolloutRewardCallback
from flatnet_rl.agents.envs import make_env
from flatnet_rl.envs import PaintEnv, PaintVecEnv
from flatnet_rl.reward import RolloutRewardVecEnv
from flatnet_rl.training import resolve_model_spec


def vec_steps_per_second(venv: VecEnv, steps: int) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, venv.action_space.n, size=(steps, venv.num_envs))
    venv.reset()
    start = time.perf_counter()
    for a in actions:
        venv.step(a)
    return steps * venv.num_envs / (time.perf_counter() - start)


def single_steps_per_second(env: gym.Env, steps: int = 3000) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, env.action_space.n, size=steps)
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        *_, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - start)


def env_table(clf: flatnet_rl.Classifier, sizes: list[int]) -> list[dict]:
    rows = []
    for n in sizes:
        steps = max(50, 20_000 // n)
        row = {"n": n}
        row["dummy"] = vec_steps_per_second(DummyVecEnv([PaintEnv] * n), steps)
        row["native"] = vec_steps_per_second(PaintVecEnv(n), steps)
        row["dummy_reward"] = vec_steps_per_second(
            FlatnetRewardVecEnv(DummyVecEnv([PaintEnv] * n), clf), steps
        )
        row["native_reward"] = vec_steps_per_second(FlatnetRewardVecEnv(PaintVecEnv(n), clf), steps)
        rows.append(row)
    return rows


#: The flatnet recipe (CE - 0.3 H + 2000 outliers) on an MLP: 0.33 MFLOP per canvas.
LIGHT_REWARD = "entropy:kappa=0.3,outliers=2000,arch=mlp"


def ppo_seconds(
    reward: flatnet_rl.Classifier | None, steps: int, scoring: str = "rollout"
) -> float:
    """Wall time of ``model.learn`` at train-agent's defaults (None: constant reward), with
    the reward scored per rollout (the default) or per step."""
    config = AgentConfig(
        timesteps=steps, device="cpu", out="/tmp/flatnet-bench", reward_scoring=scoring
    )
    callbacks = []
    if reward is None:
        venv: VecEnv = PaintVecEnv(config.n_envs, start=config.start)
        venv.seed(0)
        env = VecMonitor(ConstantReward(venv))
    else:
        env = make_env(config, reward)  # the stack train-agent trains on
        if isinstance(env, RolloutRewardVecEnv):
            callbacks.append(RolloutRewardCallback(env))
    model = build_algorithm(config, env)
    model.tensorboard_log = None
    start = time.perf_counter()
    model.learn(steps, callback=callbacks)
    return time.perf_counter() - start


def flop_count(clf: flatnet_rl.Classifier) -> int:
    """FLOPs of one 8x8 canvas through the classifier."""
    with FlopCounterMode(display=False) as counter:
        clf.predict_proba(np.zeros((1, 8, 8), dtype=bool))
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ppo-steps", type=int, default=65_536)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument(
        "--light-reward",
        default=LIGHT_REWARD,
        help="a cheaper flat reward model (model spec, trained and cached on first use)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/bench/reward.md"),
        help="markdown tables; the env-steps figure goes next to it",
    )
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = [f"Machine: {machine()}.", ""]

    def say(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)

    clf = flatnet_rl.load_classifier("flatnet", device="cpu")

    sizes = [1, 8, 64, 256]
    rows = env_table(clf, sizes)
    single = single_steps_per_second(gym.make("FlatnetPaint-v0", device="cpu"))
    say("Env steps per second (8x8, pixel mode, random actions):")
    say()
    say("| envs N | DummyVecEnv bare | native bare | DummyVecEnv + reward | native + reward |")
    say("|---:|---:|---:|---:|---:|")
    for r in rows:
        say(
            f"| {r['n']} | {r['dummy']:,.0f} | {r['native']:,.0f} | {r['dummy_reward']:,.0f} | "
            f"{r['native_reward']:,.0f} |"
        )
    say()
    say(f"Single env `FlatnetPaint-v0`: {single:,.0f} steps/s.")
    say()

    canvases = (np.random.default_rng(0).random((args.batch, 8, 8)) < 0.3).astype(bool)
    flops = flop_count(clf)
    throughput = args.batch / best_of(lambda: clf.predict_proba(canvases))
    gflops = matmul_gflops()
    bound = gflops * 1e9 / flops
    calls = {
        n: best_of(lambda n=n: [clf.predict_proba(canvases[:n]) for _ in range(200)]) / 200 * 1e3
        for n in (8, 64)
    }
    say("| classifier | value |")
    say("|---|---|")
    say(f"| FLOPs per canvas (flatnet, 8x8) | {flops / 1e6:.2f} M |")
    say(f"| float32 matmul rate (1024^3) | {gflops:.0f} GFLOP/s |")
    say(
        f"| batched throughput (batch {args.batch}) | {throughput:,.0f} canvases/s = "
        f"{throughput / bound:.0%} of the FLOP bound |"
    )
    for n, ms in calls.items():
        say(f"| one call on {n} canvases | {ms:.2f} ms ({n / ms * 1e3:,.0f} canvases/s) |")
    say()

    light = resolve_model_spec(args.light_reward, "runs/cache", device="cpu")
    runs = {
        "constant reward": (None, "rollout"),
        "flatnet reward, scored per rollout (default)": (clf, "rollout"),
        "flatnet reward, scored per step": (clf, "step"),
        f"`{args.light_reward}`, per rollout": (light, "rollout"),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):  # alternated, so drifts in machine load hit all
        for name, (reward, scoring) in runs.items():
            seconds[name].append(ppo_seconds(reward, args.ppo_steps, scoring))
    fastest = {name: min(values) for name, values in seconds.items()}
    config = AgentConfig()
    say(
        f"| PPO at train-agent's defaults ({config.n_envs} envs, {torch.get_num_threads()} "
        f"threads), {args.ppo_steps:,} steps | MFLOP / canvas | wall s (fastest; all runs) "
        "| the reward's share (goal <= +10%) |"
    )
    say("|---|---:|---|---:|")
    for name, (reward, _) in runs.items():
        mflop = "—" if reward is None else f"{flop_count(reward) / 1e6:.2f}"
        share = fastest[name] / fastest["constant reward"] - 1
        runs = ", ".join(f"{x:.1f}" for x in seconds[name])
        say(
            f"| {name} | {mflop} | {fastest[name]:.1f} ({runs}) | "
            f"{'—' if reward is None else f'{share:+.1%}'} |"
        )
    args.out.write_text("\n".join(lines).rstrip() + "\n")
    figure = args.out.with_name("env_steps.png")
    plot(rows, figure)
    print(f"\nwrote {args.out} and {figure}")


def plot(rows: list[dict], path: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.subplots()
    n = [r["n"] for r in rows]
    for key, label, style in (
        ("dummy", "DummyVecEnv(PaintEnv), bare", "o--"),
        ("native", "native PaintVecEnv, bare", "o-"),
        ("dummy_reward", "DummyVecEnv + flatnet reward", "s--"),
        ("native_reward", "native + flatnet reward", "s-"),
    ):
        ax.plot(n, [r[key] for r in rows], style, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("envs per vector (N)")
    ax.set_ylabel("env steps / s")
    ax.set_title("Paint env throughput, 8x8, 2 CPU cores", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
