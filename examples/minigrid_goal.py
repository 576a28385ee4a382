"""A MiniGrid goal state from frames, end to end through the CLI (needs the ``envs`` extra).

    python examples/minigrid_goal.py            # small budget (a minute or two)
    python examples/minigrid_goal.py --full     # the README's budget

1. Labelled frames of ``MiniGrid-Empty-8x8-v0`` (``render()``, random policy): ``near_goal``
   (the agent within 2 cells of the goal, Manhattan distance) or ``far``, with
   :func:`flatnet_rl.data.collect.collect_labelled_frames`; other seeds' frames for a judge.
2. Reward models with ``flatnet-rl train-classifier --data``: flat (CE - 0.3 H(p) + outlier
   images) and plain cross-entropy; the judge (an MLP on the other frames, evaluation only).
3. ``flatnet-rl compare`` of flat and plain on the frames.
4. PPO through ``flatnet-rl train-agent --env minigrid:MiniGrid-Empty-8x8-v0 --image render
   --target near_goal`` on each reward, evaluated against the judge: fooling = reward model
   sure (>= 0.9), judge not (< 0.5).
Writes ``table.md`` to ``--out``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import tyro

from flatnet_rl.cli import main as flatnet_rl
from flatnet_rl.data.collect import collect_labelled_frames

ENV = "minigrid:MiniGrid-Empty-8x8-v0"
GOAL = (6, 6)  # the goal cell of the 8x8 empty room
CLASSES = ["far", "near_goal"]


@dataclass
class Args:
    """Train flat and plain reward models on MiniGrid frames, then PPO on each reward."""

    out: str = "runs/minigrid"
    """output folder"""
    frames: int = 200
    """labelled frames (half near the goal); the judge gets as many from another seed"""
    tile_size: int = 8
    """MiniGrid's pixels per cell: 8 gives 64x64 frames (32: 256x256)"""
    epochs: int = 8
    """classifier training epochs"""
    timesteps: int = 2_048
    """PPO steps per reward model"""
    eval_episodes: int = 16
    """stochastic evaluation episodes per agent"""
    max_steps: int = 32
    """episode step limit"""
    n_envs: int = 8
    """envs stepped together by PPO"""
    compare_images: int = 200
    """outlier images per family and morph paths in compare"""
    full: bool = False
    """use the README's budget (overrides frames, epochs, timesteps, eval_episodes)"""
    seed: int = 0
    """seeds data, classifiers, envs and PPO"""


FULL = {
    "frames": 1_000,
    "epochs": 30,
    "timesteps": 100_000,
    "eval_episodes": 100,
    "compare_images": 1_000,
}


def near_goal(env, obs) -> str:
    """The label of a frame: from the env's true state, not from the picture."""
    x, y = env.unwrapped.agent_pos
    return "near_goal" if abs(x - GOAL[0]) + abs(y - GOAL[1]) <= 2 else "far"


def _check(code: int, what: str) -> None:
    if code != 0:
        raise SystemExit(f"{what} failed (exit {code})")


def main(args: Args) -> None:
    if args.full:
        for key, value in FULL.items():
            setattr(args, key, value)
    out = Path(args.out)
    kwargs = {"tile_size": args.tile_size}
    data = {}
    for name, seed in (("frames", args.seed), ("judge_frames", args.seed + 1)):
        frames = collect_labelled_frames(
            ENV, args.frames, near_goal, class_names=CLASSES, env_kwargs=kwargs, seed=seed
        )
        data[name] = frames.save_npz(out / f"{name}.npz")
    common = ["--epochs", str(args.epochs), "--seed", str(args.seed), "--quiet", "--overwrite"]
    models = {
        "flat": ["--data", str(data["frames"])],
        "plain": ["--data", str(data["frames"]), "--loss", "ce", "--outliers", "0"],
        "judge": [
            "--data",
            str(data["judge_frames"]),
            "--arch",
            "mlp",
            "--loss",
            "ce",
            "--evaluation-only",
        ],
    }
    paths = {name: out / f"{name}.safetensors" for name in models}
    for name, flags in models.items():
        _check(
            flatnet_rl(["train-classifier", *flags, *common, "--out", str(paths[name])]),
            f"training {name}",
        )
    _check(
        flatnet_rl(
            ["compare", str(paths["flat"]), str(paths["plain"]), "--data", str(data["frames"])]
            + ["--outliers-per-family", str(args.compare_images), "--paths"]
            + [str(args.compare_images), "--out", str(out / "compare"), "--quiet", "--overwrite"]
        ),
        "compare",
    )
    rows = []
    for name in ("flat", "plain"):
        run = out / f"agent_{name}"
        _check(
            flatnet_rl(
                ["train-agent", "--env", ENV, "--env-kwargs", json.dumps(kwargs), "--image"]
                + ["render", "--target", "near_goal", "--reward-model", str(paths[name])]
                + ["--judges", str(paths["judge"]), "--timesteps", str(args.timesteps)]
                + ["--max-steps", str(args.max_steps), "--n-envs", str(args.n_envs)]
                + ["--eval-episodes"]
                + [str(args.eval_episodes), "--seed", str(args.seed), "--out", str(run)]
                + ["--quiet", "--overwrite"]
            ),
            f"PPO on the {name} reward",
        )
        overall = json.loads((run / "eval.json").read_text())["overall"]
        rows.append(
            f"| {name} | {overall['proxy_p_target']:.3f} | {overall['judge_p_target']:.3f} | "
            f"{overall['fooling_rate']:.3f} | {overall['ep_len']:.1f} |"
        )
    table = "\n".join(
        [
            "| reward | proxy_p_target | judge_p_target | fooling_rate | ep_len |",
            "|---|---|---|---|---|",
            *rows,
        ]
    )
    (out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main(tyro.cli(Args))
