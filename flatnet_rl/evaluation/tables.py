"""Markdown tables of a comparison: best value per column in bold, optional ± spread."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flatnet_rl.evaluation.columns import (
    HACKING_COLUMNS,
    TABLE_COLUMNS,
    Column,
    family_columns,
)

__all__ = [
    "FPR_CONVENTION",
    "best_rows",
    "columns_for",
    "comparison_table",
    "family_table",
    "legend",
    "markdown_table",
]

FPR_CONVENTION = (
    "FPR95 uses the class-positive convention: the max-probability threshold keeps 95% of "
    "the real test images, and FPR95 is the fraction of outlier images at or above it "
    "(the OOD-positive convention gives different numbers)."
)
_ARROW = {"lower": " ↓", "higher": " ↑", None: ""}


# ------------------------------------------------------------------------------- tables


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and math.isfinite(float(value))


def best_rows(values: Sequence[float | None], better: str | None) -> set[int]:
    """Indices holding the best value (all of them on a tie); NaN/None never win.

    ``better`` is ``"lower"``, ``"higher"`` or ``None`` (no best: empty set).
    """
    if better not in ("lower", "higher"):
        return set()
    finite = [(i, float(v)) for i, v in enumerate(values) if v is not None and _is_number(v)]
    if not finite:
        return set()
    pick = min if better == "lower" else max
    best = pick(v for _, v in finite)
    # A relative tolerance so that float noise does not split a real tie.
    tol = 1e-12 * max(1.0, abs(best))
    return {i for i, v in finite if abs(v - best) <= tol}


def _fmt(value: Any, fmt: str) -> str:
    return format(float(value), fmt) if value is not None and _is_number(value) else "n/a"


def markdown_table(
    names: Sequence[str],
    rows: Sequence[Mapping[str, float]],
    columns: Sequence[Column],
    *,
    stds: Sequence[Mapping[str, float]] | None = None,
    first_header: str = "model",
) -> str:
    """A markdown table, one row per name; the best value per column (by
    :attr:`Column.better`) is bold; with ``stds`` every cell reads ``mean ± std`` (where the
    row's ``stds`` has the column: a row of one exact value has none)."""
    header = [first_header, *(c.label + _ARROW[c.better] for c in columns)]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * len(columns)) + "|",
    ]
    best = {c.key: best_rows([r.get(c.key) for r in rows], c.better) for c in columns}
    for i, (name, row) in enumerate(zip(names, rows, strict=True)):
        cells = [f"`{name}`"]
        for c in columns:
            text = _fmt(row.get(c.key), c.fmt)
            if stds is not None and text != "n/a" and c.key in stds[i]:
                text += f" ± {_fmt(stds[i].get(c.key), c.fmt)}"
            cells.append(f"**{text}**" if i in best[c.key] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def columns_for(rows: Sequence[Mapping[str, float]]) -> list[Column]:
    """The main columns, plus the hacking columns when some row has them."""
    columns = list(TABLE_COLUMNS)
    if any("fooling_rate" in r for r in rows):
        columns += HACKING_COLUMNS
    return columns


def comparison_table(reports: Sequence[Any]) -> str:
    """The main table of a comparison (hacking columns only when some model has them)."""
    rows = [r.summary() for r in reports]
    return markdown_table([r.name for r in reports], rows, columns_for(rows))


def family_table(
    names: Sequence[str],
    rows: Sequence[Mapping[str, float]],
    families: Sequence[str],
    stds: Sequence[Mapping[str, float]] | None = None,
) -> str:
    """Mean max-probability per outlier family (columns), best (lowest) bold."""
    return markdown_table(names, rows, family_columns(list(families)), stds=stds)


def legend(columns: Sequence[Column]) -> list[str]:
    """The report's legend: directions, the FPR convention, how to read max-prob, columns."""
    lower = ", ".join(c.label for c in columns if c.better == "lower")
    higher = ", ".join(c.label for c in columns if c.better == "higher")
    lines = [
        f"**Bold** = best value in its column. ↓ lower is better: {lower}. "
        f"↑ higher is better: {higher}.",
        "",
        FPR_CONVENTION,
        "",
        "A low max-prob means a flat reward on non-digits only if the model stays confident on "
        "digits: read it together with FPR95 and AUROC (which compare outliers against the "
        "digits) and with ECE. A model that is near-uniform everywhere (e.g. one whose test-time "
        "softmax is untempered) gets a low max-prob but a high FPR95 and ECE.",
        "",
        "Columns:",
        "",
    ]
    lines += [f"- **{c.label}**: {c.description}." for c in columns]
    return lines
