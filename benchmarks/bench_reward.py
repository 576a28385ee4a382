"""Reward speed, measured side by side in one run (issue goals on 2 cores).

    python benchmarks/bench_reward.py [--ppo-steps 32768]

1. env steps/s: bare PaintEnv, FlatnetPaint-v0 (one env, one classifier call per step), and
   8 envs under the batched SB3 wrapper (one call per vector step);
2. batched classifier throughput (canvases/s) against the FLOP bound of this CPU: the
   measured float32 matmul rate divided by the default model's FLOPs per canvas
   (goal >= 40% of the bound);
3. wall time of the same SB3 PPO run with 8 envs with the flatnet reward and with a
   constant reward (goal: the reward adds <= 20%).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from common import best_of, machine, matmul_gflops
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper
from torch.utils.flop_counter import FlopCounterMode

import flatnet_rl
from flatnet_rl import FlatnetRewardVecEnv
from flatnet_rl.agents.presets import preset
from flatnet_rl.envs import BARE_ID


def env_steps_per_second(env: gym.Env, steps: int = 5000) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, env.action_space.n, size=steps)
    env.reset(seed=0)
    start = time.perf_counter()
    for a in actions:
        _, _, term, trunc, _ = env.step(int(a))
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - start)


def vec_steps_per_second(venv, steps: int = 1000) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, venv.action_space.n, size=(steps, venv.num_envs))
    venv.reset()
    start = time.perf_counter()
    for a in actions:
        venv.step(a)
    return steps * venv.num_envs / (time.perf_counter() - start)


class ConstantReward(VecEnvWrapper):
    """The control: same envs, reward 0, no classifier."""

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs, np.zeros_like(rewards), dones, infos


def ppo_seconds(classifier: flatnet_rl.Classifier | str | None, steps: int) -> float:
    """Wall time of PPO (preset, 8 envs) with this classifier's reward (None: constant)."""
    venv = make_vec_env(BARE_ID, n_envs=8, seed=0, vec_env_cls=DummyVecEnv)
    if classifier is None:
        venv = ConstantReward(venv)
    else:
        venv = FlatnetRewardVecEnv(venv, classifier, device="cpu")
    params = preset("ppo")
    params.pop("features_extractor")  # "flatten" is SB3's default for Dict observations
    model = PPO("MultiInputPolicy", venv, seed=0, device="cpu", **params)
    start = time.perf_counter()
    model.learn(steps)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ppo-steps", type=int, default=32768)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument(
        "--threads",
        type=int,
        default=torch.get_num_threads(),
        help="torch intra-op threads (train_agent uses 1 on CPU)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# reward benchmark ({machine()})\n")

    bare = env_steps_per_second(gym.make(BARE_ID).unwrapped)
    paint = env_steps_per_second(gym.make("FlatnetPaint-v0", device="cpu"))
    vec = vec_steps_per_second(
        FlatnetRewardVecEnv(
            make_vec_env(BARE_ID, n_envs=8, seed=0, vec_env_cls=DummyVecEnv),
            "flatnet",
            device="cpu",
        )
    )
    print("| env | steps/s |\n|---|---|")
    print(f"| bare PaintEnv | {bare:,.0f} |\n| FlatnetPaint-v0 (1 env) | {paint:,.0f} |")
    print(f"| 8 envs, batched SB3 wrapper | {vec:,.0f} |\n")

    clf = flatnet_rl.load_classifier("flatnet", device="cpu")
    canvases = (np.random.default_rng(0).random((args.batch, 8, 8)) < 0.3).astype(np.uint8)
    with FlopCounterMode(display=False) as counter:
        clf.predict_proba(canvases[:1])
    flops_per_canvas = counter.get_total_flops()
    throughput = args.batch / best_of(lambda: clf.predict_proba(canvases))
    gflops = matmul_gflops()
    bound = gflops * 1e9 / flops_per_canvas
    print("| classifier | value |\n|---|---|")
    print(f"| FLOPs per canvas (flatnet, 8x8) | {flops_per_canvas / 1e6:.2f} M |")
    print(f"| float32 matmul rate (1024^3) | {gflops:.1f} GFLOP/s |")
    print(f"| FLOP bound | {bound:,.0f} canvases/s |")
    print(f"| batched throughput (batch {args.batch}) | {throughput:,.0f} canvases/s |")
    print(f"| fraction of bound | {throughput / bound:.0%} (goal >= 40%) |")
    # The PPO setting: one call on 8 canvases per vector step (mean of 200 calls).
    small = canvases[:8]
    call_ms = best_of(lambda: [clf.predict_proba(small) for _ in range(200)]) / 200 * 1e3
    print(f"| one call on 8 canvases (the 8-env PPO setting) | {call_ms:.2f} ms |\n")

    with_reward = ppo_seconds("flatnet", args.ppo_steps)
    constant = ppo_seconds(None, args.ppo_steps)
    print(f"| PPO, 8 envs, {args.ppo_steps} steps | wall s |\n|---|---|")
    print(f"| constant reward | {constant:.1f} |\n| flatnet reward | {with_reward:.1f} |")
    print(f"| overhead of the reward | {with_reward / constant - 1:.0%} (goal <= 20%) |")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
