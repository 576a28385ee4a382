"""Training classifiers (any objective, any labelled images) and naming models by specs.

Names are imported on first use (:mod:`flatnet_rl.util.lazy`): the command line reads
the config dataclasses without torch.
"""

from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.training.specs": (
            "SPEC_KEYS",
            "config_from_spec",
            "parse_model_spec",
            "spec_hash",
            "train_cached",
        ),
        "flatnet_rl.training.model_specs": ("check_model_spec", "resolve_model_spec"),
        "flatnet_rl.training.trainer": (
            "EVAL_RANDOM",
            "EVAL_SEED",
            "TrainConfig",
            "TrainResult",
            "config_from_dict",
            "eval_random_canvases",
            "eval_random_images",
            "quick_metrics",
            "train_classifier",
        ),
    },
)
