"""``flatnet-rl compare-agents``: agents trained on several reward models x seeds."""

from __future__ import annotations

import argparse

from flatnet_rl.cli.agents import ENV_FIELDS, add_env_arguments
from flatnet_rl.cli.clip_options import add_clip_arguments, resolve_clip_specs
from flatnet_rl.cli.common import add_subparser
from flatnet_rl.cli.config_options import add_config_options, config_kwargs
from flatnet_rl.cli.evaluation import add_engine_arguments

#: What ``compare-agents`` trains agents on without REWARD arguments: the flat and the plain
#: reward, the ensemble defences (5 seeds; mean, and mean - 1 std) of each, and label
#: smoothing (another objective that flattens without outliers).
AGENT_REWARDS: tuple[str, ...] = (
    "flatnet",
    "baseline",
    "ensemble:baseline*5",
    "ensemble@k=1:baseline*5",
    "ensemble:flatnet*5",
    "label_smoothing",
)
#: AgentGrid fields compare-agents offers besides the env ones (ENV_FIELDS, from AgentConfig)
#: and cache_dir (the engines' --cache).
GRID_FIELDS = (
    "seeds",
    "action_mode",
    "timesteps",
    "eval_episodes",
    "eval_every",
    "hyperparams",
    "n_envs",
    "algo",
    "reward_mode",
    "device",
)


def cmd_compare_agents(args: argparse.Namespace) -> int:
    """Train and evaluate agents for every reward model x seed, then aggregate."""
    from flatnet_rl.evaluation.agent_comparison import AgentGrid, run_agent_comparison
    from flatnet_rl.evaluation.engines import check_engine

    check_engine(args.engine)  # before any model is resolved or job started
    grid = AgentGrid(
        reward_models=tuple(resolve_clip_specs(args.reward_models, args)),
        **config_kwargs(args, GRID_FIELDS),
        cache_dir=args.cache,
        **{**config_kwargs(args, ENV_FIELDS), "judges": tuple(args.judges)},
    )
    engine = {"engine": args.engine, "workers": args.workers, "address": args.address}
    result = run_agent_comparison(
        grid,
        args.out,
        **engine,
        overwrite=args.overwrite,
        resume=args.resume,
        progress=not args.quiet,
    )
    print(result.table)
    print(f"\nreport: {result.report_path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare-agents`` subcommand."""

    p = add_subparser(
        sub,
        "compare-agents",
        "train agents on several reward models x seeds; IQM, bootstrap CIs, overoptimization",
        "For every reward model and seed, train an agent (the action mode's preset), evaluate "
        "it against the judge panel, and aggregate over seeds: IQM with 95% stratified "
        "bootstrap confidence intervals, probability of improvement, and the "
        "overoptimization curves (proxy vs judges during training). Finished runs (the same "
        "config, reward model and judges) are not rerun; --resume also replaces a finished "
        "report, e.g. after adding seeds.",
    )
    p.add_argument(
        "reward_models",
        nargs="*",
        metavar="REWARD",
        default=list(AGENT_REWARDS),
        help="reward model specs",
    )
    add_config_options(
        p,
        "AgentGrid",
        GRID_FIELDS,
        # --curve-every: this option's first name, kept for old commands.
        flags={"eval_every": ["--eval-every", "--curve-every"]},
    )
    add_env_arguments(p)
    p.add_argument("--out", default="runs/compare_agents", help="output folder")
    add_engine_arguments(p)
    rerun = p.add_mutually_exclusive_group()
    rerun.add_argument(
        "--overwrite", action="store_true", help="rerun finished runs and replace the report"
    )
    rerun.add_argument(
        "--resume",
        action="store_true",
        help="keep finished runs (same config, reward model and judges) and replace the report",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_clip_arguments(p)
    p.set_defaults(handler=cmd_compare_agents)
