"""Training specs: ``LOSS[:key=value,...]`` such as ``entropy:kappa=0.3,outliers=2000`` names
a classifier trained on the fly and cached by the hash of its training record (keys:
:data:`SPEC_KEYS`). Every kind of model spec (zoo names, files, training specs, ensembles)
is resolved by :mod:`flatnet_rl.training.model_specs`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import warnings
from dataclasses import fields, replace
from pathlib import Path

from flatnet_rl.checkpoint import CheckpointError
from flatnet_rl.classifier import Classifier
from flatnet_rl.data import SOURCES, DataSpec
from flatnet_rl.data.images import MIN_SIDE
from flatnet_rl.losses import LOSS_DEFS, LOSSES, Objective
from flatnet_rl.models import check_arch
from flatnet_rl.shipped import zoo_manifest
from flatnet_rl.training.trainer import TrainConfig, train_classifier
from flatnet_rl.util.fingerprint import path_fingerprint

_FLOAT_KEYS = tuple(
    f.name for f in fields(Objective) if f.name != "loss" and isinstance(f.default, float)
)
_INT_KEYS: dict[str, int] = {"outliers": 0, "seed": 0, "epochs": 1, "canvas": MIN_SIDE}  # min
_STR_KEYS = ("arch", "source")
#: Keys a training spec accepts: the float fields of :class:`~flatnet_rl.losses.Objective`,
#: plus ``outliers``, ``seed``, ``epochs``, ``arch``, and the data ``source``/``canvas``.
SPEC_KEYS: tuple[str, ...] = (*_FLOAT_KEYS, *_INT_KEYS, *_STR_KEYS)
_ADDON_KEYS = ("outlier_weight", "energy_weight", "energy_m_in", "energy_m_out")


def parse_spec_value(spec: str, key: str, text: str) -> float | int | str:
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
        values[key] = parse_spec_value(spec, key, text)
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


def with_seed(spec: str, seed: int) -> str:
    loss, values = parse_model_spec(spec)
    values = {**values, "seed": seed}
    return f"{loss}:" + ",".join(f"{k}={v}" for k, v in values.items())
