"""``flatnet-rl train-agent`` and ``flatnet-rl evaluate-agent``."""

from __future__ import annotations

import argparse
import json

from flatnet_rl.agents.presets import ALGORITHMS, CURRICULUM
from flatnet_rl.envs.paint import parse_start
from flatnet_rl.reward.functions import MODES


def _json_dict(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}: {err}") from err
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def _target(text: str) -> int | None:
    if text in ("random", "none", "None"):
        return None
    try:
        value = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"target must be 0-9 or 'random', got {text!r}") from err
    if not 0 <= value <= 9:
        raise argparse.ArgumentTypeError(f"target must be 0-9 or 'random', got {value}")
    return value


def _start(text: str) -> str | dict[str, float]:
    """A start mode (``blank``, ``partial`` ...) or a JSON mapping of modes to weights."""
    value = _json_dict(text) if text.lstrip().startswith("{") else text
    try:
        parse_start(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err
    return value


def cmd_train_agent(args: argparse.Namespace) -> int:
    from flatnet_rl.agents.train import AgentConfig, train_agent

    config = AgentConfig(
        env_id=args.env,
        algo=args.algo,
        reward_model=args.reward_model,
        reward_mode=args.reward_mode,
        action_mode=args.action_mode,
        target=args.target,
        start=args.start,
        max_steps=args.max_steps,
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        seed=args.seed,
        out=args.out,
        device=args.device,
        env_kwargs=args.env_kwargs,
        hyperparams=args.hyperparams,
    )
    run = train_agent(config, progress=not args.quiet, eval_episodes=args.eval_episodes)
    print(f"saved agent run {run}")
    if args.eval_episodes:
        print((run / "eval.md").read_text())
    return 0


def cmd_evaluate_agent(args: argparse.Namespace) -> int:
    from flatnet_rl.agents.evaluate import evaluate_agent

    result = evaluate_agent(
        args.run, episodes=args.episodes, deterministic=not args.stochastic, judge=args.judge
    )
    print((__import__("pathlib").Path(args.run) / "eval.md").read_text())
    print(f"overall: {json.dumps(result['overall'])}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    from flatnet_rl.cli import non_negative_int, positive_int

    p = sub.add_parser("train-agent", help="train an SB3 agent on a classifier reward")
    p.add_argument(
        "--env", default="FlatnetPaint-v0", help="env id (FlatnetPaint-v0 or any image env)"
    )
    p.add_argument("--algo", choices=ALGORITHMS, default="ppo")
    p.add_argument(
        "--reward-model", default="flatnet", help="flatnet, baseline or a checkpoint path"
    )
    p.add_argument("--reward-mode", choices=MODES, default="delta")
    p.add_argument("--action-mode", choices=("pixel", "pen"), default="pixel")
    p.add_argument("--target", type=_target, default=None, help="0-9, or 'random' (default)")
    p.add_argument(
        "--start",
        type=_start,
        default=dict(CURRICULUM),
        help="training start canvases: blank, noise, digit, partial or a JSON mixture such as "
        '\'{"blank": 0.25, "partial": 0.75}\' (default: that curriculum)',
    )
    p.add_argument("--max-steps", type=positive_int, default=None)
    p.add_argument("--timesteps", type=positive_int, default=200_000)
    p.add_argument("--n-envs", type=positive_int, default=8)
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--out", default="runs/agent")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--env-kwargs", type=_json_dict, default={}, help='JSON, e.g. \'{"pixel_op": "toggle"}\''
    )
    p.add_argument(
        "--hyperparams", type=_json_dict, default={}, help="JSON overrides of the preset"
    )
    p.add_argument(
        "--eval-episodes", type=non_negative_int, default=100, help="0 = skip evaluation"
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=cmd_train_agent)

    p = sub.add_parser("evaluate-agent", help="evaluate a saved agent run against the judge")
    p.add_argument("run", help="run folder written by train-agent")
    p.add_argument("--episodes", type=positive_int, default=100)
    p.add_argument("--stochastic", action="store_true", help="sample actions instead of argmax")
    p.add_argument("--judge", default=None, help="judge classifier (default: the run's)")
    p.set_defaults(handler=cmd_evaluate_agent)
