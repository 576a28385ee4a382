"""Table columns: the single place where a metric's label, direction and meaning live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Column:
    """One column of a results table.

    Attributes:
        key: key in :meth:`~flatnet_rl.evaluation.compare.ModelReport.summary`.
        label: column header in the markdown table.
        better: ``"lower"`` or ``"higher"`` is better, or ``None`` (no best value marked).
        description: one-line definition for the report's legend.
        fmt: format spec of a value.
    """

    key: str
    label: str
    better: Literal["lower", "higher"] | None
    description: str
    fmt: str = ".3f"


#: The main comparison table, one row per model (definitions in docs/methods.md).
TABLE_COLUMNS: tuple[Column, ...] = (
    Column("accuracy", "accuracy", "higher", "top-1 accuracy on the test images"),
    Column("ece", "ECE", "lower", "expected calibration error on the test images, 15 bins"),
    Column(
        "max_prob",
        "max-prob",
        "lower",
        "mean max-probability on outlier images, mean over families (1/K = flat)",
    ),
    Column(
        "fpr95",
        "FPR95",
        "lower",
        "FPR at 95% TPR of the max-probability, class-positive, mean over families",
    ),
    Column(
        "auroc",
        "AUROC",
        "higher",
        "AUROC of the max-probability, test images vs outliers, mean over families",
    ),
    Column(
        "tv_ratio",
        "TV ratio",
        "lower",
        "total variation / net change of p_target along image -> random morph paths (1 = monotone)",
    ),
    Column(
        "autocorr",
        "autocorr",
        "higher",
        "lag-1 autocorrelation of the reward increments along the morph paths "
        "(+1 = persistent trend, 0 = noise)",
    ),
    Column(
        "argmax_flips",
        "argmax flips",
        "lower",
        "changes of the predicted class along a morph path",
        ".2f",
    ),
)
#: Extra columns when reward-hacking results are given (the agents' metrics schema).
HACKING_COLUMNS: tuple[Column, ...] = (
    Column("proxy_p_target", "proxy", None, "mean proxy p_target of the agents' final images"),
    Column("judge_p_target", "judge", "higher", "mean judge p_target of the same images"),
    Column("gap", "gap", "lower", "proxy - judge (> 0: the proxy is over-optimised)"),
    Column(
        "fooling_rate",
        "fooling",
        "lower",
        "episodes with proxy p_target >= 0.9 and judge p_target < 0.5",
    ),
)
#: The morph paths run backwards (random -> image).
REVERSE_COLUMNS: tuple[Column, ...] = (
    Column("reverse_tv_ratio", "TV ratio", "lower", "as TV ratio, on reverse paths"),
    Column("reverse_autocorr", "autocorr", "higher", "as autocorr, on reverse paths"),
    Column("reverse_argmax_flips", "argmax flips", "lower", "as argmax flips", ".2f"),
    Column(
        "reverse_entropy_start",
        "entropy at random start",
        "higher",
        "mean entropy on the random image (log K is flat)",
    ),
    Column("reverse_entropy_end", "entropy at image", None, "mean entropy on the test image"),
)


def family_columns(families: tuple[str, ...] | list[str]) -> list[Column]:
    """One max-probability column per outlier family."""
    return [Column(f"max_prob[{f}]", f, "lower", f"mean max-probability on {f}") for f in families]
