"""The layout shows the architecture: nothing imports upward, no cycles, no global side
effects on import.

Layers, bottom to top: helpers -> data -> models/losses -> checkpoints/classifiers ->
training -> reward -> envs -> agents -> evaluation -> cli. A module may import its own layer
or lower ones (imports inside functions included); the package ``__init__`` is the facade
and no module imports it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "flatnet_rl"
LAYERS: list[tuple[str, ...]] = [
    ("flatnet_rl._version", "flatnet_rl.numerics", "flatnet_rl.util"),
    ("flatnet_rl.data",),
    ("flatnet_rl.models", "flatnet_rl.losses", "flatnet_rl.clip"),
    (
        "flatnet_rl.checkpoint",
        "flatnet_rl.classifier",
        "flatnet_rl.ensemble",
        "flatnet_rl.shipped",
        "flatnet_rl.module_contract",
    ),
    ("flatnet_rl.training",),
    ("flatnet_rl.reward",),
    ("flatnet_rl.envs",),
    ("flatnet_rl.agents",),
    ("flatnet_rl.evaluation",),
    ("flatnet_rl.cli", "flatnet_rl.zoo"),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    best, depth = -1, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = i, len(prefix)
    return best


def _imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        module = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[module].update(t for t in targets if t.split(".")[0] == "flatnet_rl")
    return graph


GRAPH = _imports()


def test_every_module_has_a_layer():
    for module in GRAPH:
        if module != "flatnet_rl":
            assert _layer(module) >= 0, module


def test_nothing_imports_upward_or_the_package_facade():
    upward = []
    for module, targets in GRAPH.items():
        if module == "flatnet_rl":
            continue
        for target in targets:
            assert target != "flatnet_rl", f"{module} imports the package facade"
            if _layer(target) > _layer(module):
                upward.append(f"{module} -> {target}")
    assert not upward, "\n".join(upward)


def _resolve(target: str) -> str:
    """``flatnet_rl.data.images`` or, for ``from flatnet_rl.x import name``, the module."""
    while target not in GRAPH and "." in target:
        target = target.rsplit(".", 1)[0]
    return target


def test_no_import_cycles():
    edges = {m: {_resolve(t) for t in ts if _resolve(t) != m} for m, ts in GRAPH.items()}
    # A package __init__ re-exports its submodules; importing the package from one of its
    # own submodules would be a cycle, which the edges keep.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt == "flatnet_rl":
                continue
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state and node != "flatnet_rl":
            visit(node)


def test_importing_changes_no_process_wide_state():
    """No matplotlib backend switch, no torch thread change, no warnings filters."""
    code = (
        # Third-party libraries may set their own filters on import: load them first.
        "import matplotlib, torch, warnings, gymnasium, stable_baselines3, torchvision\n"
        "import scipy.stats, sklearn.model_selection, safetensors, tqdm.auto\n"
        # The raw rcParams value: matplotlib.get_backend() would itself import pyplot.
        "raw = lambda: dict.__getitem__(matplotlib.rcParams, 'backend')\n"
        "backend, threads, filters = raw(), torch.get_num_threads(), list(warnings.filters)\n"
        "import flatnet_rl, flatnet_rl.cli, flatnet_rl.evaluation.plots, flatnet_rl.agents\n"
        "import flatnet_rl.evaluation.report, flatnet_rl.agents.evaluate\n"
        "import sys; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "assert raw() == backend, (backend, raw())\n"
        "assert torch.get_num_threads() == threads\n"
        "assert list(warnings.filters) == filters\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_no_module_is_too_long_without_saying_why():
    for path in PACKAGE.rglob("*.py"):
        lines = path.read_text().count("\n")
        if lines > 420:
            doc = ast.get_docstring(ast.parse(path.read_text())) or ""
            assert "long" in doc.lower(), f"{path} has {lines} lines and no stated reason"
