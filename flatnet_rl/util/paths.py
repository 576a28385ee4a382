"""Output paths checked before any work starts, so a mistake never costs a finished result."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_dir(folder: str | Path) -> Path:
    """A folder that exists and is writable, or that can be created.

    Raises:
        ValueError: a file is in the way, or no file can be created in the folder (or in its
            nearest existing parent): proved by creating and removing one, before any work.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"output folder {folder} is a file")
    anchor = _first_existing(folder.absolute())
    if not anchor.is_dir():
        raise ValueError(f"cannot create output folder {folder}: {anchor} is a file")
    # os.access proves nothing for root, on /proc or on a read-only mount: create and remove
    # a file where the first new entry (the output or its first missing folder) would go.
    try:
        with tempfile.NamedTemporaryFile(prefix=".flatnet-rl-probe-", dir=anchor):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise ValueError(
            f"cannot write to output folder {folder}: cannot create files in {anchor} ({reason})"
        ) from err
    return folder


def check_writable_file(
    path: str | Path, *, overwrite: bool = True, suffix: str | None = None
) -> Path:
    """A file path that can be written: not a folder, parent creatable and writable, and (with
    ``overwrite=False``) not an existing file. ``suffix`` (e.g. ``.safetensors``) is required.

    Raises:
        ValueError: the path cannot be written.
        FileExistsError: it exists and ``overwrite`` is off.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"output {path} is a folder, expected a file path")
    if suffix is not None and path.suffix != suffix:
        raise ValueError(f"output {path} must end in {suffix}")
    check_writable_dir(path.parent if str(path.parent) else Path("."))
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: pass --overwrite to replace it")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"cannot write {path}: permission denied")
    return path
