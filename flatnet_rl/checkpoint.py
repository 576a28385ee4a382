"""Safe classifier checkpoints: safetensors weights + JSON metadata in one file.

The metadata travels in the safetensors header (``__metadata__["flatnet_rl"]``, a JSON
string), so one atomic rename publishes weights and metadata together, and loading
never unpickles anything: safetensors holds raw tensors only.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

FORMAT = "flatnet-rl/classifier"
FORMAT_VERSION = 1
_META_KEY = "flatnet_rl"
REQUIRED_KEYS = ("format", "format_version", "arch", "canvas_size", "num_classes")


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated, corrupt, or incompatible with this version."""


def atomic_write(path: Path, write: Any) -> None:
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


def save_checkpoint(path: str | Path, state_dict: dict[str, torch.Tensor], metadata: dict) -> Path:
    """Write weights and metadata atomically; returns the path written."""
    path = Path(path)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {missing}")
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state_dict.items()}
    header = {_META_KEY: json.dumps(meta, sort_keys=True)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=header))
    return path


def read_metadata(path: str | Path) -> dict:
    """The JSON metadata of a checkpoint, validated, without loading the weights."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
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
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a flatnet-rl classifier checkpoint")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {path} has format version {meta.get('format_version')}, this "
            f"flatnet-rl reads version {FORMAT_VERSION}; retrain or upgrade flatnet-rl"
        )
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if missing:
        raise CheckpointError(f"checkpoint {path} metadata lacks {missing}")
    return meta


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Weights and metadata; raises :class:`CheckpointError` on any problem."""
    meta = read_metadata(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iter)
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"checkpoint {path} has corrupt weights: {err}") from err
    return tensors, meta
