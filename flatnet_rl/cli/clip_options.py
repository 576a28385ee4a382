"""``clip:SOURCE`` model specs on the command line, with ``--classes`` and ``--prompts``.

A CLIP spec names weights (a Hugging Face or open_clip folder, ``hf:REPO`` in the Hugging
Face cache, or ``ARCH:FILE.safetensors``); the classes and prompt templates come from the
flags. Before any work the command builds the zero-shot classifier once and saves its head
(the class text embeddings, with the base model's SHA-256) in the cache folder; from then on
the spec is that checkpoint, which every command, worker and saved run config can name.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from flatnet_rl.cli.types import csv_of

DEFAULT_CACHE = "runs/cache"


def add_clip_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("CLIP models (clip:SOURCE specs)")
    g.add_argument(
        "--classes",
        type=csv_of(str),
        default=None,
        help="class names of clip: models, in target order (e.g. cross,ring,slash or 0,...,9)",
    )
    g.add_argument(
        "--prompts",
        action="append",
        default=None,
        metavar="TEMPLATE",
        help="a prompt template with {} for the class name; repeat to average several "
        "(None: 'a photo of a {}.')",
    )


def zero_shot_checkpoint(
    spec: str, classes: Sequence[str] | None, templates: Sequence[str] | None, cache: str | Path
) -> Path:
    """The cached zero-shot head of ``clip:SOURCE`` for these classes and templates."""
    from flatnet_rl.classifier import Classifier
    from flatnet_rl.clip import DEFAULT_TEMPLATES, spec_source

    if not classes:
        raise ValueError(f"{spec}: a CLIP model needs its classes: pass --classes a,b,c")
    clf = Classifier.from_clip(
        spec_source(spec),
        class_names=classes,
        templates=tuple(templates or DEFAULT_TEMPLATES),
        name=spec,
        device="cpu",
    )
    info = clf.metadata["clip"]
    key = json.dumps([spec, info["base"]["sha256"], info["class_prompts"], list(classes)])
    path = Path(cache) / "clip" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.safetensors"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        clf.save(path)
    return path


def resolve_clip_specs(specs: Sequence[str], args: argparse.Namespace) -> list[str]:
    """``specs`` with every ``clip:SOURCE`` replaced by its zero-shot checkpoint's path."""
    from flatnet_rl.clip import is_clip_spec

    classes, templates = getattr(args, "classes", None), getattr(args, "prompts", None)
    if not any(is_clip_spec(s) for s in specs):
        if classes or templates:
            raise ValueError("--classes and --prompts apply to clip:SOURCE models only")
        return list(specs)
    # train-agent names its cache after AgentConfig.cache_dir; compare and sweep call it cache.
    cache = getattr(args, "cache_dir", None) or getattr(args, "cache", None) or DEFAULT_CACHE
    return [
        str(zero_shot_checkpoint(s, classes, templates, cache)) if is_clip_spec(s) else s
        for s in specs
    ]


__all__ = ["add_clip_arguments", "resolve_clip_specs", "zero_shot_checkpoint"]
