"""JSON that survives numpy and NaN: strict JSON has neither."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """Plain JSON types; NaN/inf become ``None``; numpy scalars and arrays become Python."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def write_json(path: str | Path, payload: Any) -> Path:
    """Write ``json_safe(payload)`` indented, with a trailing newline."""
    path = Path(path)
    path.write_text(json.dumps(json_safe(payload), indent=2, allow_nan=False) + "\n")
    return path
