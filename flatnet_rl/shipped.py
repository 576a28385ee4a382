"""The shipped models (the zoo): where their files are, the manifest recording how each was
made and what it is for (``role``: reward or judge), and the names that stand for them.

Torch-free: run configs check a model name against the manifest before any model loads.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ZOO_DIR = Path(__file__).parent / "zoo"
MANIFEST = ZOO_DIR / "manifest.json"


@lru_cache(maxsize=1)
def zoo_manifest() -> dict[str, dict[str, Any]]:
    """The shipped models: name -> {file, command, role, metrics, ...}."""
    if not MANIFEST.is_file():
        return {}
    return json.loads(MANIFEST.read_text())


@lru_cache(maxsize=1)
def zoo_judge_fingerprints() -> frozenset[str]:
    """Fingerprints of the shipped judges (manifest role ``judge``), read from their headers.

    The zoo files are format 2, whose fingerprint does not cover ``evaluation_only``; an
    edit of that flag leaves the fingerprint as it was, so matching it finds the judge.
    """
    from flatnet_rl.checkpoint import read_metadata

    found: set[str | None] = set()
    for entry in zoo_manifest().values():
        path = ZOO_DIR / entry["file"]
        if entry.get("role") == "judge" and path.is_file():
            found.add(read_metadata(path).get("fingerprint"))
    return frozenset(found - {None})


def zoo_name(base: str, canvas: int) -> str:
    """The shipped model of a recipe for a canvas side: ``flatnet`` at 8, ``flatnet-28`` ..."""
    return base if canvas == 8 else f"{base}-{canvas}"


def checkpoint_path(name_or_path: str | Path) -> Path:
    """The checkpoint file of a zoo name (``"flatnet"``, ``"judge-28"``, ...) or a path.

    Raises:
        CheckpointError: a zoo model that is listed but whose file is missing; a directory or
            an unreadable file.
        ValueError: neither a zoo name nor an existing path.
    """
    from flatnet_rl.checkpoint import CheckpointError, check_checkpoint_file

    zoo = zoo_manifest()
    if isinstance(name_or_path, str) and name_or_path in zoo:
        path = ZOO_DIR / zoo[name_or_path]["file"]
        if not path.is_file():
            raise CheckpointError(
                f"zoo model {name_or_path!r} is listed but {path} is missing: reinstall flatnet-rl"
            )
        return path
    path = Path(name_or_path)
    if path.exists():
        check_checkpoint_file(path)  # a folder is named as one, not as a missing file
        return path
    raise ValueError(
        f"unknown classifier {str(name_or_path)!r}: not a zoo model "
        f"({', '.join(sorted(zoo)) or 'none'}) and no such checkpoint file"
    )
