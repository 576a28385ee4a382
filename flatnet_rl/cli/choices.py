"""The names the command line offers that no config field declares, here so that parsing,
``--help`` and argument errors need no torch (importing it, torchvision, scikit-learn and
Stable-Baselines3 takes 5 s or more on two cores). The options of config fields come from
the dataclasses themselves (:mod:`flatnet_rl.cli.config_options`).

Each value mirrors the library's own, named in :data:`MIRRORS`;
``tests/test_cli_startup.py`` checks every one against its source, so they cannot drift
apart unnoticed.
"""

from __future__ import annotations

OUTLIER_FAMILIES = ("bernoulli", "inverted", "shuffled", "scribble", "blocks", "lines")
IMAGE_OUTLIER_FAMILIES = ("noise", "blobs", "inverted", "shuffled", "scribble", "blocks")
ARCHITECTURES = ("dropmax", "flatnet", "flatnet_lite", "lenet", "mlp")
TIMM_PREFIX = "timm:"
STARTS = ("blank", "noise", "digit", "partial", "stroke", "demo")

#: Where each value comes from: name here -> (module, name there).
MIRRORS: dict[str, tuple[str, str]] = {
    "OUTLIER_FAMILIES": ("flatnet_rl.data.outliers", "FAMILIES"),
    "IMAGE_OUTLIER_FAMILIES": ("flatnet_rl.data.outliers", "IMAGE_FAMILIES"),
    "ARCHITECTURES": ("flatnet_rl.models", "ARCHITECTURES"),  # its keys, sorted
    "TIMM_PREFIX": ("flatnet_rl.models", "TIMM_PREFIX"),
    "STARTS": ("flatnet_rl.envs.paint", "STARTS"),
}
