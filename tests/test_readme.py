"""The README's quick start runs as written, and its set-up block is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def test_every_python_snippet_runs():
    """The quick start and every other Python block run as written, each on its own."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    for i, code in enumerate(blocks):
        exec(compile(code, f"README python block {i}", "exec"), {})


def test_setup_block_has_install_and_test_commands():
    section = README.read_text().split("## Set-up", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "pip install -e" in commands[0] and "flatnet-rl" in commands[0]
    assert "pytest" in commands[1]


def test_every_results_block_names_the_command_that_made_it():
    import importlib.util

    path = Path(__file__).parents[1] / "scripts" / "readme_results.py"
    spec = importlib.util.spec_from_file_location("readme_results", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = README.read_text()
    found = module.blocks(text)
    assert found, "the README has no results blocks"
    assert module.check(text) == []
    for name, (command, body) in found.items():
        assert command.startswith(("flatnet-rl ", "python ")), (name, command)
        # A block holds what its command wrote: a table, never a placeholder.
        assert "|---" in body, f"README block {name!r} holds no table; run: {command}"


def test_every_figure_the_readme_shows_exists():
    root = README.parent
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text()):
        assert (root / target).is_file(), target
