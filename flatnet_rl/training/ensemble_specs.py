"""Ensemble specs: ``ensemble[@k=K]:MEMBER[*N][+MEMBER...]``. ``MEMBER*N`` is N seeds of a
recipe (a zoo name's recipe or a training spec; seed i for member i; seed 0 of a zoo recipe
is the shipped file itself), ``k`` the standard deviations subtracted (a conservative
reward; default 0, the mean). E.g. ``ensemble:baseline*5``, ``ensemble@k=1:flatnet*5``.
"""

from __future__ import annotations

from pathlib import Path

from flatnet_rl.checkpoint import read_metadata
from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.data import DataSpec
from flatnet_rl.data.images import InputSpec
from flatnet_rl.data.labelled import DIGIT_CLASS_NAMES
from flatnet_rl.shipped import checkpoint_path, zoo_manifest
from flatnet_rl.training.specs import (
    config_from_spec,
    parse_model_spec,
    parse_spec_value,
    recipe_spec,
    train_cached,
    with_seed,
)

ENSEMBLE_PREFIX = "ensemble"
MAX_MEMBERS = 64


def parse_ensemble_spec(spec: str) -> tuple[float, list[tuple[str, int]]]:
    """``ensemble[@k=K]:ITEM[*N][+ITEM...]`` -> ``(k, [(item, seed), ...])``.

    Raises:
        ValueError: a malformed spec, an unknown member, k < 0 or fewer than 2 members.
    """
    head, colon, body = spec.partition(":")
    k = 0.0
    if head.startswith(f"{ENSEMBLE_PREFIX}@"):
        key, _, text = head[len(ENSEMBLE_PREFIX) + 1 :].partition("=")
        if key != "k":
            raise ValueError(f"ensemble spec {spec!r}: expected ensemble@k=<number>")
        k = float(parse_spec_value(spec, "k", text))
        if k < 0:
            raise ValueError(f"ensemble spec {spec!r}: k must be >= 0")
    elif head != ENSEMBLE_PREFIX:
        raise ValueError(f"not an ensemble spec: {spec!r}")
    if not colon or not body.strip():
        raise ValueError(f"ensemble spec {spec!r}: expected members after ':'")
    members: list[tuple[str, int]] = []
    for item in body.split("+"):
        name, star, count = item.strip().partition("*")
        try:
            n = int(count) if star else 1
        except ValueError:
            raise ValueError(f"ensemble spec {spec!r}: bad member count in {item!r}") from None
        if not 1 <= n <= MAX_MEMBERS:
            raise ValueError(f"ensemble spec {spec!r}: member count must be in 1..{MAX_MEMBERS}")
        recipe_spec(name)  # validates the member now
        base_seed = 0 if name in zoo_manifest() else int(parse_model_spec(name)[1].get("seed", 0))
        members += [(name, base_seed + i) for i in range(n)]
    if len(members) < 2:
        raise ValueError(f"ensemble spec {spec!r}: an ensemble needs at least 2 members")
    if len(members) > MAX_MEMBERS:
        raise ValueError(f"ensemble spec {spec!r}: at most {MAX_MEMBERS} members")
    return k, members


def is_ensemble_spec(spec: str) -> bool:
    return isinstance(spec, str) and (
        spec.startswith(f"{ENSEMBLE_PREFIX}:") or spec.startswith(f"{ENSEMBLE_PREFIX}@")
    )


def resolve_member(
    name: str, seed: int, cache_dir: str | Path, data: DataSpec | None, **kwargs
) -> Classifier:
    if name in zoo_manifest() and seed == 0:
        return load_classifier(name, device=kwargs.get("device", "auto"))
    config = config_from_spec(with_seed(recipe_spec(name), seed), data)
    return train_cached(config, cache_dir, **kwargs)


def member_input(name: str, seed: int, data: DataSpec | None) -> tuple | None:
    """``(channels, size, class names)`` a member will have, known without training it
    (``None`` where only its data can tell: images of your own)."""
    if name in zoo_manifest() and seed == 0:
        meta = read_metadata(checkpoint_path(name))
        if "input" not in meta:  # format 1: binary digit canvases
            side = int(meta["canvas_size"])
            return 1, (side, side), tuple(DIGIT_CLASS_NAMES[: int(meta["num_classes"])])
        spec = InputSpec.from_dict(meta["input"])
        return spec.channels, spec.size, tuple(meta["class_names"])
    source = config_from_spec(with_seed(recipe_spec(name), seed), data).data
    if not source.is_digits:
        return None
    return 1, (source.canvas, source.canvas), DIGIT_CLASS_NAMES


def check_ensemble_members(spec: str, data: DataSpec | None = None) -> None:
    """Members of one ensemble take the same input and classes: checked before any is
    trained (a mismatch found after training the others wastes their training)."""
    _, members = parse_ensemble_spec(spec)
    known = [(name, member_input(name, seed, data)) for name, seed in members]
    known = [(name, signature) for name, signature in known if signature is not None]
    for name, signature in known[1:]:
        if signature != known[0][1]:
            first, other = known[0], (name, signature)
            raise ValueError(
                f"ensemble spec {spec!r}: members must share input and classes, but "
                f"{first[0]!r} takes {first[1][0]}-channel {first[1][1]} images of "
                f"{len(first[1][2])} classes and {other[0]!r} {other[1][0]}-channel "
                f"{other[1][1]} images of {len(other[1][2])} classes"
            )
