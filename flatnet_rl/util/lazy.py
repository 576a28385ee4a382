"""Package facades that import a name's module on first use (PEP 562).

``import flatnet_rl`` (and ``flatnet-rl --help``) must not pay for torch, torchvision,
scikit-learn and Stable-Baselines3, about 5 s on two cores; ``flatnet_rl.Classifier`` still
works, its module being imported on first access.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for a package exporting, for each module,
    the names listed for it (``{"flatnet_rl.envs.paint": ("PaintEnv",), ...}``)."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next access is a plain lookup
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return sorted(where), __getattr__, __dir__
