"""The README's results come from their commands: rerun them (slow) and compare.

Tolerances: the shipped models' rows are exact (same weights, same seeded data; 3 decimals
as printed); rows trained on the fly or by RL depend on the torch version and the thread
count (floating-point sums), so they get the stated tolerance.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from flatnet_rl.cli import main as cli_main

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
SHIPPED = {"flatnet", "baseline", "flatnet-28", "baseline-28", "flatnet-14", "baseline-14"}


def _block(name: str) -> str:
    match = re.search(
        rf"<!-- results {name}: .*? -->\n(.*?)<!-- /results {name} -->", README.read_text(), re.S
    )
    assert match, f"README has no results block {name!r}"
    return match[1]


def _rows(table: str) -> dict[str, list[str]]:
    """First-column name (backticks and bold stripped) -> the other cells."""
    rows = {}
    for line in table.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


def _number(cell: str) -> float:
    return float(cell.split()[0].split("±")[0])


def _check_compare(block: str, table_file: Path, tolerance: float) -> None:
    expected, got = _rows(_block(block)), _rows(table_file.read_text())
    assert expected.keys() == got.keys()
    for name, cells in expected.items():
        for want, have in zip(cells, got[name], strict=True):
            if want == "n/a":
                assert have == "n/a"
                continue
            tol = 0.0015 if name in SHIPPED else tolerance
            assert _number(have) == pytest.approx(_number(want), abs=tol), (name, want, have)


@pytest.mark.slow
def test_compare_8_reproduces(tmp_path):
    """`flatnet-rl compare --out runs/compare`: shipped rows exact, trained rows +-0.03."""
    assert (
        cli_main(
            [
                "compare",
                "--out",
                str(tmp_path / "cmp"),
                "--cache",
                str(tmp_path / "cache"),
                "--quiet",
            ]
        )
        == 0
    )
    _check_compare("compare-8", tmp_path / "cmp" / "table.md", 0.03)
    _check_compare("compare-8-families", tmp_path / "cmp" / "families.md", 0.03)
    _check_within_spread("compare-8-seeds", tmp_path / "cmp" / "table.md")


def _check_within_spread(block: str, table_file: Path) -> None:
    """Every cell of a one-seed run lies within the README's mean ± 2 std over seeds (plus
    the printed rounding); rows without a spread (fixed weights) are exact."""
    expected, got = _rows(_block(block)), _rows(table_file.read_text())
    assert expected.keys() == got.keys()
    for name, cells in expected.items():
        for want, have in zip(cells, got[name], strict=True):
            if want == "n/a":
                continue
            mean, _, std = want.partition("±")
            spread = 2 * float(std) if std else 0.0
            assert abs(_number(have) - float(mean)) <= spread + 0.0015, (name, want, have)


@pytest.mark.slow
def test_compare_28_shipped_rows_reproduce(tmp_path):
    out = tmp_path / "cmp28"
    assert (
        cli_main(
            [
                "compare",
                "flatnet-28",
                "baseline-28",
                "--source",
                "mnist5k",
                "--canvas",
                "28",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    expected = _rows(_block("compare-28"))
    got = _rows((out / "table.md").read_text())
    for name in ("flatnet-28", "baseline-28"):
        for want, have in zip(expected[name], got[name], strict=True):
            if want != "n/a":
                assert _number(have) == pytest.approx(_number(want), abs=0.0015), (name, want)


@pytest.mark.slow
def test_agent_headline_reproduces_for_one_seed(tmp_path):
    """One seed of the pixel-mode comparison (flatnet and baseline rewards) at full budget:
    its judge p_target and fooling rate fall inside the README's 95% intervals (+-0.05, since
    one seed is not the IQM of five)."""
    from flatnet_rl.evaluation.agent_comparison import AgentGrid, run_agent_comparison

    result = run_agent_comparison(
        AgentGrid(reward_models=("flatnet", "baseline"), seeds=1),
        tmp_path / "agents",
        progress=False,
    )
    expected = _rows(_block("agents-pixel"))
    for model in ("flatnet", "baseline"):
        row = result.rows[model]
        for column, key in ((1, "judge_p_target"), (2, "fooling_rate")):
            low, high = (float(x) for x in re.findall(r"[-\d.]+", expected[model][column])[1:3])
            assert low - 0.05 <= row[key]["iqm"] <= high + 0.05, (model, key, row[key])


def test_zoo_table_is_the_manifest(tmp_path, capsys):
    import runpy

    runpy.run_path(str(ROOT / "scripts" / "zoo_table.py"), run_name="__main__")
    assert capsys.readouterr().out.strip() == _block("zoo").strip()
    manifest = json.loads((ROOT / "flatnet_rl" / "zoo" / "manifest.json").read_text())
    assert set(_rows(_block("zoo"))) == set(manifest)
