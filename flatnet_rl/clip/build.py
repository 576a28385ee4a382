"""Building a CLIP classifier's network and metadata, and rebuilding a saved one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flatnet_rl.clip.net import (
    CLIP_ARCH,
    CLIP_PREFIX,
    DEFAULT_TEMPLATES,
    ClipError,
    ClipHead,
    ClipNet,
    ClipTower,
    class_prompts,
    clip_input_spec,
    prompt_embedding,
)
from flatnet_rl.clip.weights import load_clip
from flatnet_rl.data.images import InputSpec


def build_clip_classifier(
    model: nn.Module | str,
    tokenizer: Any = None,
    class_names: Sequence[str] = (),
    *,
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    prompts: Mapping[str, Sequence[str]] | None = None,
    preprocess: InputSpec | None = None,
    part: str = "text",
    name: str | None = None,
) -> tuple[ClipNet, dict]:
    """The network and metadata of :meth:`Classifier.from_clip
    <flatnet_rl.classifier.Classifier.from_clip>` (see there)."""
    base = None
    if isinstance(model, str | Path):
        model, loaded_tokenizer, base = load_clip(str(model))
        tokenizer = tokenizer if tokenizer is not None else loaded_tokenizer
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a CLIP nn.Module or a path, got {type(model).__name__}")
    tower = ClipTower(model, tokenizer)
    names = list(class_names)
    per_class = class_prompts(names, templates, prompts)
    embeddings = torch.stack([prompt_embedding(tower, p) for p in per_class]).cpu()
    if not bool(torch.isfinite(embeddings).all()):
        raise ClipError("the CLIP text tower returned non-finite embeddings")
    same = (embeddings @ embeddings.T).triu(1) > 1 - 1e-6
    if bool(same.any()):
        i, j = (int(v) for v in same.nonzero()[0])
        raise ClipError(
            f"classes {names[i]!r} and {names[j]!r} get the same text embedding: their prompts "
            "tokenize alike (is the tokenizer the model's?)"
        )
    net = ClipNet(tower, ClipHead(embeddings, tower.logit_scale, part))
    spec = preprocess or clip_input_spec(model, tower.backend)
    if not isinstance(spec, InputSpec) or spec.channels != 3:
        raise ClipError(f"preprocess must be a 3-channel InputSpec, got {spec!r:.80}")
    metadata = {
        "name": name or (f"{CLIP_PREFIX}{base['source']}" if base else "clip"),
        "arch": CLIP_ARCH,
        "input": spec.to_dict(),
        "class_names": names,
        "clip": {
            "backend": tower.backend,
            "part": part,
            "templates": list(templates),
            "prompts": {k: list(v) for k, v in (prompts or {}).items()},
            "class_prompts": per_class,
            "base": base,
        },
    }
    return net, metadata


def rebuild_clip_net(meta: dict, tensors: Mapping[str, torch.Tensor], where: str) -> ClipNet:
    """The network of a saved CLIP head: its base model loaded from local files (its weights'
    SHA-256 must match the recorded one), under the saved head."""
    info = meta.get("clip") or {}
    base = info.get("base")
    if not base:
        raise ClipError(
            f"{where} names no base CLIP model (it was built from an in-memory model): build "
            "it with Classifier.from_clip(PATH, ...) to save it"
        )
    model, tokenizer, found = load_clip(base["source"])
    if found["sha256"] != base["sha256"]:
        raise ClipError(
            f"{where} was made from CLIP weights with SHA-256 {base['sha256'][:12]}..., but "
            f"{base['source']} has {found['sha256'][:12]}...: not the same base model"
        )
    tower = ClipTower(model, tokenizer)
    part = info.get("part", "text")
    key = "head.class_embeddings" if part == "text" else "head.weight"
    if key not in tensors:
        raise ClipError(f"{where} holds no {key} for its CLIP head (part {part!r})")
    head = ClipHead(torch.ones(tuple(tensors[key].shape)), 1.0, part)
    net = ClipNet(tower, head)
    net.load_state_dict(dict(tensors), strict=True)
    return net


def is_clip_spec(spec: Any) -> bool:
    return isinstance(spec, str) and spec.startswith(CLIP_PREFIX)


def spec_source(spec: str) -> str:
    """The source of a ``clip:SOURCE`` model spec."""
    return spec[len(CLIP_PREFIX) :]


def describe(meta: dict) -> str:
    """One line for ``info``: backend, part and base model of a CLIP checkpoint."""
    info = meta.get("clip") or {}
    base = info.get("base") or {}
    return json.dumps(
        {k: info.get(k) for k in ("backend", "part")} | {"base": base.get("source")},
        sort_keys=True,
    )
