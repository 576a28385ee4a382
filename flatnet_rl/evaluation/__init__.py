"""Evaluation: metrics, flatnet's morph paths, the evaluation data, model comparison,
sweeps and agent comparisons on engines, tables, plots and reports."""

from flatnet_rl.evaluation.compare import ModelReport, evaluate_models, evaluate_spec
from flatnet_rl.evaluation.data import EVAL_FAMILIES, EvalData, build_eval_data
from flatnet_rl.evaluation.metrics import (
    auroc,
    expected_calibration_error,
    fpr_at_tpr,
    smoothness_summary,
    total_variation_ratio,
)
from flatnet_rl.evaluation.morph import morph_path, morph_paths

__all__ = [
    "EVAL_FAMILIES",
    "EvalData",
    "ModelReport",
    "auroc",
    "build_eval_data",
    "evaluate_models",
    "evaluate_spec",
    "expected_calibration_error",
    "fpr_at_tpr",
    "morph_path",
    "morph_paths",
    "smoothness_summary",
    "total_variation_ratio",
]
