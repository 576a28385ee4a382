"""Render-based rewards: env steps/s with one classifier call per frame vs batched frames.

    python benchmarks/bench_render_reward.py [--n-envs 32] [--steps 64] [--env all]
        [--out runs/bench/render.md]

Envs whose reward reads ``render()`` frames (``image="render"``), 256x256 RGB frames, a
flatnet-architecture classifier at 32x32 RGB input (2 classes), side by side in one run:

* ``bare``: the envs rendering a frame per step, no reward (the ceiling);
* ``per frame`` (before): a ``DummyVecEnv`` of single-env ``FlatnetReward`` wrappers, one
  classifier call per frame;
* ``per step``: ``FlatnetRewardVecEnv`` over envs made with ``with_render_frames``, one call
  per vector step;
* ``per rollout``: ``RolloutRewardVecEnv``, one call per rollout of ``--steps`` steps (what
  ``train-agent`` uses for PPO and A2C).

Envs: MiniGrid-Empty-8x8-v0 (tile 32: 256x256 frames; needs ``minigrid``) and
FlatnetShapes-v0 at ``image_size=256`` (a cheap renderer: the reward's own cost shows).
The issue's goal: >= 5x the 113 env steps/s of one call per frame.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from common import machine
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from flatnet_rl import Classifier, FlatnetReward
from flatnet_rl.data.env_ids import make_env
from flatnet_rl.models import build_classifier_net
from flatnet_rl.reward import FlatnetRewardVecEnv, RolloutRewardVecEnv, with_render_frames


def classifier(side: int = 32) -> Classifier:
    torch.manual_seed(0)
    net = build_classifier_net("flatnet", side, num_classes=2, in_channels=3)
    return Classifier.from_module(
        net, image_size=side, channels=3, class_names=["far", "near"], device="cpu"
    )


class RenderEachStep(gym.Wrapper):
    """The bare env rendering a frame per step (what any render-based reward pays)."""

    def step(self, action):
        out = self.env.step(action)
        self.env.render()
        return out


def run(venv: VecEnv, steps: int, rollout: bool) -> float:
    """Env steps/s over ``steps`` vector steps (after a warm-up rollout)."""
    rng = np.random.default_rng(0)
    n = venv.num_envs
    actions = rng.integers(0, venv.action_space.n, size=(2 * steps, n))
    venv.reset()
    for a in actions[:steps]:  # warm-up: first frames, kernels, tile caches
        venv.step(a)
    if rollout:
        venv.score_rollout()
    start = time.perf_counter()
    for a in actions[steps:]:
        venv.step(a)
    if rollout:
        venv.score_rollout()
    return steps * n / (time.perf_counter() - start)


def bench_env(name: str, make, n_envs: int, steps: int, clf: Classifier, target) -> list[str]:
    options = {"target": target, "image": "render", "mode": "delta", "device": "cpu"}
    rates = {
        "bare": run(DummyVecEnv([lambda: RenderEachStep(make())] * n_envs), steps, False),
        "per frame (before)": run(
            DummyVecEnv([lambda: FlatnetReward(make(), clf, **options)] * n_envs), steps, False
        ),
        "per step": run(
            FlatnetRewardVecEnv(
                DummyVecEnv([lambda: with_render_frames(make())] * n_envs), clf, **options
            ),
            steps,
            False,
        ),
        "per rollout": run(
            RolloutRewardVecEnv(
                DummyVecEnv([lambda: with_render_frames(make())] * n_envs), clf, **options
            ),
            steps,
            True,
        ),
    }
    before = rates["per frame (before)"]
    return [
        f"| {name} | {key} | {rate:,.0f} | {rate / before:.2f}x |" for key, rate in rates.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-envs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--env", choices=("all", "shapes", "minigrid"), default="all")
    parser.add_argument("--out", default="runs/bench/render.md")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clf = classifier()
    envs = {}
    envs["FlatnetShapes-v0 (256 px)"] = (
        lambda: gym.make("FlatnetShapes-v0", render_mode="rgb_array", image_size=256, target=1),
        "near",
    )
    if args.env == "minigrid":
        envs.clear()
    try:
        import minigrid  # noqa: F401

        envs["MiniGrid-Empty-8x8-v0 (256 px)"] = (
            lambda: make_env("minigrid:MiniGrid-Empty-8x8-v0", render=True),
            "near",
        )
        if args.env == "shapes":
            envs.pop("MiniGrid-Empty-8x8-v0 (256 px)")
    except ImportError:
        print("minigrid is not installed: MiniGrid rows skipped (pip install minigrid)")
    lines = [
        f"# Render-based reward, env steps/s ({machine()}; {args.n_envs} envs, "
        f"{args.steps} steps timed after {args.steps} of warm-up)",
        "",
        "| env | reward | env steps/s | vs per frame |",
        "|---|---|---|---|",
    ]
    for name, (make, target) in envs.items():
        lines += bench_env(name, make, args.n_envs, args.steps, clf, target)
        print("\n".join(lines), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
