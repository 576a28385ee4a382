"""``flatnet-rl train-agent`` and ``flatnet-rl evaluate-agent``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from flatnet_rl.agents.presets import ALGORITHMS, RUNS, STROKE_TIMESTEPS
from flatnet_rl.cli.choices import ACTION_MODES, MAX_CANVAS, MIN_CANVAS, REWARD_SCORING, STARTS
from flatnet_rl.cli.choices import REWARD_MODES as MODES
from flatnet_rl.cli.clip_options import add_clip_arguments, resolve_clip_specs
from flatnet_rl.cli.common import add_subparser
from flatnet_rl.cli.types import csv_of, int_in, json_object, positive_int, target
from flatnet_rl.envs.registration import PAINT_ID


def start(text: str) -> str | dict[str, float]:
    """A start mode (``blank``, ``partial`` ...) or a JSON mapping of modes to weights."""
    if not text.lstrip().startswith("{"):
        if text not in STARTS:  # checked here: a typo is an error at once, without torch
            raise argparse.ArgumentTypeError(
                f"start must be one of {STARTS} or a mapping of them to weights, got {text!r}"
            )
        return text
    from flatnet_rl.envs.paint import parse_start

    value = json_object(text)
    try:
        parse_start(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return value


def cmd_train_agent(args: argparse.Namespace) -> int:
    from flatnet_rl.agents import AgentConfig, train_agent
    from flatnet_rl.agents.evaluate import EVAL_FILES, evaluate_agent
    from flatnet_rl.agents.runs import check_outputs

    config = AgentConfig(
        **env_options(args),
        algo=args.algo,
        reward_model=resolve_clip_specs([args.reward_model], args)[0],
        reward_mode=args.reward_mode,
        reward_scoring=args.reward_scoring,
        action_mode=args.action_mode,
        start=args.start,
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        seed=args.seed,
        out=args.out,
        device=args.device,
        canvas_size=args.canvas_size,
        hyperparams=args.hyperparams,
        eval_every=args.curve_every,
        cache_dir=args.cache,
    )
    if args.eval_episodes:
        check_outputs(args.out, EVAL_FILES, overwrite=args.overwrite)  # before training
    run = train_agent(config, progress=not args.quiet, overwrite=args.overwrite)
    print(f"saved agent run {run}")
    target_class = json.loads((run / "config.json").read_text()).get("target_class")
    if target_class is not None:
        print(f"rewarded class: {target_class!r} (--target {args.target!r})")
    if args.eval_episodes:
        mode = "deterministic" if args.deterministic else "stochastic"
        print(
            f"evaluating {args.eval_episodes} {mode} episodes from the task's start against "
            "the judges (--eval-episodes 0 skips this)"
        )
        evaluate_agent(
            run,
            episodes=args.eval_episodes,
            deterministic=args.deterministic,
            overwrite=args.overwrite,
        )
        print((run / "eval.md").read_text())
    return 0


def cmd_evaluate_agent(args: argparse.Namespace) -> int:
    from flatnet_rl.agents.evaluate import evaluate_agent

    out = Path(args.out) if args.out else Path(args.run)
    result = evaluate_agent(
        args.run,
        episodes=args.episodes,
        deterministic=args.deterministic,
        judges=args.judges,
        out=out,
        overwrite=args.overwrite,
        video=args.video,
        video_episodes=args.video_episodes,
    )
    print((out / "eval.md").read_text())
    print(f"overall: {json.dumps(result['overall'])}")
    if args.video:
        print(f"video: {args.video}")
    return 0


def env_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options :func:`add_env_arguments` adds, as AgentConfig (and AgentGrid) fields."""
    return {
        "env_id": args.env,
        "env_kwargs": args.env_kwargs,
        "image": args.image,
        "target": args.target,
        "max_steps": args.max_steps,
        "judges": list(args.judges or []),
    }


def add_env_arguments(p: argparse.ArgumentParser) -> None:
    """The env an agent trains on and what is rewarded: train-agent and compare-agents."""
    p.add_argument(
        "--env",
        default=PAINT_ID,
        help=f"env id: {PAINT_ID} or any Gymnasium id as gymnasium.make takes it; "
        "module:EnvId imports the module first (minigrid:MiniGrid-Empty-8x8-v0, "
        "ale_py:ALE/Pong-v5)",
    )
    p.add_argument(
        "--env-kwargs",
        type=json_object,
        default={},
        help='env keyword arguments as JSON, e.g. \'{"pixel_op": "toggle"}\' (paint env) or '
        "'{\"size\": 8}'",
    )
    p.add_argument(
        "--image",
        default="auto",
        help="where the reward model's image is (other envs than the paint env): auto (the "
        "observation or its pixel entry), an observation key, or render (the env's render() "
        "frames)",
    )
    p.add_argument(
        "--target",
        type=target,
        default=None,
        help="class index or name to reward; 'random' draws one per episode (paint "
        "env); required for other envs",
    )
    p.add_argument(
        "--max-steps",
        type=positive_int,
        default=None,
        help="episode step limit (None: the env's)",
    )
    p.add_argument(
        "--judges",
        type=csv_of(str),
        default=None,
        help="comma-separated judges (None: the shipped panel for the paint env's canvas; "
        "other envs: train-agent evaluates with the reward model alone, compare-agents "
        "needs judges)",
    )


def register(sub: argparse._SubParsersAction) -> None:

    p = add_subparser(
        sub,
        "train-agent",
        "train an SB3 agent on a classifier reward (then evaluate it against the judges)",
        "Train PPO (default), A2C or DQN on the paint env or any env with image observations, "
        "rewarded by a classifier in one batched call per rollout (PPO, A2C) or per step, "
        "then evaluate the agent on "
        "--eval-episodes episodes from the task's start, scored by independent judges.",
    )
    add_env_arguments(p)
    p.add_argument("--algo", choices=ALGORITHMS, default="ppo", help="SB3 algorithm")
    p.add_argument(
        "--reward-model",
        default="flatnet",
        help="the proxy reward: zoo name, checkpoint, training spec or ensemble "
        "spec (e.g. ensemble:baseline*5)",
    )
    p.add_argument("--reward-mode", choices=MODES, default="delta", help="reward mode")
    p.add_argument(
        "--reward-scoring",
        choices=REWARD_SCORING,
        default=None,
        help="score the learned reward once per rollout (one classifier call; PPO, A2C) or "
        "at every step (None: rollout for ppo and a2c, step for dqn)",
    )
    p.add_argument(
        "--action-mode",
        choices=ACTION_MODES,
        default="pixel",
        help="paint env: paint pixels, move a pen a cell at a time, or draw strokes between "
        "anchor points (stroke: presets for 8x8, 14x14 and 28x28)",
    )
    p.add_argument(
        "--start",
        type=start,
        default=None,
        help="paint env training starts: blank, noise, digit, partial, stroke, demo (stroke "
        "mode: prefixes of drawings searched on the reward model) or a JSON "
        f'mixture such as \'{{"blank": 0.1, "partial": 0.9}}\' (None: the action mode\'s preset, '
        f"pixel {RUNS['pixel']['start']}, pen {RUNS['pen']['start']}, stroke "
        f"{RUNS['stroke']['start']})",
    )
    p.add_argument(
        "--canvas-size",
        type=int_in(MIN_CANVAS, MAX_CANVAS),
        default=None,
        help="paint env canvas (None: the reward model's)",
    )
    p.add_argument(
        "--timesteps",
        type=int_in(1, 10**10),
        default=None,
        help="environment steps to train (None: the action mode's preset, pixel "
        f"{RUNS['pixel']['timesteps']:,}, pen {RUNS['pen']['timesteps']:,}, stroke "
        + ", ".join(f"{t:,} at {c}x{c}" for c, t in STROKE_TIMESTEPS.items())
        + ")",
    )
    p.add_argument(
        "--n-envs",
        type=int_in(1, 4096),
        default=None,
        help="envs stepped together in one numpy operation (None: the preset's, "
        f"{RUNS['pixel']['n_envs']})",
    )
    p.add_argument(
        "--seed", type=int_in(0, 2**32 - 1), default=0, help="seeds torch, the envs and the policy"
    )
    p.add_argument("--out", default="runs/agent", help="run folder")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda[:N]")
    p.add_argument(
        "--hyperparams",
        type=json_object,
        default={},
        help="JSON overrides of the algorithm's preset (checked against the algorithm)",
    )
    p.add_argument(
        "--curve-every",
        type=int_in(0, 10**10),
        default=0,
        help="record proxy and judge scores every N steps (overoptimization curve); 0 = off",
    )
    p.add_argument(
        "--cache", default="runs/cache", help="cache of reward models trained from specs"
    )
    p.add_argument(
        "--eval-episodes",
        type=int_in(0, 10**6),
        default=100,
        help="evaluation episodes after training; 0 = skip",
    )
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="evaluate with the most probable action instead of sampling",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_clip_arguments(p)
    p.set_defaults(handler=cmd_train_agent)

    p = add_subparser(sub, "evaluate-agent", "evaluate a saved agent run against the judges")
    p.add_argument("run", help="run folder written by train-agent")
    p.add_argument("--episodes", type=int_in(1, 10**6), default=100, help="episodes")
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="take the most probable action instead of sampling",
    )
    p.add_argument(
        "--judges",
        type=csv_of(str),
        default=None,
        help="comma-separated judges (None: the run's)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="folder for eval.json, eval.md, final_canvases.png (None: the run)",
    )
    p.add_argument(
        "--video",
        default=None,
        metavar="PATH.mp4",
        help="also record episodes as an MP4 (needs the video extra: moviepy)",
    )
    p.add_argument("--video-episodes", type=int_in(1, 100), default=3, help="episodes in the video")
    p.add_argument("--overwrite", action="store_true", help="replace existing evaluation files")
    p.set_defaults(handler=cmd_evaluate_agent)
