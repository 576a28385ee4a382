"""Model specs: one string names a reward model, whether shipped, saved, trained or an ensemble.

A *spec* is one of

* a zoo name (``flatnet``, ``baseline``, ``flatnet-28``, ...) or a checkpoint path;
* a training spec ``LOSS[:key=value,...]`` such as ``entropy:kappa=0.3,outliers=2000``,
  trained on the fly and cached by the hash of its training record (keys:
  :data:`SPEC_KEYS`);
* an ensemble ``ensemble[@k=K]:MEMBER[*N][+MEMBER...]``: ``MEMBER*N`` is N seeds of a recipe
  (a zoo name's recipe or a training spec; seed i for member i; seed 0 of a zoo recipe is
  the shipped file itself), ``k`` the standard deviations subtracted (conservative reward;
  default 0, the mean). E.g. ``ensemble:baseline*5``, ``ensemble@k=1:flatnet*5``.

Agents, ``compare`` and ``sweep`` all resolve models through :func:`resolve_model_spec`.

This module is long because the grammar, the cache and the ensembles of specs share their
parsing and hashing; splitting the ensembles out is the next clean-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import warnings
from dataclasses import fields, replace
from pathlib import Path

from flatnet_rl.checkpoint import CheckpointError, read_metadata
from flatnet_rl.classifier import Classifier, checkpoint_path, load_classifier, zoo_manifest
from flatnet_rl.data import SOURCES, DataSpec
from flatnet_rl.data.images import MIN_SIDE, InputSpec
from flatnet_rl.data.labelled import DIGIT_CLASS_NAMES
from flatnet_rl.ensemble import EnsembleClassifier
from flatnet_rl.losses import LOSS_DEFS, LOSSES, Objective
from flatnet_rl.models import check_arch
from flatnet_rl.training.trainer import TrainConfig, train_classifier
from flatnet_rl.util.fingerprint import file_sha256, path_fingerprint

ENSEMBLE_PREFIX = "ensemble"
_FLOAT_KEYS = tuple(
    f.name for f in fields(Objective) if f.name != "loss" and isinstance(f.default, float)
)
_INT_KEYS: dict[str, int] = {"outliers": 0, "seed": 0, "epochs": 1, "canvas": MIN_SIDE}  # min
_STR_KEYS = ("arch", "source")
#: Keys a training spec accepts: the float fields of :class:`~flatnet_rl.losses.Objective`,
#: plus ``outliers``, ``seed``, ``epochs``, ``arch``, and the data ``source``/``canvas``.
SPEC_KEYS: tuple[str, ...] = (*_FLOAT_KEYS, *_INT_KEYS, *_STR_KEYS)
_ADDON_KEYS = ("outlier_weight", "energy_weight", "energy_m_in", "energy_m_out")
_MAX_MEMBERS = 64


def _parse_value(spec: str, key: str, text: str) -> float | int | str:
    if key == "arch":
        try:
            return check_arch(text)
        except ValueError as err:
            raise ValueError(f"model spec {spec!r}: {err}") from None
    if key == "source":
        if text not in SOURCES or text == "images":
            raise ValueError(f"model spec {spec!r}: source must be a digit source, got {text!r}")
        return text
    if key in _INT_KEYS:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(
                f"model spec {spec!r}: {key} must be an integer, got {text!r}"
            ) from None
        if value < _INT_KEYS[key]:
            raise ValueError(f"model spec {spec!r}: {key} must be >= {_INT_KEYS[key]}, got {value}")
        return value
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"model spec {spec!r}: {key} must be a number, got {text!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"model spec {spec!r}: {key} must be finite, got {text!r}")
    return number


def parse_model_spec(spec: str) -> tuple[str, dict[str, float | int | str]]:
    """Split a training spec ``LOSS[:key=value,...]`` into the loss and typed values.

    A key must be used by the loss (e.g. ``kappa`` only for ``entropy``): a key the model
    would silently ignore is an error, and the outlier-exposure/energy keys need
    ``outliers > 0``.

    Raises:
        ValueError: unknown loss or key, repeated key, missing ``=``, or a bad value.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"model spec must be a non-empty string, got {spec!r}")
    loss, _, rest = spec.strip().partition(":")
    loss = loss.strip()
    if loss not in LOSSES:
        raise ValueError(f"model spec {spec!r}: unknown loss {loss!r}; expected one of {LOSSES}")
    values: dict[str, float | int | str] = {}
    for item in (t.strip() for t in rest.split(",")) if rest.strip() else ():
        key, eq, text = (s.strip() for s in item.partition("="))
        if not eq or not key or not text:
            raise ValueError(f"model spec {spec!r}: expected key=value, got {item!r}")
        if key not in SPEC_KEYS:
            raise ValueError(
                f"model spec {spec!r}: unknown key {key!r}; expected one of {sorted(SPEC_KEYS)}"
            )
        if key in values:
            raise ValueError(f"model spec {spec!r}: key {key!r} given twice")
        values[key] = _parse_value(spec, key, text)
    # Keys the loss does not read would change the cache hash without changing the model.
    used = {"loss", *LOSS_DEFS[loss].params, *_ADDON_KEYS}
    for key in values:
        if key in _FLOAT_KEYS and key not in used:
            uses = sorted(set(LOSS_DEFS[loss].params)) or ["no hyperparameters"]
            raise ValueError(
                f"model spec {spec!r}: loss {loss!r} does not use {key!r} (it uses "
                f"{', '.join(uses)})"
            )
        if key in _ADDON_KEYS and not values.get("outliers", 0):
            raise ValueError(f"model spec {spec!r}: {key!r} needs outliers > 0")
    return loss, values


def config_from_spec(spec: str, data: DataSpec | None = None) -> TrainConfig:
    """The :class:`~flatnet_rl.training.TrainConfig` a training spec describes (name = spec).

    Defaults are those of ``TrainConfig`` and ``Objective`` (40 epochs, seed 0, the embedded
    8x8 digits unless ``data`` is given, no outliers), so ``ce`` matches the zoo's
    ``baseline``. The ``source``/``canvas`` keys pick another digit data set or size.
    """
    loss, values = parse_model_spec(spec)
    objective_values = {k: v for k, v in values.items() if k in _FLOAT_KEYS}
    data_values = {k: values.pop(k) for k in ("source", "canvas") if k in values}
    train_values = {k: v for k, v in values.items() if k not in _FLOAT_KEYS}
    try:
        if data_values:
            if data is not None:
                raise ValueError("source/canvas keys cannot be combined with --data")
            data = DataSpec(**data_values)
        return TrainConfig(
            objective=Objective(loss=loss, **objective_values),
            name=spec,
            data=data or DataSpec(),
            **train_values,
        )
    except ValueError as err:
        raise ValueError(f"model spec {spec!r}: {err}") from err


def spec_hash(config: TrainConfig) -> str:
    """Hash of everything that determines the trained model (``TrainConfig.to_dict``, and
    the contents of your images: :func:`~flatnet_rl.util.fingerprint.path_fingerprint`).

    Specs that differ only in spelling (``ce`` and ``ce:seed=0,epochs=40``) share a hash;
    the same path holding other images does not.
    """
    record = config.to_dict()
    if config.data.source == "images" and config.data.path:
        with contextlib.suppress(FileNotFoundError):  # loading the data says so
            record["data_fingerprint"] = path_fingerprint(config.data.path)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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
                else spec_hash(config_from_spec(_with_seed(recipe_spec(name), seed), data))
            )
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()
    if spec in zoo_manifest():
        return file_sha256(checkpoint_path(spec))
    if Path(spec).is_file():
        return file_sha256(spec)
    return spec_hash(config_from_spec(spec, data))


def _same_training(clf: Classifier, config: TrainConfig) -> bool:
    # Round-trip through JSON so tuples and lists compare equal.
    stored = clf.metadata.get("training")
    return json.loads(json.dumps(stored)) == json.loads(json.dumps(config.to_dict()))


class NotCachedError(ValueError):
    """A model named by a training spec is not in the cache, and training was not allowed."""


def train_cached(
    config: TrainConfig,
    cache_dir: str | Path,
    *,
    progress: bool = False,
    device: str = "auto",
    train: bool = True,
) -> Classifier:
    """Train ``config`` or reuse ``<cache_dir>/<spec_hash>.safetensors`` if it records the
    same training. ``train=False``: only reuse (:class:`NotCachedError` otherwise)."""
    path = Path(cache_dir) / f"{spec_hash(config)}.safetensors"
    if not train:
        try:
            clf = Classifier.load(path, device=device)
        except CheckpointError:
            clf = None
        if clf is None or not _same_training(clf, config):
            raise NotCachedError(
                f"reward model {config.name!r} is not in the cache {cache_dir} (no "
                f"{path.name} recording its training): reading a run never trains a model; "
                "train it first (flatnet-rl compare/train-agent with the same spec and --cache)"
            )
        return clf
    if path.is_file():
        try:
            clf = Classifier.load(path, device=device)
        except CheckpointError as err:
            warnings.warn(
                f"retraining {config.name!r}: cached {path} is unreadable ({err})", stacklevel=2
            )
        else:
            if _same_training(clf, config):
                return clf
            warnings.warn(
                f"retraining {config.name!r}: cached {path} records other training", stacklevel=2
            )
    clf = train_classifier(replace(config, device=device), progress=progress).classifier
    clf.save(path)
    return clf


def recipe_spec(name: str) -> str:
    """The training spec of a zoo model (its manifest ``spec``) or a training spec as is."""
    zoo = zoo_manifest()
    if name in zoo:
        entry = zoo[name]
        if entry.get("role") == "judge":
            raise ValueError(f"{name!r} is a judge (evaluation only): it cannot be a reward")
        if "spec" not in entry:
            raise ValueError(f"zoo model {name!r} records no training spec")
        return entry["spec"]
    parse_model_spec(name)
    return name


def _with_seed(spec: str, seed: int) -> str:
    loss, values = parse_model_spec(spec)
    values = {**values, "seed": seed}
    return f"{loss}:" + ",".join(f"{k}={v}" for k, v in values.items())


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
            _with_seed(recipe_spec(name), seed + shift) for name, seed in members
        )
    if spec in zoo_manifest() or Path(spec).is_file():
        return None
    return _with_seed(spec, int(parse_model_spec(spec)[1].get("seed", 0)) + replicate)


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
        k = float(_parse_value(spec, "k", text))
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
        if not 1 <= n <= _MAX_MEMBERS:
            raise ValueError(f"ensemble spec {spec!r}: member count must be in 1..{_MAX_MEMBERS}")
        recipe_spec(name)  # validates the member now
        base_seed = 0 if name in zoo_manifest() else int(parse_model_spec(name)[1].get("seed", 0))
        members += [(name, base_seed + i) for i in range(n)]
    if len(members) < 2:
        raise ValueError(f"ensemble spec {spec!r}: an ensemble needs at least 2 members")
    if len(members) > _MAX_MEMBERS:
        raise ValueError(f"ensemble spec {spec!r}: at most {_MAX_MEMBERS} members")
    return k, members


def is_ensemble_spec(spec: str) -> bool:
    return isinstance(spec, str) and (
        spec.startswith(f"{ENSEMBLE_PREFIX}:") or spec.startswith(f"{ENSEMBLE_PREFIX}@")
    )


def _resolve_member(
    name: str, seed: int, cache_dir: str | Path, data: DataSpec | None, **kwargs
) -> Classifier:
    if name in zoo_manifest() and seed == 0:
        return load_classifier(name, device=kwargs.get("device", "auto"))
    config = config_from_spec(_with_seed(recipe_spec(name), seed), data)
    return train_cached(config, cache_dir, **kwargs)


def _member_input(name: str, seed: int, data: DataSpec | None) -> tuple | None:
    """``(channels, size, class names)`` a member will have, known without training it
    (``None`` where only its data can tell: images of your own)."""
    if name in zoo_manifest() and seed == 0:
        meta = read_metadata(checkpoint_path(name))
        if "input" not in meta:  # format 1: binary digit canvases
            side = int(meta["canvas_size"])
            return 1, (side, side), tuple(DIGIT_CLASS_NAMES[: int(meta["num_classes"])])
        spec = InputSpec.from_dict(meta["input"])
        return spec.channels, spec.size, tuple(meta["class_names"])
    source = config_from_spec(_with_seed(recipe_spec(name), seed), data).data
    if not source.is_digits:
        return None
    return 1, (source.canvas, source.canvas), DIGIT_CLASS_NAMES


def check_ensemble_members(spec: str, data: DataSpec | None = None) -> None:
    """Members of one ensemble take the same input and classes: checked before any is
    trained (a mismatch found after training the others wastes their training)."""
    _, members = parse_ensemble_spec(spec)
    known = [(name, _member_input(name, seed, data)) for name, seed in members]
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
            _resolve_member(
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
