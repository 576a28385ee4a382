"""Figures of a model comparison (matplotlib's object API, PNG at 120 dpi).

Figures are built with ``matplotlib.figure.Figure`` directly, never through ``pyplot``, so
nothing here selects a backend or touches the user's open figures.

* :func:`plot_morph`: flatnet's plot for one model: entropy along a digit -> random morph
  path (top), the class distribution as stacked areas with the target class highlighted
  (main), and the start and end canvases beside it.
* :func:`plot_reward_curves`: mean ``p_target`` against normalised path progress for every
  model, forward (digit -> random) and reverse (random -> digit), with a 95% confidence
  band of the mean.
* :func:`plot_false_positive_bars`: mean max-probability per outlier family, one bar per
  model, with the flat level ``1/K = 0.1`` dashed.
* :func:`plot_tradeoff`: test accuracy against mean outlier max-probability (sweeps).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from flatnet_rl.evaluation.compare import ModelReport
from flatnet_rl.numerics import entropy

__all__ = [
    "DPI",
    "figure_name",
    "plot_false_positive_bars",
    "plot_morph",
    "plot_reward_curves",
    "plot_tradeoff",
]

DPI = 120


def figure_name(model_name: str) -> str:
    """A file-name-safe slug of a model name (``entropy:kappa=0.3`` -> ``entropy_kappa_0.3``)."""
    slug = re.sub(r"[^A-Za-z0-9.+-]+", "_", model_name).strip("_")
    return slug or "model"


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path


def _show_canvas(ax: Axes, canvas: np.ndarray, title: str) -> None:
    grey = canvas.ndim == 2 or canvas.shape[-1] == 1
    image = canvas[..., 0] if canvas.ndim == 3 and grey else canvas
    ax.imshow(image, cmap="gray_r" if grey else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_morph(report: ModelReport, path: str | Path, *, direction: str = "forward") -> Path:
    """flatnet-style morph plot of path 0 (the same path for every model of a comparison).

    Top: entropy of the class distribution along the path (solid), the mean over all
    paths (dashed) and ``log K`` (dotted, flat). Main: class probabilities as stacked areas,
    the target class at the bottom (so its upper edge is the reward ``p_target``), opaque
    with a black edge, the others faded. Beside it: the start
    and end canvases.
    """
    curves = report.forward if direction == "forward" else report.reverse
    if curves is None:
        raise ValueError(f"report {report.name!r} has no {direction} curves to plot")
    probs = curves.example_probs
    steps = np.arange(len(probs))
    k = probs.shape[1]
    target = curves.example_target
    ent = entropy(probs)
    mean_ent = curves.entropy.mean(axis=0)

    fig = Figure(figsize=(9.0, 5.2), layout="constrained")
    grid = fig.add_gridspec(2, 3, width_ratios=(1.1, 6, 1.1), height_ratios=(1, 3))
    ax_ent = fig.add_subplot(grid[0, 1])
    ax = fig.add_subplot(grid[1, 1], sharex=ax_ent)
    ax_start = fig.add_subplot(grid[1, 0])
    ax_end = fig.add_subplot(grid[1, 2])

    ax_ent.plot(steps, ent, color="black", lw=1.4, label="this path")
    ax_ent.plot(
        np.linspace(0, steps[-1], len(mean_ent)),
        mean_ent,
        color="tab:gray",
        ls="--",
        lw=1,
        label=f"mean of {curves.entropy.shape[0]} paths",
    )
    ax_ent.axhline(math.log(k), color="tab:green", ls=":", lw=1, label="log K (flat)")
    ax_ent.set_ylim(0, math.log(k) * 1.08)
    ax_ent.set_ylabel("entropy\n(nats)")
    # The empty top-right cell holds this legend, so it never covers the curve.
    ax_key = fig.add_subplot(grid[0, 2])
    ax_key.axis("off")
    ax_key.legend(*ax_ent.get_legend_handles_labels(), fontsize=7, loc="center", frameon=False)
    ax_ent.tick_params(labelbottom=False)

    colors = colormaps["tab10"](np.arange(k) % 10)
    bottom = np.zeros(len(probs))
    # The target is stacked first, so the top edge of its band is the reward p_target.
    for c in (target, *(c for c in range(k) if c != target)):
        top = bottom + probs[:, c]
        is_target = c == target
        ax.fill_between(
            steps,
            bottom,
            top,
            step="mid",
            color=colors[c],
            alpha=1.0 if is_target else 0.35,
            edgecolor="black" if is_target else "none",
            lw=1.0 if is_target else 0,
            label=f"{c} (target)" if is_target else str(c),
            zorder=3 if is_target else 2,
        )
        bottom = top
    ax.set_xlim(0, max(steps[-1], 1))
    ax.set_ylim(0, 1)
    ax.set_xlabel(
        "pixel flips" + (" (digit -> random)" if direction == "forward" else " (random -> digit)")
    )
    ax.set_ylabel("class probability (stacked,\ntarget at the bottom)")
    handles, labels = ax.get_legend_handles_labels()
    order = np.argsort([int(label.split()[0]) for label in labels])  # legend in class order
    fig.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="outside lower center",
        ncol=min(k, 10),
        fontsize=8,
        frameon=False,
    )

    start_title = f"start: class {target}" if direction == "forward" else "start: random"
    end_title = "end: random" if direction == "forward" else f"end: class {target}"
    _show_canvas(ax_start, curves.example_start, start_title)
    _show_canvas(ax_end, curves.example_end, end_title)
    fig.suptitle(f"{report.name}: class distribution along a morph path", fontsize=11)
    return _save(fig, path)


def _model_colors(n: int) -> np.ndarray:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return cmap(np.arange(n) % cmap.N)


def plot_reward_curves(reports: Sequence[ModelReport], path: str | Path) -> Path:
    """Mean ``p_target`` vs normalised progress for every model.

    The band is a 95% confidence interval of the mean (``mean ± 1.96 * std / sqrt(P)`` over
    the ``P`` paths): with many models, spread bands (quartiles) overlap into one blur,
    while this band shows where two models' mean curves really differ.
    """
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colors = _model_colors(len(reports))
    for ax, direction in zip(axes, ("forward", "reverse"), strict=True):
        for report, color in zip(reports, colors, strict=True):
            curves = report.forward if direction == "forward" else report.reverse
            if curves is None:
                continue
            x = curves.progress
            ax.plot(x, curves.reward.mean(axis=0), color=color, lw=1.6, label=report.name)
            mean = curves.reward.mean(axis=0)
            half = 1.96 * curves.reward.std(axis=0, ddof=1) / math.sqrt(len(curves.reward))
            if len(curves.reward) > 1:
                ax.fill_between(x, mean - half, mean + half, color=color, alpha=0.2, lw=0)
        ax.axhline(1 / reports[0].num_classes, color="black", ls="--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
        ax.set_xlabel(
            "progress (0 = test image, 1 = random image)"
            if direction == "forward"
            else "progress (0 = random image, 1 = test image)"
        )
        ax.set_title(
            "image -> random (reward should fall smoothly to 1/K)"
            if direction == "forward"
            else "random -> image (reward should rise smoothly from 1/K)",
            fontsize=10,
        )
    axes[0].set_ylabel("p_target (mean, band = 95% CI)")
    axes[1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, path)


def plot_false_positive_bars(
    reports: Sequence[ModelReport],
    path: str | Path,
    *,
    errors: Sequence[dict[str, float]] | None = None,
) -> Path:
    """Grouped bars: one group per outlier family, one bar per model, mean max-probability.

    ``errors`` (optional, one dict family -> value per report) draws error bars, e.g. the
    standard deviation over seeds in a sweep.
    """
    families = [f for f in reports[0].families if all(f in r.families for r in reports)]
    n = len(reports)
    width = 0.8 / max(n, 1)
    x = np.arange(len(families))
    fig = Figure(
        figsize=(max(8.0, 1.1 * len(families) + 0.25 * n * len(families) / 2), 4.4),
        layout="constrained",
    )
    ax = fig.subplots()
    colors = _model_colors(n)
    for i, (report, color) in enumerate(zip(reports, colors, strict=True)):
        values = [report.families[f]["mean_msp"] for f in families]
        yerr = None if errors is None else [errors[i].get(f, 0.0) for f in families]
        ax.bar(
            x + (i - (n - 1) / 2) * width,
            values,
            width,
            color=color,
            label=report.name,
            yerr=yerr,
            capsize=2 if yerr else 0,
            error_kw={"lw": 0.8},
        )
    flat = 1 / reports[0].num_classes
    ax.axhline(flat, color="black", ls="--", lw=1, label=f"flat (1/K = {flat:.2g})")
    ax.set_xticks(x, families, rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean max-probability (lower = flatter)")
    ax.set_title("False-positive reward on outlier images", fontsize=11)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, path)


def plot_tradeoff(
    names: Sequence[str],
    accuracy: Sequence[tuple[float, float]],
    max_prob: Sequence[tuple[float, float]],
    path: str | Path,
    flat: float = 0.1,
) -> Path:
    """Test accuracy vs mean outlier max-probability, ``(mean, std)`` pairs with error bars."""
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.subplots()
    colors = _model_colors(len(names))
    for name, (acc, acc_sd), (mp, mp_sd), color in zip(
        names, accuracy, max_prob, colors, strict=True
    ):
        ax.errorbar(mp, acc, xerr=mp_sd, yerr=acc_sd, fmt="o", color=color, label=name, capsize=3)
    ax.axvline(flat, color="black", ls="--", lw=0.8, label=f"flat ({flat:.2g})")
    ax.set_xlabel("mean max-probability on outliers (lower = flatter)")
    ax.set_ylabel("test accuracy")
    ax.set_title("Accuracy vs false-positive reward (mean ± std over seeds)", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, path)


def plot_overoptimization(rows: dict[str, dict], path: str | Path) -> Path:
    """One panel per reward model: proxy and judge ``p_target`` of evaluation episodes
    against training steps, mean over seeds with a 95% CI band (Gao et al. 2022)."""
    n = len(rows)
    fig = Figure(figsize=(3.6 * n, 3.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, n, sharey=True, squeeze=False)[0])
    for ax, (model, row) in zip(axes, rows.items(), strict=True):
        curve = row["curve"]
        steps = np.asarray(curve["timesteps"], dtype=float)
        for key, label, color in (
            ("proxy_p_target", "proxy (reward model)", "tab:orange"),
            ("judge_p_target", "judges (gold)", "tab:blue"),
        ):
            band = curve[key]
            ax.plot(steps, band["mean"], color=color, lw=1.6, label=label)
            ax.fill_between(steps, band["low"], band["high"], color=color, alpha=0.2, lw=0)
        ax.set_title(f"{model} ({len(row['seeds'])} seeds)", fontsize=9)
        ax.set_xlabel("training steps")
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("p_target of final images")
    axes[-1].legend(fontsize=8, loc="lower right")
    fig.suptitle("Overoptimization: proxy vs judges during training (band: 95% CI)", fontsize=10)
    return _save(fig, path)


def plot_iqm(rows: dict[str, dict], path: str | Path) -> Path:
    """IQM with 95% stratified bootstrap CIs of judge p_target and fooling rate per reward."""
    fig = Figure(figsize=(9.0, 0.6 * len(rows) + 1.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    names = list(rows)
    y = np.arange(len(names))[::-1]
    colors = _model_colors(len(names))
    for ax, key, label in (
        (axes[0], "judge_p_target", "judge p_target (higher is better)"),
        (axes[1], "fooling_rate", "fooling rate (lower is better)"),
    ):
        for yi, name, color in zip(y, names, colors, strict=True):
            s = rows[name][key]
            ax.errorbar(
                s["iqm"],
                yi,
                xerr=[[s["iqm"] - s["iqm_low"]], [s["iqm_high"] - s["iqm"]]],
                fmt="o",
                color=color,
                capsize=4,
            )
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"IQM, {label}")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, names)
    fig.suptitle("Agents per reward model: IQM over seeds x classes, 95% CI", fontsize=10)
    return _save(fig, path)
