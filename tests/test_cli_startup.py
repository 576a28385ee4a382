"""The command line starts at once: parsing, ``--help``, ``--version`` and argument errors
import none of the heavy libraries (checked by module, not by a timing), and the values the
parser mirrors (:mod:`flatnet_rl.cli.choices`) agree with the library's."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import flatnet_rl
from flatnet_rl.cli import build_parser
from flatnet_rl.cli import choices as cli_choices

HEAVY = ("torch", "torchvision", "sklearn", "stable_baselines3", "scipy", "matplotlib")
SUBCOMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)


def _run_cli(*argv: str) -> tuple[int, str, list[str]]:
    """Exit status, output and the heavy modules imported by ``flatnet-rl ARGV``."""
    code = (
        "import sys\n"
        "from flatnet_rl.cli import main\n"
        "try:\n"
        f"    status = main({list(argv)!r})\n"
        "except SystemExit as stop:\n"
        "    status = stop.code\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY', ','.join(heavy))\n"
        "sys.exit(status)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    line = [x for x in result.stdout.splitlines() if x.startswith("HEAVY")][-1]
    heavy = [m for m in line.removeprefix("HEAVY").strip().split(",") if m]
    return result.returncode, result.stdout + result.stderr, heavy


def test_the_subcommands_are_the_expected_ones():
    assert {"train-classifier", "compare", "train-agent", "evaluate-agent"} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("argv", [["--help"], ["--version"]] + [[c, "--help"] for c in SUBCOMMANDS])
def test_help_and_version_import_no_heavy_library(argv):
    status, output, heavy = _run_cli(*argv)
    assert status == 0, output
    assert heavy == [], f"flatnet-rl {' '.join(argv)} imported {heavy}"
    if argv == ["--version"]:
        assert output.startswith(f"flatnet-rl {flatnet_rl.__version__}")


@pytest.mark.parametrize(
    "argv",
    [
        ["train-agent", "--timesteps", "-3"],
        ["train-agent", "--start", "nowhere"],
        ["train-agent", "--action-mode", "brush"],
        ["train-classifier", "--loss", "nope", "--out", "x.safetensors"],
        ["compare", "--engine", "spark"],
        ["train-agent", "--threads", "0"],
        ["no-such-command"],
    ],
)
def test_argument_errors_are_one_line_without_heavy_imports(argv):
    status, output, heavy = _run_cli(*argv)
    assert status == 2, output
    errors = [line for line in output.splitlines() if "error:" in line]
    assert len(errors) == 1, output
    assert heavy == [], f"flatnet-rl {' '.join(argv)} imported {heavy}"


@pytest.mark.parametrize("name", sorted(cli_choices.MIRRORS))
def test_the_parser_choices_mirror_the_library(name):
    module, attribute = cli_choices.MIRRORS[name]
    source = getattr(importlib.import_module(module), attribute)
    if isinstance(source, dict):
        source = tuple(sorted(source))
    assert getattr(cli_choices, name) == source, f"update flatnet_rl/cli/choices.py: {name}"


@pytest.mark.parametrize(
    "package",
    [
        "flatnet_rl",
        "flatnet_rl.agents",
        "flatnet_rl.data",
        "flatnet_rl.envs",
        "flatnet_rl.evaluation",
        "flatnet_rl.reward",
        "flatnet_rl.training",
    ],
)
def test_lazy_package_names_all_resolve(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in dir(module)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_importing_the_package_registers_the_envs_without_torch():
    code = (
        "import sys, gymnasium, flatnet_rl\n"
        "assert 'FlatnetPaint-v0' in gymnasium.registry\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
