"""``flatnet-rl train-agent`` and ``flatnet-rl evaluate-agent``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flatnet_rl.agents.presets import RUNS, STROKE_TIMESTEPS
from flatnet_rl.cli.choices import STARTS
from flatnet_rl.cli.clip_options import add_clip_arguments, resolve_clip_specs
from flatnet_rl.cli.common import add_subparser
from flatnet_rl.cli.config_options import add_config_options, config_kwargs
from flatnet_rl.cli.types import csv_of, int_in, json_object, target


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

    options = config_kwargs(args, ENV_FIELDS + RUN_FIELDS)
    options["reward_model"] = resolve_clip_specs([args.reward_model], args)[0]
    config = AgentConfig(**options)
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


#: AgentConfig fields that say which env an agent trains on and what is rewarded: options of
#: train-agent and compare-agents alike.
ENV_FIELDS = ("env_id", "env_kwargs", "image", "target", "max_steps", "judges")
#: The other AgentConfig fields train-agent offers.
RUN_FIELDS = (
    "algo",
    "reward_model",
    "reward_mode",
    "reward_scoring",
    "action_mode",
    "start",
    "eval_start",
    "canvas_size",
    "timesteps",
    "n_envs",
    "seed",
    "out",
    "device",
    "hyperparams",
    "eval_every",
    "curve_episodes",
    "cache_dir",
    "warm_start",
)
#: Spellings other than --field-name: the first is shown, the rest are kept for old commands.
FLAGS = {
    "env_id": ["--env", "--env-id"],
    "eval_every": ["--eval-every", "--curve-every"],
    "cache_dir": ["--cache-dir", "--cache"],
}
#: Values read otherwise than the annotation says.
TYPES = {"target": target, "start": start, "eval_start": start}


def add_env_arguments(p: argparse.ArgumentParser) -> None:
    """The env an agent trains on and what is rewarded: train-agent and compare-agents."""
    add_config_options(p, "AgentConfig", ENV_FIELDS, flags=FLAGS, types=TYPES)


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
    add_config_options(
        p,
        "AgentConfig",
        RUN_FIELDS,
        flags=FLAGS,
        types=TYPES,
        extra_help={
            "start": f"presets: pixel {RUNS['pixel']['start']}, pen {RUNS['pen']['start']}, "
            f"stroke {RUNS['stroke']['start']}",
            "timesteps": f"presets: pixel {RUNS['pixel']['timesteps']:,}, pen "
            f"{RUNS['pen']['timesteps']:,}, stroke "
            + ", ".join(f"{t:,} at {c}x{c}" for c, t in STROKE_TIMESTEPS.items()),
            "n_envs": f"pixel preset: {RUNS['pixel']['n_envs']}",
        },
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
