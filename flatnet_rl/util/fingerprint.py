"""Fingerprints of inputs by what they hold, not where they are: caches, stored reports and
resumed runs are keyed by them, so changed inputs are never answered from the past."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def path_fingerprint(path: str | Path) -> str:
    """A file's SHA-256, or a folder's fingerprint: every visible file's relative path,
    size, modification time and inode (so a swap of two class folders, an edited or an
    added image all change it; hidden files, which the loaders skip, do not).

    Raises:
        FileNotFoundError: nothing at ``path``.
    """
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist")
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(f for f in files if not f.startswith(".")):
            full = Path(folder, name)
            stat = full.stat()
            entry = f"{full.relative_to(path).as_posix()}\0{stat.st_size}\0{stat.st_mtime_ns}"
            digest.update(f"{entry}\0{stat.st_ino}\n".encode())
    return digest.hexdigest()
