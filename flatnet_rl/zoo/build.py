"""Rebuild the shipped models from the commands in ``manifest.json``.

    python -m flatnet_rl.zoo.build            # all models
    python -m flatnet_rl.zoo.build flatnet    # one

Run from the repository root (the commands write to ``flatnet_rl/zoo/``). Each model's
metrics and SHA-256 are written back into the manifest, so the README's numbers and the
shipped files always come from these commands.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from pathlib import Path

from flatnet_rl.checkpoint import read_metadata

MANIFEST = Path(__file__).with_name("manifest.json")


def command_args(command: str, out: str | Path | None = None) -> list[str]:
    """The manifest command as ``flatnet-rl`` arguments, optionally with another ``--out``."""
    args = shlex.split(command)
    if args[0] != "flatnet-rl":
        raise ValueError(f"manifest command must start with flatnet-rl: {command}")
    args = args[1:]
    if out is not None:
        args[args.index("--out") + 1] = str(out)
    return args


def build(names: list[str]) -> None:
    from flatnet_rl.cli import main as cli_main

    manifest = json.loads(MANIFEST.read_text())
    for name in names or list(manifest):
        if name not in manifest:
            raise SystemExit(f"unknown zoo model {name!r}; known: {', '.join(manifest)}")
        entry = manifest[name]
        print(f"$ {entry['command']}", flush=True)
        if cli_main([*command_args(entry["command"]), "--overwrite"]) != 0:
            raise SystemExit(f"building {name} failed")
        path = MANIFEST.with_name(entry["file"])
        entry["metrics"] = {
            k: round(v, 4)
            for k, v in read_metadata(path)["metrics"].items()
            if k != "train_seconds"
        }
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    build(sys.argv[1:])
