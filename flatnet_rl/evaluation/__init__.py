"""Evaluation: metrics, flatnet's morph paths, model comparison, sweeps, plots and reports."""

from flatnet_rl.evaluation.compare import ModelReport, evaluate_models, resolve_model_spec
from flatnet_rl.evaluation.metrics import (
    auroc,
    expected_calibration_error,
    fooling_rate,
    fpr_at_tpr,
    hacking_summary,
    smoothness_summary,
    total_variation_ratio,
)
from flatnet_rl.evaluation.morph import morph_path, morph_paths

__all__ = [
    "ModelReport",
    "auroc",
    "evaluate_models",
    "expected_calibration_error",
    "fooling_rate",
    "fpr_at_tpr",
    "hacking_summary",
    "morph_path",
    "morph_paths",
    "resolve_model_spec",
    "smoothness_summary",
    "total_variation_ratio",
]
