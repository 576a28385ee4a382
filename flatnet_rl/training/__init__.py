"""Training classifiers (any objective, any labelled images) and naming models by specs."""

from flatnet_rl.training.specs import (
    SPEC_KEYS,
    config_from_spec,
    parse_model_spec,
    resolve_model_spec,
    spec_hash,
    train_cached,
)
from flatnet_rl.training.trainer import (
    EVAL_RANDOM,
    EVAL_SEED,
    TrainConfig,
    TrainResult,
    config_from_dict,
    eval_random_canvases,
    eval_random_images,
    quick_metrics,
    train_classifier,
)

__all__ = [
    "EVAL_RANDOM",
    "EVAL_SEED",
    "SPEC_KEYS",
    "TrainConfig",
    "TrainResult",
    "config_from_dict",
    "config_from_spec",
    "eval_random_canvases",
    "eval_random_images",
    "parse_model_spec",
    "quick_metrics",
    "resolve_model_spec",
    "spec_hash",
    "train_cached",
    "train_classifier",
]
