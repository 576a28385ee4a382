"""Evaluation: metrics, flatnet's morph paths, the evaluation data, model comparison,
sweeps and agent comparisons on engines, tables, plots and reports. Names are imported on
first use (:mod:`flatnet_rl.util.lazy`)."""

from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.evaluation.compare": ("ModelReport", "evaluate_models", "evaluate_spec"),
        "flatnet_rl.evaluation.data": ("EVAL_FAMILIES", "EvalData", "build_eval_data"),
        "flatnet_rl.evaluation.metrics": ("auroc", "expected_calibration_error", "fpr_at_tpr"),
        "flatnet_rl.evaluation.smoothness": ("smoothness_summary", "total_variation_ratio"),
        "flatnet_rl.evaluation.morph": ("morph_path", "morph_paths"),
    },
)
