"""``flatnet-rl`` command line: one subcommand per job.

flatnet-rl train-classifier --loss entropy --kappa 0.3 --outliers 2000 --out model.safetensors
flatnet-rl train-classifier --data shapes/ --out shapes.safetensors   (your own images)
flatnet-rl info [model.safetensors]
flatnet-rl compare [MODEL ...] --out runs/compare
flatnet-rl sweep --kappa 0,0.1,0.3,1 --outliers 0,2000 --seeds 3 [--engine ray]
flatnet-rl train-agent / evaluate-agent / compare-agents ...

Built on argparse (standard library, no extra dependency for the main entry point) with
every option's default shown in ``--help``; a user's mistake is one line on stderr and exit
status 2, never a traceback (``--debug`` shows one). Nothing is overwritten without
``--overwrite``, and output paths are checked before any work starts.

``--help``, ``--version`` and argument errors return at once: the parser imports no torch
(its choices come from :mod:`flatnet_rl.cli.choices`), each subcommand imports what it
needs when it runs, after the thread policy (:mod:`flatnet_rl.util.threads`) is set.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flatnet_rl._version import __version__
from flatnet_rl.cli.common import HelpFormatter, Parser, user_errors
from flatnet_rl.util import threads


def build_parser() -> argparse.ArgumentParser:
    from flatnet_rl.cli import agent_grid, agents, classifier, evaluation

    parser = Parser(
        prog="flatnet-rl",
        description=__doc__.split("\n\n")[0].replace("``", ""),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (classifier, evaluation, agent_grid, agents):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the subcommand, whose --help lists what it takes
        subcommands = parser._subparsers._group_actions[0].choices
        subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        threads.apply_thread_policy(args.threads)  # before the subcommand imports torch
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        print(f"flatnet-rl {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.debug:
            raise
        if isinstance(err, user_errors()):
            text = str(err).strip()
            message = text.splitlines()[0] if text else type(err).__name__
            print(f"flatnet-rl {args.command}: error: {message}", file=sys.stderr)
            return 2
        # A bug, not a user error: say so, keep it to one line.
        print(
            f"flatnet-rl {args.command}: internal error: {type(err).__name__}: {err} "
            "(rerun with --debug for the traceback, and please report it)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
