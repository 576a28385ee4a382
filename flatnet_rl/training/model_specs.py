"""Model specs: one string names a reward model, whether shipped, saved, trained or an ensemble.

A *spec* is one of

* a zoo name (``flatnet``, ``baseline``, ``flatnet-28``, ...) or a checkpoint path;
* a training spec ``LOSS[:key=value,...]`` (:mod:`flatnet_rl.training.specs`), trained on the
  fly and cached;
* an ensemble ``ensemble[@k=K]:MEMBER[*N][+MEMBER...]``
  (:mod:`flatnet_rl.training.ensemble_specs`).

Agents, ``compare`` and ``sweep`` all resolve models through :func:`resolve_model_spec`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.data import DataSpec
from flatnet_rl.ensemble import EnsembleClassifier
from flatnet_rl.losses import LOSSES
from flatnet_rl.shipped import checkpoint_path, zoo_manifest
from flatnet_rl.training.ensemble_specs import (
    check_ensemble_members,
    is_ensemble_spec,
    parse_ensemble_spec,
    resolve_member,
)
from flatnet_rl.training.specs import (
    config_from_spec,
    parse_model_spec,
    recipe_spec,
    spec_hash,
    train_cached,
    with_seed,
)
from flatnet_rl.util.fingerprint import file_sha256


def spec_fingerprint(spec: str, data: DataSpec | None = None) -> str:
    """What a model spec resolves to, by content: a checkpoint's (or zoo file's) bytes, a
    training spec's :func:`spec_hash`, an ensemble's members and k. Runs record it, so a
    run trained on a checkpoint since replaced at the same path is not resumed."""
    if is_ensemble_spec(spec):
        k, members = parse_ensemble_spec(spec)
        parts = [f"k={k}"]
        for name, seed in members:
            parts.append(
                spec_fingerprint(name, data)
                if name in zoo_manifest() and seed == 0
                else spec_hash(config_from_spec(with_seed(recipe_spec(name), seed), data))
            )
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    if spec in zoo_manifest():
        return file_sha256(checkpoint_path(spec))
    if Path(spec).is_file():
        return file_sha256(spec)
    return spec_hash(config_from_spec(spec, data))


def seed_replicate(spec: str, replicate: int) -> str | None:
    """The same recipe trained on other seeds: replicate 0 is ``spec`` itself, replicate r > 0
    moves a training spec's seed by r and an ensemble's member seeds (all in 0..M) by
    r * (M + 1), so that no two replicates share a member. ``None`` for fixed weights (a
    zoo name, a checkpoint file): they are the same on every machine, nothing to replicate.
    """
    if replicate == 0:
        return spec
    if is_ensemble_spec(spec):
        head = spec.partition(":")[0]
        _, members = parse_ensemble_spec(spec)
        shift = replicate * (max(seed for _, seed in members) + 1)
        return f"{head}:" + "+".join(
            with_seed(recipe_spec(name), seed + shift) for name, seed in members
        )
    if spec in zoo_manifest() or Path(spec).is_file():
        return None
    return with_seed(spec, int(parse_model_spec(spec)[1].get("seed", 0)) + replicate)


def check_model_spec(spec: str, data: DataSpec | None = None) -> str:
    """Validate a spec without training or loading anything (fail before any work).

    Raises:
        ValueError: naming what is wrong with the spec.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"model spec must be a non-empty string, got {spec!r}")
    if is_ensemble_spec(spec):
        check_ensemble_members(spec, data)
        return spec
    if spec in zoo_manifest() or Path(spec).is_file():
        return spec
    if Path(spec).is_dir() and spec.partition(":")[0].strip() not in LOSSES:
        checkpoint_path(spec)  # raises: a folder is named as one, not as a missing file
    if spec.endswith(".safetensors") or "/" in spec:
        raise ValueError(f"model spec {spec!r}: no such checkpoint file")
    if spec.partition(":")[0].strip() not in LOSSES:
        raise ValueError(
            f"unknown model spec {spec!r}: not a zoo model ({', '.join(sorted(zoo_manifest()))}), "
            f"not a checkpoint file, not an ensemble, and {spec.partition(':')[0]!r} is not a "
            f"loss ({', '.join(LOSSES)})"
        )
    config_from_spec(spec, data)
    return spec


def resolve_model_spec(
    spec: str,
    cache_dir: str | Path,
    *,
    progress: bool = False,
    device: str = "auto",
    data: DataSpec | None = None,
    train: bool = True,
) -> Classifier:
    """A classifier for a spec (see the module docstring); named ``spec``.

    ``data`` replaces the embedded digits for training specs (``compare --data``).
    ``train=False``: models named by training specs are only read from the cache
    (:class:`NotCachedError` if absent), e.g. for a run folder from someone else.

    Raises:
        ValueError: the spec is neither a zoo name, an existing file, a valid training spec
            nor a valid ensemble spec.
    """
    check_model_spec(spec, data)
    if is_ensemble_spec(spec):
        k, members = parse_ensemble_spec(spec)
        classifiers = [
            resolve_member(
                name, seed, cache_dir, data, progress=progress, device=device, train=train
            )
            for name, seed in members
        ]
        return EnsembleClassifier(classifiers, k_std=k, name=spec)
    if spec in zoo_manifest():
        return load_classifier(spec, device=device)
    if Path(spec).is_file():
        return load_classifier(Path(spec), device=device)
    clf = train_cached(
        config_from_spec(spec, data), cache_dir, progress=progress, device=device, train=train
    )
    clf.name = spec
    return clf
