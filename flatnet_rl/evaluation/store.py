"""Model reports on disk (JSON metrics + ``.npz`` curves, no pickle): what makes a grid of
jobs resumable on any engine. A job that finds its stored report returns it instead of
training and evaluating again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from flatnet_rl.checkpoint import atomic_write
from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.evaluation.compare import ModelReport, PathCurves
from flatnet_rl.util.jsonio import json_safe

_CURVE_FIELDS = ("reward", "entropy", "example_probs", "example_start", "example_end")


def _nan(value: Any) -> Any:
    """``None`` (how JSON stores NaN) back to NaN, recursively."""
    if value is None:
        return float("nan")
    if isinstance(value, dict):
        return {k: _nan(v) for k, v in value.items()}
    return value


def save_report(report: ModelReport, base: str | Path) -> None:
    """``<base>.json`` (metrics) and ``<base>.npz`` (curves), each written atomically."""
    base = Path(base)
    arrays: dict[str, np.ndarray] = {}
    for direction in ("forward", "reverse"):
        curves = getattr(report, direction)
        if curves is None:
            continue
        for name in _CURVE_FIELDS:
            arrays[f"{direction}.{name}"] = np.asarray(getattr(curves, name))
        arrays[f"{direction}.example_target"] = np.asarray(curves.example_target)

    def write_arrays(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a file object: np.savez would append ".npz" to a name
            np.savez(handle, **arrays)

    atomic_write(base.with_suffix(".npz"), write_arrays)
    payload = json.dumps(json_safe(report.to_dict()), indent=1, allow_nan=False)
    atomic_write(base.with_suffix(".json"), lambda tmp: tmp.write_text(payload))


def load_report(base: str | Path) -> ModelReport | None:
    """The stored report at ``base``, or ``None`` when it is missing or unreadable."""
    base = Path(base)
    try:
        values = json.loads(base.with_suffix(".json").read_text())
        with np.load(base.with_suffix(".npz"), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    curves = {}
    for direction in ("forward", "reverse"):
        if f"{direction}.reward" in arrays:
            curves[direction] = PathCurves(
                **{name: arrays[f"{direction}.{name}"] for name in _CURVE_FIELDS},
                example_target=int(arrays[f"{direction}.example_target"]),
            )
    return ModelReport(
        name=values["name"],
        canvas_size=values["canvas_size"],
        training=values["training"],
        accuracy=values["digits"]["accuracy"],
        ece=values["digits"]["ece"],
        n_test=values["digits"]["n_test"],
        families={k: _nan(v) for k, v in values["families"].items()},
        smoothness=_nan(values["smoothness"]),
        hacking=values["hacking"],
        # Reports from before num_classes was stored are of the digit models.
        num_classes=values.get("num_classes", NUM_CLASSES),
        forward=curves.get("forward"),
        reverse=curves.get("reverse"),
    )
