"""A reward model from frames of an env you already use, end to end through the CLI.

    python examples/env_recipes.py --family minigrid    # MiniGrid-Empty-8x8-v0: near the goal
    python examples/env_recipes.py --family ale         # ALE Pong: the paddle held high
    python examples/env_recipes.py --family classic     # CartPole: the pole upright
    python examples/env_recipes.py --family classic --full    # the README's budget

Needs the ``envs`` extra (``minigrid``, ``ale-py``, ``pygame``). For each family:

1. Labelled ``render()`` frames of random-policy episodes, named from the env's true state by
   a labelling function (:func:`flatnet_rl.data.collect.collect_labelled_frames`): MiniGrid
   ``near_goal`` (the agent within 2 cells of the goal, Manhattan distance) or ``far``; Pong
   ``high`` (the agent's paddle in the upper part of the court, from the RAM) or ``low``;
   CartPole ``upright`` (pole within 0.03 rad of vertical) or ``leaning`` (beyond 0.12 rad;
   frames between are skipped). Other seeds' frames for a judge.
2. Reward models with ``flatnet-rl train-classifier --data``: flat (CE - 0.3 H(p) + outlier
   images) and plain cross-entropy; the judge (another seed's frames, cross-entropy;
   evaluation only).
3. ``flatnet-rl compare`` of flat and plain on the frames.
4. PPO on each reward, ``--seeds`` seeds each, through ``flatnet-rl compare-agents flat plain
   --env ENV --image render --target CLASS --judges judge`` (the agent sees the env's own
   observations: MiniGrid's, Pong's RAM, CartPole's state; the reward model the rendered
   frames), evaluated against the judge: fooling = reward model sure (>= 0.9), judge not
   (< 0.5); IQM over seeds with 95% bootstrap CIs, and every seed's row.
Writes ``table.md`` (the agents: IQM table, then one row per seed) to ``--out``; the full
report with the overoptimization curves is ``agents/report.md``.

Run again with the same ``--out``, the recipe resumes: a model or comparison whose command and
input files are unchanged (``steps.json``) is kept, and ``compare-agents --resume`` keeps the
PPO runs that finished with the same config, reward model and judge. Delete ``--out`` to start
over.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import tyro

from flatnet_rl.cli import main as flatnet_rl
from flatnet_rl.data.collect import collect_labelled_frames
from flatnet_rl.util.fingerprint import file_sha256
from flatnet_rl.util.paths import check_writable_dir

GOAL = (6, 6)  # the goal cell of MiniGrid's 8x8 empty room


def near_goal(env: Any, obs: Any) -> str:
    x, y = env.unwrapped.agent_pos
    return "near_goal" if abs(x - GOAL[0]) + abs(y - GOAL[1]) <= 2 else "far"


def paddle_high(env: Any, obs: Any) -> str:
    # Pong's RAM byte 51: the agent's (right) paddle's vertical position.
    return "high" if env.unwrapped.ale.getRAM()[51] < 138 else "low"


def upright(env: Any, obs: Any) -> str | None:
    # obs[2]: the pole's angle (rad). At 64 px the pole's tip moves about a pixel per 0.08
    # rad, so angles between the classes are skipped: a label the frame cannot show is noise
    # (with one 0.05 rad threshold the models tested at 0.78-0.80, a LeNet judge at 0.67).
    angle = abs(obs[2])
    return "upright" if angle < 0.03 else "leaning" if angle > 0.12 else None


#: family -> (env id, env kwargs, labelling function, class names, rewarded class).
#: Labels come from the env's true state, not from the picture.
FAMILIES: dict[str, tuple[str, dict[str, Any], Any, list[str], str]] = {
    "minigrid": (
        "minigrid:MiniGrid-Empty-8x8-v0",
        {"tile_size": 8},  # 8 px a cell: 64x64 frames
        near_goal,
        ["far", "near_goal"],
        "near_goal",
    ),
    "ale": (
        "ale_py:ALE/Pong-v5",
        {"repeat_action_probability": 0.0, "obs_type": "ram"},  # the policy reads the RAM
        paddle_high,
        ["high", "low"],
        "high",
    ),
    "classic": ("CartPole-v1", {}, upright, ["leaning", "upright"], "upright"),
}
#: Model input sides other than the ``--data`` default (32): CartPole's pole is under a pixel
#: wide at 32x32 (its models tested at 0.51-0.52 on two classes there).
IMAGE_SIZES = {"classic": 64}
#: The judge's architecture: train-classifier's default (the reward models' too; the judge
#: differs by its data, another seed's frames, and its plain cross-entropy). Judges of other
#: architectures were unusable here: an MLP at chance on Pong's frames (0.496 on two classes)
#: and CartPole's (0.518), and on MiniGrid both an MLP (it called the agent's bottom-left
#: corner, five cells from the goal, near_goal) and LeNet (0.746 on held-out frames).
JUDGE_ARCH = "flatnet"
#: Other judge architectures: Pong's is LeNet (0.984 on held-out frames).
JUDGE_ARCHS = {"ale": "lenet"}


@dataclass
class Args:
    """Train flat and plain reward models on an env's frames, then PPO on each reward."""

    family: Literal["minigrid", "ale", "classic"] = "minigrid"
    """env family: MiniGrid, ALE (Pong) or classic control (CartPole)"""
    out: str | None = None
    """output folder (default runs/recipe_FAMILY)"""
    frames: int = 200
    """labelled frames (an equal share per class); the judge gets as many from another seed"""
    epochs: int = 8
    """classifier training epochs"""
    timesteps: int = 2_048
    """PPO steps per run"""
    seeds: int = 1
    """PPO runs per reward model (seeds 0..N-1)"""
    workers: int = 2
    """worker processes training the runs"""
    eval_episodes: int = 16
    """stochastic evaluation episodes per agent"""
    max_steps: int = 32
    """episode step limit"""
    n_envs: int = 8
    """envs stepped together by PPO"""
    compare_images: int = 200
    """outlier images per family and morph paths in compare"""
    image_size: int | None = None
    """the models' input side (None: the family's, see IMAGE_SIZES, else the --data default)"""
    full: bool = False
    """use the README's budget (overrides frames, epochs, timesteps, eval_episodes, seeds,
    compare_images)"""
    seed: int = 0
    """seeds the frames and the classifiers"""


FULL = {
    "frames": 1_000,
    "epochs": 30,
    "timesteps": 100_000,
    "eval_episodes": 100,
    "seeds": 3,
    "compare_images": 1_000,
}


def _step(what: str, argv: list[str], inputs: Sequence[Path], output: Path, log: Path) -> None:
    """Run ``flatnet-rl argv`` unless ``log`` records it (the same command and input bytes)
    as what made ``output``: a recipe run again resumes where it stopped."""
    key = {"argv": argv, "inputs": {str(p): file_sha256(p) for p in inputs}}
    try:
        done = json.loads(log.read_text())
    except (OSError, ValueError):  # none yet, or unreadable: every step runs
        done = {}
    done = done if isinstance(done, dict) else {}
    if output.exists() and done.get(str(output)) == key:
        print(f"{what}: kept {output} (same command and inputs)")
        return
    done.pop(str(output), None)  # recorded only once the step succeeds
    log.write_text(json.dumps(done, indent=1))
    code = flatnet_rl(argv)
    if code != 0:
        raise SystemExit(f"{what} failed (exit {code})")
    log.write_text(json.dumps({**done, str(output): key}, indent=1))


def main(args: Args) -> None:
    if args.full:
        for key, value in FULL.items():
            setattr(args, key, value)
    # Before any frame is collected: compare-agents would refuse these after the training.
    for name in ("frames", "epochs", "timesteps", "seeds", "workers", "eval_episodes"):
        if getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            print(f"error: {flag} must be at least 1, got {getattr(args, name)}", file=sys.stderr)
            raise SystemExit(2)
    env_id, kwargs, label, classes, target = FAMILIES[args.family]
    out = Path(args.out or f"runs/recipe_{args.family}")
    try:  # a file in the way, before any frame is collected
        check_writable_dir(out)
    except ValueError as err:
        print(f"error: --out: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    data = {}
    for name, seed in (("frames", args.seed), ("judge_frames", args.seed + 1)):
        frames = collect_labelled_frames(
            env_id, args.frames, label, class_names=classes, env_kwargs=kwargs, seed=seed
        )
        data[name] = frames.save_npz(out / f"{name}.npz")
    log = out / "steps.json"
    common = ["--epochs", str(args.epochs), "--seed", str(args.seed), "--quiet", "--overwrite"]
    side = args.image_size or IMAGE_SIZES.get(args.family)
    common += ["--image-size", str(side)] if side else []
    # name -> (its frames, its flags)
    models = {
        "flat": (data["frames"], []),
        "plain": (data["frames"], ["--loss", "ce", "--outliers", "0"]),
        "judge": (
            data["judge_frames"],
            ["--arch", JUDGE_ARCHS.get(args.family, JUDGE_ARCH), "--loss", "ce"]
            + ["--evaluation-only"],
        ),
    }
    paths = {name: out / f"{name}.safetensors" for name in models}
    for name, (frames_path, flags) in models.items():
        argv = ["train-classifier", "--data", str(frames_path), *flags, *common]
        argv += ["--out", str(paths[name])]
        _step(f"training {name}", argv, [frames_path], paths[name], log)
    _step(
        "compare",
        ["compare", str(paths["flat"]), str(paths["plain"]), "--data", str(data["frames"])]
        + ["--outliers-per-family", str(args.compare_images), "--paths"]
        + [str(args.compare_images), "--out", str(out / "compare"), "--quiet", "--overwrite"],
        [paths["flat"], paths["plain"], data["frames"]],
        out / "compare" / "report.md",
        log,
    )
    agents = out / "agents"
    # --resume: the runs that finished with the same config, reward model and judge are kept.
    code = flatnet_rl(
        ["compare-agents", str(paths["flat"]), str(paths["plain"]), "--env", env_id]
        + ["--env-kwargs", json.dumps(kwargs), "--image", "render", "--target", target]
        + ["--judges", str(paths["judge"]), "--seeds", str(args.seeds)]
        + ["--timesteps", str(args.timesteps), "--max-steps", str(args.max_steps)]
        + ["--n-envs", str(args.n_envs), "--eval-episodes", str(args.eval_episodes)]
        + ["--workers", str(args.workers), "--out", str(agents), "--quiet", "--resume"]
    )
    if code != 0:
        raise SystemExit(f"PPO on each reward failed (exit {code})")
    table = (agents / "table.md").read_text() + "\n" + (agents / "seeds.md").read_text()
    (out / "table.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main(tyro.cli(Args))
