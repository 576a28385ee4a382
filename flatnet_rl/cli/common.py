"""What every subcommand shares: the parser class, the help formatter, the user errors.

Nothing here imports torch: parsing and ``--help`` must return at once.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from flatnet_rl.util.threads import EXPECTED, parse_threads


def threads_setting(text: str) -> int | str:
    try:
        return parse_threads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {EXPECTED}, got {text!r}") from None


Handler = Callable[[argparse.Namespace], int]


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the user asked for something that cannot be done": one line,
    exit 2. Imported when an error is caught, not before parsing (they live beside torch)."""
    from flatnet_rl.agents.runs import RunExistsError
    from flatnet_rl.checkpoint import CheckpointError
    from flatnet_rl.data import CanvasError, DatasetNotFoundError

    return (
        ValueError,
        CheckpointError,
        CanvasError,
        DatasetNotFoundError,
        FileNotFoundError,
        FileExistsError,
        RunExistsError,
        PermissionError,
        ImportError,
        FloatingPointError,  # a classifier producing NaN/inf: the message names it
    )


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown for every option; descriptions keep their line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # A required option or a positional has no default worth showing when it is None:
        # "(default: None)" would read as if it could be left out; its help says the rest.
        if (action.required or not action.option_strings) and (
            action.default is None or action.default == argparse.SUPPRESS
        ):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``flatnet-rl <cmd>: error: ...`` and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_subparser(
    sub: argparse._SubParsersAction, name: str, help_text: str, description: str = ""
) -> argparse.ArgumentParser:
    """A subcommand parser with the shared formatter, ``--debug`` and one-line errors."""
    parser = sub.add_parser(
        name,
        help=help_text,
        description=description or help_text,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    parser.add_argument(
        "--threads",
        type=threads_setting,
        default=None,
        metavar="N|auto|free|torch",
        help="torch threads: a number, auto (the thread policy), free (the free cores) or "
        "torch (torch's default) (None: $FLATNET_RL_THREADS, else auto)",
    )
    return parser
