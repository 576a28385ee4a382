"""Your own env and classifier, end to end: coloured shapes instead of digits.

    python examples/shapes_end_to_end.py            # small budget (a minute or two)
    python examples/shapes_end_to_end.py --full     # the README's budget

1. Labelled pictures: an ImageFolder of RGB crosses, rings and slashes (32x32), and another
   one, drawn from other seeds, for an independent judge.
2. Two reward models trained on them with the CLI: flat (CE - 0.3 H(p) + outlier images,
   including random-policy frames of the env) and plain cross-entropy; the judge (an MLP on
   the other pictures, evaluation only).
3. ``flatnet-rl compare --data``: false-positive reward of both on the pictures' outliers.
4. PPO on ``FlatnetShapes-v0`` rewarded by each model for drawing a ring: the agent sees the
   grid of cells, the reward model the 64x64 RGB frames (``render()``); the judge scores the
   final frames: fooling = reward model sure (>= 0.9), judge not (< 0.5).
Writes ``table.md`` and ``final_frames.png`` to ``--out``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import torch
import tyro
from matplotlib.figure import Figure
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor

from flatnet_rl import FlatnetReward, load_classifier
from flatnet_rl.agents.hacking import EpisodeRecord, score_episodes, summarize
from flatnet_rl.agents.policies import MaskedMLPPolicy
from flatnet_rl.agents.presets import preset, schedule
from flatnet_rl.cli import main as flatnet_rl
from flatnet_rl.data.shapes import write_shape_folder
from flatnet_rl.envs.shapes import ShapesEnv
from flatnet_rl.util.threads import apply_thread_policy


@dataclass
class Args:
    """Train flat and plain reward models on shape pictures, then PPO on each reward."""

    out: str = "runs/shapes"
    """output folder"""
    target: str = "ring"
    """the shape the agents are rewarded for: cross, ring or slash"""
    pictures_per_class: int = 120
    """labelled pictures per class (the judge gets as many, from other seeds)"""
    epochs: int = 12
    """classifier training epochs"""
    timesteps: int = 4_096
    """PPO steps per reward model"""
    eval_episodes: int = 20
    """stochastic evaluation episodes per agent"""
    full: bool = False
    """use the README's budget (overrides the three settings above)"""
    seed: int = 0
    """seeds data, classifiers, envs and PPO"""


FULL = {"pictures_per_class": 300, "epochs": 30, "timesteps": 100_000, "eval_episodes": 100}


def train_reward_models(args: Args, out: Path) -> dict[str, Path]:
    """The CLI on the pictures: flat, plain CE, and the judge on other pictures."""
    write_shape_folder(out / "pictures", args.pictures_per_class, 32, seed=args.seed)
    write_shape_folder(out / "judge_pictures", args.pictures_per_class, 32, seed=args.seed + 1)
    common = [
        "--image-size",
        "16",
        "--epochs",
        str(args.epochs),
        "--batch-size",
        "32",
        "--seed",
        str(args.seed),
        "--quiet",
        "--overwrite",
    ]
    runs = {
        "flat": [
            "--data",
            str(out / "pictures"),
            "--arch",
            "flatnet_lite",
            "--outliers",
            "1000",
            "--outliers-from-env",
            "FlatnetShapes-v0",
            "--env-image",
            "render",
            "--env-outlier-frames",
            "500",
        ],
        "plain": [
            "--data",
            str(out / "pictures"),
            "--arch",
            "flatnet_lite",
            "--loss",
            "ce",
            "--outliers",
            "0",
        ],
        "judge": [
            "--data",
            str(out / "judge_pictures"),
            "--arch",
            "mlp",
            "--loss",
            "ce",
            "--outliers",
            "1000",
            "--evaluation-only",
            "--split-seed",
            "1",
        ],
    }
    paths = {}
    for name, flags in runs.items():
        paths[name] = out / f"{name}.safetensors"
        if flatnet_rl(["train-classifier", *flags, *common, "--out", str(paths[name])]) != 0:
            raise SystemExit(f"training {name} failed")
    return paths


def rewarded_envs(args: Args, reward: Path, n: int, partial_starts: float) -> VecEnv:
    """``n`` shapes envs, each rewarded by ``reward`` reading its RGB frames."""

    def make() -> gym.Env:
        env = ShapesEnv(target=args.target, render_mode="rgb_array", partial_starts=partial_starts)
        return FlatnetReward(env, str(reward), target=args.target, image="render", device="cpu")

    return DummyVecEnv([make] * n)


def train_agent(args: Args, reward: Path, out: Path) -> PPO:
    """PPO with the paint env's pixel-mode preset and policy (the grid has the same actions);
    9 training episodes in 10 start from a partly drawn target shape, as there."""
    venv = rewarded_envs(args, reward, 16, partial_starts=0.9)
    venv.seed(args.seed)
    params = preset("ppo", action_mode="pixel")
    params.pop("policy")
    params["learning_rate"] = schedule(params["learning_rate"])
    model = PPO(
        MaskedMLPPolicy, VecMonitor(venv), seed=args.seed, device="cpu", verbose=0, **params
    )
    model.learn(args.timesteps)
    model.save(out / "agent.zip")
    return model


def evaluate(args: Args, model: PPO, reward: Path, judge: Path) -> tuple[dict, EpisodeRecord]:
    """Stochastic episodes from a blank grid; proxy and judge p_target of the final frames."""
    venv = rewarded_envs(args, reward, 1, partial_starts=0.0)
    venv.seed(args.seed + 10_000)
    record = EpisodeRecord(value_range=(0.0, 255.0))
    obs = venv.reset()
    while len(record) < args.eval_episodes:
        action, _ = model.predict(obs, deterministic=False)
        obs, _, dones, infos = venv.step(action)
        if dones[0]:
            record.add_episode(infos[0]["flatnet_episode"])
    scores = score_episodes(record, load_classifier(reward), load_classifier(judge))
    return summarize(scores), record


def main(args: Args) -> None:
    if args.full:
        args = Args(**{**vars(args), **FULL})
    apply_thread_policy()  # the entry points' thread policy (FLATNET_RL_THREADS to change)
    torch.manual_seed(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = train_reward_models(args, out)
    # False-positive reward of both models on the pictures' outlier families.
    flatnet_rl(
        [
            "compare",
            str(paths["flat"]),
            str(paths["plain"]),
            "--data",
            str(out / "pictures"),
            "--image-size",
            "16",
            "--out",
            str(out / "compare"),
            "--workers",
            "1",
            "--paths",
            "20",
            "--outliers-per-family",
            "300",
            "--quiet",
            "--overwrite",
        ]
    )
    fp = json.loads((out / "compare" / "results.json").read_text())["models"]

    rows, finals = {}, {}
    for name in ("flat", "plain"):
        agent_dir = out / name
        agent_dir.mkdir(exist_ok=True)
        model = train_agent(args, paths[name], agent_dir)
        rows[name], finals[name] = evaluate(args, model, paths[name], paths["judge"])
        rows[name]["max_prob_outliers"] = next(
            m["summary"]["max_prob"] for m in fp if m["name"] == paths[name].stem
        )

    keys = ("max_prob_outliers", "proxy_p_target", "judge_p_target", "fooling_rate")
    lines = ["| reward | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    lines += [f"| {n} | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |" for n, r in rows.items()]
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(table)

    fig = Figure(figsize=(8, 3.4), layout="constrained")
    axes = fig.subplots(2, 8, squeeze=False)
    for row, name in zip(axes, finals, strict=True):
        for ax, image in zip(row, finals[name].images, strict=False):
            ax.imshow(image)
            ax.axis("off")
        row[0].set_title(f"{name} reward", fontsize=8, loc="left")
    fig.savefig(out / "final_frames.png", dpi=100)
    print(f"wrote {out / 'table.md'} and {out / 'final_frames.png'}")


if __name__ == "__main__":
    main(tyro.cli(Args))
