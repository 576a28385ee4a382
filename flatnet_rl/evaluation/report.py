"""Write a comparison to a folder: ``report.md``, ``results.json`` and the PNG figures.

``report.md`` states what was compared and on which seeded data, then one table row per
model with the best value of every column in **bold** (directions come from
:data:`~flatnet_rl.evaluation.compare.TABLE_COLUMNS`, the one place they are defined), the
false-positive-rate convention, per-family values, and links to the figures.
``results.json`` holds every metric of every model, per family included (NaN as ``null``).
:func:`write_sweep_report` writes the same files for seed-averaged rows (mean ± std).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flatnet_rl.evaluation.compare import (
    EVAL_FAMILIES,
    HACKING_COLUMNS,
    PATH_DENSITY,
    TABLE_COLUMNS,
    Column,
    ModelReport,
    json_safe,
)

__all__ = [
    "FPR_CONVENTION",
    "AggregateRow",
    "aggregate",
    "best_rows",
    "comparison_table",
    "family_table",
    "markdown_table",
    "write_report",
    "write_sweep_report",
]

FPR_CONVENTION = (
    "FPR95 uses the digit-positive convention: the max-probability threshold keeps 95% of "
    "the real test digits, and FPR95 is the fraction of outlier images at or above it "
    "(the OOD-positive convention gives different numbers)."
)
_ARROW = {"lower": " ↓", "higher": " ↑", None: ""}
FIGURES = {
    "false_positive_bars": "false_positive_bars.png",
    "reward_curves": "reward_curves.png",
}


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
    :attr:`Column.better`) is bold; with ``stds`` every cell reads ``mean ± std``."""
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
            if stds is not None and text != "n/a":
                text += f" ± {_fmt(stds[i].get(c.key), c.fmt)}"
            cells.append(f"**{text}**" if i in best[c.key] else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _columns_for(rows: Sequence[Mapping[str, float]]) -> list[Column]:
    columns = list(TABLE_COLUMNS)
    if any("fooling_rate" in r for r in rows):
        columns += HACKING_COLUMNS
    return columns


def comparison_table(reports: Sequence[ModelReport]) -> str:
    """The main table of a comparison (hacking columns only when some model has them)."""
    rows = [r.summary() for r in reports]
    return markdown_table([r.name for r in reports], rows, _columns_for(rows))


def _family_columns() -> list[Column]:
    return [
        Column(f"max_prob[{f}]", f, "lower", f"mean max-probability on {f}") for f in EVAL_FAMILIES
    ]


def family_table(
    names: Sequence[str],
    rows: Sequence[Mapping[str, float]],
    stds: Sequence[Mapping[str, float]] | None = None,
) -> str:
    """Mean max-probability per outlier family (columns), best (lowest) bold."""
    return markdown_table(names, rows, _family_columns(), stds=stds)


def _legend(columns: Sequence[Column]) -> list[str]:
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


def _data_lines(
    seed: int, n_outliers: int, n_paths: int, canvases: Sequence[int], n_test: int
) -> list[str]:
    sizes = ", ".join(f"{c}x{c}" for c in sorted(set(canvases)))
    return [
        f"All models were scored on the same data drawn from seed **{seed}** (per canvas size: "
        f"{sizes}):",
        "",
        f"- digits: the embedded scikit-learn test split ({n_test} digits), binarized to the "
        "model's canvas;",
        f"- outliers: {n_outliers} images per family, {len(EVAL_FAMILIES)} families "
        f"({', '.join(EVAL_FAMILIES)}); inverted and shuffled are made from the test digits; "
        "each image has one random target class, the same for every model;",
        f"- smoothness: {n_paths} morph paths from a test digit to a Bernoulli({PATH_DENSITY}) "
        f"random canvas, one pixel flip per step, reward = p(digit's label); and {n_paths} "
        "reverse paths (random canvas -> digit, independent flip order).",
    ]


# ------------------------------------------------------------------------------ writers


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.write_text(json.dumps(json_safe(payload), indent=2, allow_nan=False) + "\n")


def _write_report(
    out: Path,
    lines: list[str],
    figure_links: Sequence[tuple[str, str]],
    images: Sequence[tuple[str, str]],
    results: dict[str, Any],
) -> Path:
    """Write ``report.md`` (``lines``, then, when figures were drawn, a Figures section that
    links them all and shows ``images``) and ``results.json`` (``results`` + figure files)."""
    if figure_links:
        lines = [*lines, "## Figures", ""]
        lines += [f"- [{label}]({file})" for label, file in figure_links]
        for alt, file in images:
            lines += ["", f"![{alt}]({file})"]
    report_path = out / "report.md"
    report_path.write_text("\n".join(lines).rstrip() + "\n")
    _write_json(out / "results.json", {**results, "figures": [f for _, f in figure_links]})
    return report_path


def _columns_json(columns: Sequence[Column]) -> dict[str, dict[str, Any]]:
    return {
        c.key: {"label": c.label, "better": c.better, "description": c.description} for c in columns
    }


def _training_line(report: ModelReport) -> str:
    t = report.training
    if not t:
        return f"- `{report.name}`: no training record"
    objective = t.get("objective", {})
    hyper = ", ".join(f"{k}={v}" for k, v in objective.items() if k != "loss")
    return (
        f"- `{report.name}`: loss `{objective.get('loss', '?')}`"
        + (f" ({hyper})" if hyper else "")
        + f", arch {t.get('arch', '?')}, {t.get('outliers', 0)} outliers, "
        f"{t.get('epochs', '?')} epochs, seed {t.get('seed', '?')}"
    )


def write_report(
    reports: Sequence[ModelReport],
    out_dir: str | Path,
    *,
    seed: int,
    n_outliers: int,
    n_paths: int,
    title: str = "Reward model comparison",
    judge_name: str | None = None,
    figures: bool = True,
) -> Path:
    """Write ``report.md``, ``results.json`` and (with ``figures``) the PNGs; return the
    path of ``report.md``."""
    from flatnet_rl.evaluation import plots

    if not reports:
        raise ValueError("need at least one model report")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r.summary() for r in reports]
    names = [r.name for r in reports]
    columns = _columns_for(rows)

    figure_links: list[tuple[str, str]] = []
    if figures:
        plots.plot_false_positive_bars(reports, out / FIGURES["false_positive_bars"])
        figure_links.append(
            ("False-positive reward per outlier family", FIGURES["false_positive_bars"])
        )
        plots.plot_reward_curves(reports, out / FIGURES["reward_curves"])
        figure_links.append(
            ("Reward along morph paths, forward and reverse", FIGURES["reward_curves"])
        )
        for r in reports:
            name = f"morph_{plots.figure_name(r.name)}.png"
            plots.plot_morph(r, out / name)
            figure_links.append((f"Morph path: {r.name}", name))

    lines = [f"# {title}", ""]
    lines += [f"Compared {len(reports)} models:", ""]
    lines += [_training_line(r) for r in reports]
    lines += [""]
    lines += _data_lines(
        seed, n_outliers, n_paths, [r.canvas_size for r in reports], reports[0].n_test
    )
    if judge_name:
        lines += ["", f"Reward-hacking scores use the independent judge `{judge_name}`."]
    lines += ["", "## Results", "", markdown_table(names, rows, columns), ""]
    lines += _legend(columns)
    lines += ["", "## Mean max-probability per outlier family", "", family_table(names, rows), ""]
    lines += ["Reverse paths (random -> digit):", ""]
    lines += [markdown_table(names, [_reverse_row(r) for r in reports], _REVERSE_COLUMNS), ""]
    images = [
        ("False-positive reward", FIGURES["false_positive_bars"]),
        ("Reward curves", FIGURES["reward_curves"]),
    ]
    return _write_report(
        out,
        lines,
        figure_links,
        images,
        {
            "title": title,
            "seed": seed,
            "n_outliers_per_family": n_outliers,
            "n_paths": n_paths,
            "families": list(EVAL_FAMILIES),
            "fpr_convention": FPR_CONVENTION,
            "judge": judge_name,
            "columns": _columns_json(columns),
            "models": [r.to_dict() for r in reports],
        },
    )


_REVERSE_COLUMNS: tuple[Column, ...] = (
    Column("reverse_tv_ratio", "TV ratio", "lower", "as TV ratio, on reverse paths"),
    Column("reverse_autocorr", "autocorr", "higher", "as autocorr, on reverse paths"),
    Column("reverse_argmax_flips", "argmax flips", "lower", "as argmax flips", ".2f"),
    Column(
        "reverse_entropy_start",
        "entropy at random start",
        "higher",
        "mean entropy on the random canvas (log 10 = 2.303 is flat)",
    ),
    Column("reverse_entropy_end", "entropy at digit", None, "mean entropy on the digit"),
)


def _reverse_row(report: ModelReport) -> dict[str, float]:
    return {c.key: report.smoothness[c.key] for c in _REVERSE_COLUMNS}


# -------------------------------------------------------------------------- aggregation


@dataclass
class AggregateRow:
    """Seed-averaged metrics of one configuration (a sweep row).

    Attributes:
        name: row label, e.g. ``kappa=0.3, outliers=2000``.
        params: the configuration (e.g. ``{"kappa": 0.3, "outliers": 2000}``).
        reports: one :class:`ModelReport` per seed.
    """

    name: str
    params: dict[str, Any]
    reports: list[ModelReport]

    def stats(self) -> tuple[dict[str, float], dict[str, float]]:
        """:func:`aggregate` of the reports' summaries and reverse-path metrics."""
        return aggregate([{**r.summary(), **_reverse_row(r)} for r in self.reports])


def aggregate(rows: Sequence[Mapping[str, float]]) -> tuple[dict[str, float], dict[str, float]]:
    """Per-key NaN-ignoring mean and sample standard deviation (ddof=1; 0 for one value).

    A key whose values are all NaN gets NaN for both.
    """
    keys = [k for k in rows[0] if all(k in r for r in rows)]
    mean, std = {}, {}
    for k in keys:
        values = np.array([float(r[k]) for r in rows], dtype=np.float64)
        finite = values[np.isfinite(values)]
        mean[k] = float(finite.mean()) if finite.size else float("nan")
        std[k] = (
            float(finite.std(ddof=1)) if finite.size > 1 else (0.0 if finite.size else float("nan"))
        )
    return mean, std


def _mean_report(row: AggregateRow, mean: Mapping[str, float]) -> ModelReport:
    """A stand-in report for plots: seed-mean metrics and curves pooled over seeds."""
    from flatnet_rl.evaluation.compare import PathCurves

    first = row.reports[0]

    def pooled(direction: str) -> PathCurves | None:
        curves = [getattr(r, direction) for r in row.reports]
        if any(c is None for c in curves):
            return None
        return PathCurves(
            reward=np.concatenate([c.reward for c in curves]),
            entropy=np.concatenate([c.entropy for c in curves]),
            example_probs=curves[0].example_probs,
            example_start=curves[0].example_start,
            example_end=curves[0].example_end,
            example_target=curves[0].example_target,
        )

    families = {f: {"mean_msp": mean[f"max_prob[{f}]"]} for f in EVAL_FAMILIES}
    return ModelReport(
        name=row.name,
        canvas_size=first.canvas_size,
        training=first.training,
        accuracy=mean["accuracy"],
        ece=mean["ece"],
        n_test=first.n_test,
        families=families,
        smoothness=first.smoothness,
        forward=pooled("forward"),
        reverse=pooled("reverse"),
    )


def write_sweep_report(
    rows: Sequence[AggregateRow],
    out_dir: str | Path,
    *,
    seed: int,
    n_outliers: int,
    n_paths: int,
    settings: Mapping[str, Any],
    title: str = "flatnet sweep: entropy weight x outlier exposure",
    figures: bool = True,
) -> Path:
    """``report.md``/``results.json``/PNGs for seed-averaged rows, cells ``mean ± std``."""
    from flatnet_rl.evaluation import plots

    if not rows:
        raise ValueError("need at least one sweep row")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = [row.stats() for row in rows]
    means = [m for m, _ in stats]
    stds = [s for _, s in stats]
    names = [row.name for row in rows]
    columns = list(TABLE_COLUMNS)

    figure_links: list[tuple[str, str]] = []
    if figures:
        stand_ins = [_mean_report(row, m) for row, m in zip(rows, means, strict=True)]
        errors = [{f: s[f"max_prob[{f}]"] for f in EVAL_FAMILIES} for s in stds]
        plots.plot_false_positive_bars(
            stand_ins, out / FIGURES["false_positive_bars"], errors=errors
        )
        figure_links.append(
            (
                "False-positive reward per outlier family (± std over seeds)",
                FIGURES["false_positive_bars"],
            )
        )
        plots.plot_reward_curves(stand_ins, out / FIGURES["reward_curves"])
        figure_links.append(
            ("Reward along morph paths (all seeds pooled)", FIGURES["reward_curves"])
        )
        plots.plot_tradeoff(
            names,
            [(m["accuracy"], s["accuracy"]) for m, s in zip(means, stds, strict=True)],
            [(m["max_prob"], s["max_prob"]) for m, s in zip(means, stds, strict=True)],
            out / "tradeoff.png",
        )
        figure_links.append(("Accuracy vs false-positive reward", "tradeoff.png"))

    n_seeds = sorted({len(row.reports) for row in rows})
    lines = [f"# {title}", ""]
    lines += [
        f"Grid: {', '.join(f'{k} = {v}' for k, v in settings.items())}. kappa = 0 means plain "
        "cross-entropy (`ce`), otherwise flatnet's `entropy` loss CE - kappa H(p); outliers > 0 "
        "adds outlier exposure on that many random canvases. Each cell is the mean ± sample "
        f"standard deviation over {'/'.join(map(str, n_seeds))} training seed(s).",
        "",
    ]
    lines += _data_lines(
        seed,
        n_outliers,
        n_paths,
        [r.reports[0].canvas_size for r in rows],
        rows[0].reports[0].n_test,
    )
    lines += [
        "",
        "## Results",
        "",
        markdown_table(names, means, columns, stds=stds, first_header="configuration"),
        "",
    ]
    lines += _legend(columns)
    lines += [
        "",
        "## Mean max-probability per outlier family",
        "",
        family_table(names, means, stds),
        "",
    ]
    images = [
        ("Accuracy vs false-positive reward", "tradeoff.png"),
        ("False-positive reward", FIGURES["false_positive_bars"]),
    ]
    return _write_report(
        out,
        lines,
        figure_links,
        images,
        {
            "title": title,
            "settings": dict(settings),
            "seed": seed,
            "n_outliers_per_family": n_outliers,
            "n_paths": n_paths,
            "families": list(EVAL_FAMILIES),
            "fpr_convention": FPR_CONVENTION,
            "columns": _columns_json(columns),
            "rows": [
                {
                    "name": row.name,
                    **row.params,
                    "n_seeds": len(row.reports),
                    "mean": m,
                    "std": s,
                    "runs": [r.to_dict() for r in row.reports],
                }
                for row, m, s in zip(rows, means, stds, strict=True)
            ],
        },
    )
