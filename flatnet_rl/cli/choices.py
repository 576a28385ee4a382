"""The names and limits the command line offers, here so that parsing, ``--help`` and
argument errors need no torch (importing it, torchvision, scikit-learn and Stable-Baselines3
takes 5 s or more on two cores).

Each value mirrors the library's own, named in :data:`MIRRORS`;
``tests/test_cli_startup.py`` checks every one against its source, so they cannot drift
apart unnoticed.
"""

from __future__ import annotations

# data
DATA_SOURCES = ("digits", "mnist5k", "mnist", "images")
MIN_SIDE = 4
MAX_SIDE = 1024
OUTLIER_FAMILIES = ("bernoulli", "inverted", "shuffled", "scribble", "blocks", "lines")
IMAGE_OUTLIER_FAMILIES = ("noise", "blobs", "inverted", "shuffled", "scribble", "blocks")
# models, objectives, training
ARCHITECTURES = ("dropmax", "flatnet", "flatnet_lite", "lenet", "mlp")
TIMM_PREFIX = "timm:"
CLIP_PARTS = ("text", "head")
LOSSES = (
    "ce",
    "entropy",
    "entropy_hinge",
    "label_smoothing",
    "logitnorm",
    "min_ent",
    "mix_ent",
    "pc_softmax",
    "dropmax",
)
#: Defaults of :class:`flatnet_rl.losses.Objective` that the command line shows.
OBJECTIVE_DEFAULTS = {
    "hinge_beta": 0.5,
    "hinge_gamma": 0.5,
    "smoothing": 0.1,
    "tau": 0.04,
    "b1": 1.0,
    "b2": 0.3,
    "outlier_weight": 0.5,
}
MAX_EPOCHS = 100_000
MAX_OUTLIERS = 10_000_000
# rewards, envs, agents
REWARD_MODES = ("prob", "log_prob", "pmi", "delta", "delta_log", "final", "entropy")
ACTION_MODES = ("pixel", "pen", "stroke")
STARTS = ("blank", "noise", "digit", "partial", "stroke", "demo")
MIN_CANVAS = 4
MAX_CANVAS = 64
REWARD_SCORING = ("rollout", "step")

#: Where each value comes from: name here -> (module, name there).
MIRRORS: dict[str, tuple[str, str]] = {
    "DATA_SOURCES": ("flatnet_rl.data.labelled", "SOURCES"),
    "MIN_SIDE": ("flatnet_rl.data.images", "MIN_SIDE"),
    "MAX_SIDE": ("flatnet_rl.data.images", "MAX_SIDE"),
    "OUTLIER_FAMILIES": ("flatnet_rl.data.outliers", "FAMILIES"),
    "IMAGE_OUTLIER_FAMILIES": ("flatnet_rl.data.outliers", "IMAGE_FAMILIES"),
    "ARCHITECTURES": ("flatnet_rl.models", "ARCHITECTURES"),  # its keys, sorted
    "TIMM_PREFIX": ("flatnet_rl.models", "TIMM_PREFIX"),
    "CLIP_PARTS": ("flatnet_rl.clip.net", "PARTS"),
    "LOSSES": ("flatnet_rl.losses", "LOSSES"),
    "MAX_EPOCHS": ("flatnet_rl.training.trainer", "MAX_EPOCHS"),
    "MAX_OUTLIERS": ("flatnet_rl.training.trainer", "MAX_OUTLIERS"),
    "REWARD_MODES": ("flatnet_rl.reward.spec", "MODES"),
    "ACTION_MODES": ("flatnet_rl.envs.paint", "ACTION_MODES"),
    "STARTS": ("flatnet_rl.envs.paint", "STARTS"),
    "MIN_CANVAS": ("flatnet_rl.envs.paint", "MIN_CANVAS"),
    "MAX_CANVAS": ("flatnet_rl.envs.paint", "MAX_CANVAS"),
    "REWARD_SCORING": ("flatnet_rl.agents.config", "REWARD_SCORING"),
}
