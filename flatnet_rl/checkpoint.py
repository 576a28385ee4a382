"""Safe classifier checkpoints: safetensors weights + JSON metadata in one file.

The metadata travels in the safetensors header (``__metadata__["flatnet_rl"]``, a JSON
string), so one atomic rename publishes weights and metadata together, and loading never
unpickles anything: safetensors holds raw tensors only.

Integrity: every tensor must be finite (checked at save and at load, naming the tensor),
and the metadata that says how to use the weights (architecture, input spec, class names
and, from format 3, the evaluation-only flag of a judge) is bound to them by a SHA-256
``fingerprint`` over both, so an edited ``canvas_size``, a judge edited into a reward model
or a swapped weight is refused instead of producing a silent wrong reward. Identical training
writes identical bytes (no timestamps or timings inside).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

FORMAT = "flatnet-rl/classifier"
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
_META_KEY = "flatnet_rl"
REQUIRED_KEYS = {
    1: ("format", "format_version", "arch", "canvas_size", "num_classes"),
    2: ("format", "format_version", "arch", "input", "class_names", "fingerprint"),
    3: ("format", "format_version", "arch", "input", "class_names", "fingerprint"),
}
#: Per format version, the metadata covered by the fingerprint: what the weights mean and,
#: from version 3, whether they may be a reward at all (a judge edited into a reward model
#: is refused). Each version verifies with its own set, so older files still load.
BOUND_KEYS = {
    2: ("arch", "input", "class_names"),
    3: ("arch", "input", "class_names", "evaluation_only"),
}


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupt, inconsistent or of an unknown version."""


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file normal permissions
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def non_finite_tensors(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of floating-point tensors holding NaN or inf."""
    return [
        name
        for name, t in tensors.items()
        if t.is_floating_point() and not bool(torch.isfinite(t).all())
    ]


def is_evaluation_only(metadata: dict[str, Any]) -> bool:
    """Whether metadata marks a judge (evaluation only, never a reward); a missing flag is
    ``False``. The one reading of the flag, for the fingerprint and for the classifier."""
    return bool(metadata.get("evaluation_only", False))


def fingerprint(tensors: dict[str, torch.Tensor], metadata: dict[str, Any]) -> str:
    """SHA-256 over the bound metadata (:data:`BOUND_KEYS` of the metadata's format version,
    this version's when it names none) and every tensor's name, dtype, shape and bytes, in
    name order."""
    digest = hashlib.sha256()
    keys = BOUND_KEYS[metadata.get("format_version", FORMAT_VERSION)]
    bound = {k: metadata.get(k) for k in keys}
    if "evaluation_only" in bound:
        # Bound as it is read: a missing flag and ``false`` are the same fact.
        bound["evaluation_only"] = is_evaluation_only(metadata)
    if isinstance(bound["input"], dict):
        # "steps" is a readable rendering of the other fields, not a fact of its own.
        bound["input"] = {k: v for k, v in bound["input"].items() if k != "steps"}
    digest.update(json.dumps(bound, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        # Flat first: a 0-dim tensor (BatchNorm's int64 num_batches_tracked) has no last
        # axis to reinterpret as bytes; the bytes of every other tensor are unchanged.
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, tuple | np.ndarray):
        return list(value)
    raise TypeError(f"metadata value {value!r} is not JSON serializable")


def _check_json_finite(value: Any, where: str = "metadata") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"checkpoint {where} holds a non-finite number {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_json_finite(v, f"{where}[{k!r}]")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_json_finite(v, f"{where}[{i}]")


def save_checkpoint(path: str | Path, state_dict: dict[str, torch.Tensor], metadata: dict) -> Path:
    """Write weights and metadata atomically; returns the path written.

    Raises:
        ValueError: non-finite weights (named) or metadata, or missing required keys.
    """
    path = Path(path)
    # Own copies: tied weights (one tensor under two names) are saved once per name, as
    # safetensors requires, and load back into the tied module as they were.
    tensors = {
        k: v.detach().to("cpu").clone(memory_format=torch.contiguous_format)
        for k, v in state_dict.items()
    }
    bad = non_finite_tensors(tensors)
    if bad:
        raise ValueError(f"refusing to save non-finite weights: NaN or inf in {bad}")
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    meta["format_version"] = FORMAT_VERSION
    meta = json.loads(json.dumps(meta, default=_json_default))  # tuples -> lists, numpy -> py
    _check_json_finite(meta)
    meta["fingerprint"] = fingerprint(tensors, meta)
    missing = [k for k in REQUIRED_KEYS[FORMAT_VERSION] if k not in meta]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    header = {_META_KEY: json.dumps(meta, sort_keys=True, allow_nan=False)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))
    return path


def check_checkpoint_file(path: Path) -> None:
    """``path`` names a readable file: the one message for a folder, a missing or an
    unreadable checkpoint, wherever a checkpoint path is taken.

    Raises:
        CheckpointError: a directory, a missing path or an unreadable file.
    """
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, expected a .safetensors checkpoint file")
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if not os.access(path, os.R_OK):
        raise CheckpointError(f"checkpoint {path} is not readable (permission denied)")


def read_metadata(path: str | Path) -> dict:
    """The JSON metadata of a checkpoint, checked for format and keys, without the weights."""
    path = Path(path)
    check_checkpoint_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint {path} is not a readable safetensors file: {err}"
        ) from err
    if _META_KEY not in header:
        raise CheckpointError(f"{path} is a safetensors file but not a flatnet-rl checkpoint")
    try:
        meta = json.loads(header[_META_KEY])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"checkpoint {path} has corrupt metadata: {err}") from err
    except RecursionError:
        raise CheckpointError(f"checkpoint {path} has metadata nested too deeply") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a flatnet-rl classifier checkpoint")
    version = meta.get("format_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise CheckpointError(
            f"checkpoint {path} has format version {version!r}, this flatnet-rl reads "
            f"versions {list(READABLE_VERSIONS)}; retrain or upgrade flatnet-rl"
        )
    missing = [k for k in REQUIRED_KEYS[version] if k not in meta]
    if missing:
        raise CheckpointError(f"checkpoint {path} metadata lacks {missing}")
    return meta


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Weights and metadata, verified; raises :class:`CheckpointError` on any problem."""
    meta = read_metadata(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iter)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"checkpoint {path} has corrupt weights: {err}") from err
    bad = non_finite_tensors(tensors)
    if bad:
        raise CheckpointError(f"checkpoint {path} has non-finite weights (NaN or inf) in {bad}")
    version = meta["format_version"]
    if version >= 2 and fingerprint(tensors, meta) != meta["fingerprint"]:
        raise CheckpointError(
            f"checkpoint {path}: its metadata ({', '.join(BOUND_KEYS[version])}) does not match "
            "its weights (fingerprint mismatch): the file was edited or corrupted"
        )
    return tensors, meta
