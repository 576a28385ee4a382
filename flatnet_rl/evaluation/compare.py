"""Compare reward models on the same seeded data: false positives, smoothness, hacking.

>>> from flatnet_rl import load_classifier
>>> from flatnet_rl.evaluation.compare import evaluate_models
>>> reports = evaluate_models([load_classifier("flatnet"), load_classifier("baseline")])
>>> reports[0].summary()["max_prob"] < reports[1].summary()["max_prob"]
True

Every model is scored on data built once per canvas size from one ``seed`` (see
:func:`build_eval_data`), so two models with the same canvas size see exactly the same
images, targets and morph paths. The metric definitions are those of
:mod:`flatnet_rl.evaluation.metrics` and ``docs/methods.md``:

* **Digits**: top-1 ``accuracy`` and ``ece`` (15 equal-width bins) on the embedded test
  split (``load_embedded_digits`` at the model's canvas size).
* **False-positive reward**, per outlier family (:data:`EVAL_FAMILIES`): ``mean_msp`` (mean
  max-probability), ``mean_p_target`` (mean probability of a target class drawn at random
  per image, the same draw for every model), ``fpr95`` (FPR at 95% TPR of the MSP,
  **digit-positive** convention: the threshold keeps 95% of real test digits and the value
  is the fraction of outlier images at or above it) and ``auroc`` (MSP, digits vs outliers).
* **Reward smoothness** along flatnet's morph paths: ``n_paths`` test digits turned into
  Bernoulli(:data:`PATH_DENSITY`) random canvases one pixel flip at a time, reward
  ``r_t = p_target(canvas_t)`` with target the digit's label: ``tv_ratio``, ``autocorr``,
  ``argmax_flips``, ``mean_abs_delta``, ``entropy_start``, ``entropy_end``; the same on the
  reverse paths (random canvas -> digit, an independent flip order) prefixed ``reverse_``.
* **Reward hacking** (optional, from RL runs made elsewhere): ``proxy_mean``,
  ``judge_mean``, ``gap`` and ``fooling_rate`` of
  :func:`~flatnet_rl.evaluation.metrics.hacking_summary`.

Models can be named by a *spec* (:func:`resolve_model_spec`): a zoo name, a checkpoint path,
or a training spec such as ``entropy:kappa=0.3,outliers=2000`` that is trained on the fly and
cached.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from flatnet_rl.checkpoint import CheckpointError
from flatnet_rl.classifier import Classifier, load_classifier, zoo_manifest
from flatnet_rl.data import DataSpec, load_embedded_digits, make_family
from flatnet_rl.evaluation.metrics import (
    accuracy,
    entropy,
    expected_calibration_error,
    false_positive_summary,
    hacking_summary,
    smoothness_summary,
)
from flatnet_rl.evaluation.morph import morph_paths, pad_paths
from flatnet_rl.losses import LOSSES, Objective
from flatnet_rl.models import ARCHITECTURES
from flatnet_rl.training import TrainConfig, train_classifier

__all__ = [
    "BERNOULLI_DENSITIES",
    "EVAL_FAMILIES",
    "HACKING_COLUMNS",
    "HACKING_KEYS",
    "PATH_DENSITY",
    "SPEC_KEYS",
    "TABLE_COLUMNS",
    "Column",
    "EvalData",
    "ModelReport",
    "PathCurves",
    "build_eval_data",
    "config_from_spec",
    "evaluate_model",
    "evaluate_models",
    "evaluate_spec",
    "hacking_row",
    "json_safe",
    "parse_model_spec",
    "resolve_model_spec",
    "spec_hash",
]

#: Densities of the Bernoulli outlier families (each pixel on with this probability).
BERNOULLI_DENSITIES: tuple[float, ...] = (0.05, 0.15, 0.3, 0.5)
#: Outlier families every model is scored on, in report order.
EVAL_FAMILIES: tuple[str, ...] = (
    *(f"bernoulli@{d:g}" for d in BERNOULLI_DENSITIES),
    "inverted",
    "shuffled",
    "scribble",
    "blocks",
)
#: Density of the random canvas at the end of a forward morph path (start of a reverse one).
PATH_DENSITY = 0.3
#: Number of points mean curves are resampled to (normalised progress 0, 0.01, ..., 1).
CURVE_POINTS = 101
#: Keys of a hacking summary (from :func:`~flatnet_rl.evaluation.metrics.hacking_summary`).
HACKING_KEYS: tuple[str, ...] = ("proxy_mean", "judge_mean", "gap", "fooling_rate")
#: Canvases per forward pass: bounds memory on large canvases (28x28 paths are long).
_PREDICT_BATCH = 4096

# Random streams derived from the seed: family ``i`` uses stream ``i``; the others are far
# away so adding a family never changes the other draws.
_STREAM_TARGETS = 1000
_STREAM_PATH_DIGITS = 1001
_STREAM_PATH_ENDS = 1002
_STREAM_FORWARD = 1003
_STREAM_REVERSE = 1004


# ------------------------------------------------------------------------------ columns


@dataclass(frozen=True)
class Column:
    """One column of the comparison table: the single place where a metric's direction lives.

    Attributes:
        key: key in :meth:`ModelReport.summary`.
        label: column header in the markdown table.
        better: ``"lower"`` or ``"higher"`` is better, or ``None`` (no best value marked).
        description: one-line definition for the report's legend.
        fmt: format spec of a value.
    """

    key: str
    label: str
    better: Literal["lower", "higher"] | None
    description: str
    fmt: str = ".3f"


#: The main table, one row per model (see the module docstring for the definitions).
TABLE_COLUMNS: tuple[Column, ...] = (
    Column("accuracy", "accuracy", "higher", "top-1 accuracy on the test digits"),
    Column("ece", "ECE", "lower", "expected calibration error on the test digits, 15 bins"),
    Column(
        "max_prob",
        "max-prob",
        "lower",
        "mean max-probability on outlier images, mean over families (0.1 = flat)",
    ),
    Column(
        "fpr95",
        "FPR95",
        "lower",
        "FPR at 95% TPR of the max-probability, digit-positive, mean over families",
    ),
    Column(
        "auroc",
        "AUROC",
        "higher",
        "AUROC of the max-probability, digits vs outliers, mean over families",
    ),
    Column(
        "tv_ratio",
        "TV ratio",
        "lower",
        "total variation / net change of p_target along digit -> random morph paths (1 = monotone)",
    ),
    Column(
        "autocorr",
        "autocorr",
        "higher",
        "lag-1 autocorrelation of the reward increments along the morph paths "
        "(+1 = persistent trend, 0 = noise)",
    ),
    Column(
        "argmax_flips",
        "argmax flips",
        "lower",
        "changes of the predicted class along a morph path",
        ".2f",
    ),
)
#: Extra columns when reward-hacking results are given.
HACKING_COLUMNS: tuple[Column, ...] = (
    Column("proxy_mean", "proxy", None, "mean proxy p_target of the agents' final canvases"),
    Column("judge_mean", "judge", "higher", "mean judge p_target of the same canvases"),
    Column("gap", "gap", "lower", "proxy - judge (> 0: the proxy is over-optimised)"),
    Column(
        "fooling_rate",
        "fooling",
        "lower",
        "episodes with proxy p_target >= 0.9 and judge p_target < 0.5",
    ),
)


# --------------------------------------------------------------------------- eval data


class ProbabilityModel(Protocol):
    """What :func:`evaluate_models` needs from a model (a :class:`Classifier` or a fake)."""

    name: str
    canvas_size: int
    metadata: dict

    def predict_proba(self, canvases: np.ndarray) -> np.ndarray: ...


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _int_seed(seed: int, stream: int) -> int:
    """An int seed for APIs that take one (``morph_paths``), derived like :func:`_rng`."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1)[0])


@dataclass(frozen=True)
class EvalData:
    """The seeded images every model of one canvas size is scored on.

    Attributes:
        canvas: canvas side.
        seed: the seed everything below was drawn from.
        x_test, y_test: embedded test digits ``(N, canvas, canvas)`` and labels ``(N,)``.
        outliers: family name -> canvases ``(n_outliers, canvas, canvas)``.
        targets: family name -> random target class per outlier image ``(n_outliers,)``.
        path_labels: label of each morph path's digit ``(P,)``.
        forward: morph paths digit -> Bernoulli(:data:`PATH_DENSITY`) canvas, path ``i``
            of shape ``(L_i+1, canvas, canvas)``.
        reverse: morph paths from the same random canvas back to the same digit, with an
            independent flip order.
    """

    canvas: int
    seed: int
    x_test: np.ndarray
    y_test: np.ndarray
    outliers: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    path_labels: np.ndarray
    forward: list[np.ndarray]
    reverse: list[np.ndarray]

    @property
    def n_outliers(self) -> int:
        return len(next(iter(self.targets.values())))

    @property
    def n_paths(self) -> int:
        return len(self.forward)


def _check_count(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def build_eval_data(
    canvas: int, *, seed: int = 0, n_outliers: int = 1000, n_paths: int = 100
) -> EvalData:
    """Draw the evaluation images for one canvas size; deterministic for ``seed``.

    Each outlier family gets its own generator ``default_rng([seed, i])`` (``i`` its index
    in :data:`EVAL_FAMILIES`); ``inverted`` and ``shuffled`` are made from the test digits,
    so no model saw them in training. Morph-path digits are drawn without replacement from
    the test split (with replacement only when ``n_paths`` exceeds its size).
    """
    canvas = _check_count(canvas, "canvas", 4)
    seed = _check_count(seed, "seed", 0)
    n_outliers = _check_count(n_outliers, "n_outliers", 1)
    n_paths = _check_count(n_paths, "n_paths", 1)
    split = load_embedded_digits(DataSpec(canvas=canvas))
    x_test, y_test = split.x_test, split.y_test

    outliers: dict[str, np.ndarray] = {}
    for i, family in enumerate(EVAL_FAMILIES):
        base, _, density = family.partition("@")
        kwargs: dict[str, Any] = {"density": float(density)} if density else {}
        if base in ("inverted", "shuffled"):
            kwargs["digits"] = x_test
        outliers[family] = make_family(base, n_outliers, canvas, _rng(seed, i), **kwargs)
    # One target draw shared by all models: differences in p_target are the models', not
    # the dice's.
    target_rng = _rng(seed, _STREAM_TARGETS)
    targets = {f: target_rng.integers(0, 10, size=n_outliers) for f in EVAL_FAMILIES}

    pick = _rng(seed, _STREAM_PATH_DIGITS).choice(
        len(x_test), size=n_paths, replace=n_paths > len(x_test)
    )
    starts = x_test[pick]
    ends = make_family(
        "bernoulli", n_paths, canvas, _rng(seed, _STREAM_PATH_ENDS), density=PATH_DENSITY
    )
    forward = morph_paths(starts, ends, _int_seed(seed, _STREAM_FORWARD))
    reverse = morph_paths(ends, starts, _int_seed(seed, _STREAM_REVERSE))
    return EvalData(canvas, seed, x_test, y_test, outliers, targets, y_test[pick], forward, reverse)


# ------------------------------------------------------------------------------ reports


@dataclass(frozen=True)
class PathCurves:
    """Morph-path outputs of one model kept for plotting (not part of ``results.json``).

    Attributes:
        reward: ``p_target`` resampled to :data:`CURVE_POINTS` points of normalised
            progress (:func:`~flatnet_rl.evaluation.morph.pad_paths`), ``(P, CURVE_POINTS)``.
        entropy: entropy of the class distribution, resampled the same way.
        example_probs: class probabilities along path 0, ``(L_0+1, K)``.
        example_start, example_end: the first and last canvas of path 0.
        example_target: the target class of path 0.
    """

    reward: np.ndarray
    entropy: np.ndarray
    example_probs: np.ndarray
    example_start: np.ndarray
    example_end: np.ndarray
    example_target: int

    @property
    def progress(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.reward.shape[1])


@dataclass
class ModelReport:
    """Every metric of one model (definitions in the module docstring).

    Attributes:
        name: the model's name (unique within a comparison).
        canvas_size: its canvas side.
        training: its training record from the checkpoint metadata (empty if unknown).
        accuracy, ece: on the test digits.
        n_test: number of test digits.
        families: family -> ``{"mean_msp", "mean_p_target", "fpr95", "auroc"}``.
        smoothness: ``tv_ratio``, ``autocorr``, ``argmax_flips``, ``mean_abs_delta``,
            ``entropy_start``, ``entropy_end``, ``n_paths`` and the same with ``reverse_``.
        hacking: ``proxy_mean``, ``judge_mean``, ``gap``, ``fooling_rate`` (and ``n``), or
            ``None`` when no agent results were given.
        forward, reverse: curves for the plots.
    """

    name: str
    canvas_size: int
    training: dict[str, Any]
    accuracy: float
    ece: float
    n_test: int
    families: dict[str, dict[str, float]]
    smoothness: dict[str, float]
    hacking: dict[str, float] | None = None
    forward: PathCurves | None = field(default=None, repr=False)
    reverse: PathCurves | None = field(default=None, repr=False)

    def summary(self) -> dict[str, float]:
        """The table's values: ``accuracy``, ``ece``; ``max_prob``, ``p_target``, ``fpr95``,
        ``auroc`` as unweighted means over the outlier families; the forward-path
        ``tv_ratio``, ``autocorr``, ``argmax_flips``; per-family ``max_prob[FAMILY]``; and the
        hacking keys when present."""
        fams = list(self.families.values())

        def over_families(key: str) -> float:
            return float(np.mean([f[key] for f in fams]))

        row: dict[str, float] = {
            "accuracy": self.accuracy,
            "ece": self.ece,
            "max_prob": over_families("mean_msp"),
            "p_target": over_families("mean_p_target"),
            "fpr95": over_families("fpr95"),
            "auroc": over_families("auroc"),
            "tv_ratio": self.smoothness["tv_ratio"],
            "autocorr": self.smoothness["autocorr"],
            "argmax_flips": self.smoothness["argmax_flips"],
        }
        row.update({f"max_prob[{name}]": f["mean_msp"] for name, f in self.families.items()})
        if self.hacking is not None:
            row.update({k: float(self.hacking[k]) for k in HACKING_KEYS})
        return row

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics (NaN becomes ``None``); curves are left out."""
        return json_safe(
            {
                "name": self.name,
                "canvas_size": self.canvas_size,
                "training": self.training,
                "summary": self.summary(),
                "digits": {"accuracy": self.accuracy, "ece": self.ece, "n_test": self.n_test},
                "families": self.families,
                "smoothness": self.smoothness,
                "hacking": self.hacking,
            }
        )


def json_safe(value: Any) -> Any:
    """Plain JSON types; NaN/inf become ``None`` (strict JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------- evaluation


def _predict(model: ProbabilityModel, canvases: np.ndarray) -> np.ndarray:
    """``predict_proba`` in chunks, checked to be ``(N, K)``."""
    parts = [
        np.asarray(model.predict_proba(canvases[i : i + _PREDICT_BATCH]), dtype=np.float64)
        for i in range(0, len(canvases), _PREDICT_BATCH)
    ]
    probs = np.concatenate(parts)
    if probs.ndim != 2 or probs.shape[0] != len(canvases):
        raise ValueError(
            f"model {model.name!r}: predict_proba must return shape ({len(canvases)}, K), "
            f"got {probs.shape}"
        )
    return probs


def _path_metrics(
    model: ProbabilityModel, paths: list[np.ndarray], targets: np.ndarray, prefix: str
) -> tuple[dict[str, float], PathCurves]:
    # One batched forward pass over all canvases of all paths, split back afterwards.
    lengths = np.array([len(p) for p in paths])
    probs = _predict(model, np.concatenate(paths))
    prob_paths = np.split(probs, np.cumsum(lengths)[:-1])
    rewards = [pp[:, t] for pp, t in zip(prob_paths, targets, strict=True)]
    entropies = [entropy(pp) for pp in prob_paths]
    stats: dict[str, float] = {
        f"{prefix}{k}": float(v) for k, v in smoothness_summary(rewards, prob_paths).items()
    }
    stats[f"{prefix}entropy_start"] = float(np.mean([e[0] for e in entropies]))
    stats[f"{prefix}entropy_end"] = float(np.mean([e[-1] for e in entropies]))
    curves = PathCurves(
        reward=pad_paths(rewards, CURVE_POINTS),
        entropy=pad_paths(entropies, CURVE_POINTS),
        example_probs=prob_paths[0],
        example_start=paths[0][0],
        example_end=paths[0][-1],
        example_target=int(targets[0]),
    )
    return stats, curves


def hacking_row(
    model: ProbabilityModel, entry: Mapping[str, Any], judge: ProbabilityModel | None
) -> dict[str, float]:
    """A hacking summary from one of three forms (see :func:`evaluate_models`)."""
    if all(k in entry for k in HACKING_KEYS):
        row = {}
        for k in (*HACKING_KEYS, "n"):
            if k in entry:
                value = entry[k]
                if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                    raise ValueError(
                        f"hacking[{model.name!r}][{k!r}] must be a number, got {value!r}"
                    )
                row[k] = float(value)
        return row
    if "proxy_p" in entry and "judge_p" in entry:
        return {k: float(v) for k, v in hacking_summary(entry["proxy_p"], entry["judge_p"]).items()}
    if "canvases" in entry and "targets" in entry:
        if judge is None:
            raise ValueError(
                f"hacking[{model.name!r}] holds raw canvases: pass judge= to score them"
            )
        canvases = np.asarray(entry["canvases"])
        targets = np.asarray(entry["targets"], dtype=np.int64)
        if canvases.ndim != 3 or targets.shape != (len(canvases),):
            raise ValueError(
                f"hacking[{model.name!r}]: canvases must be (N, H, W) with targets (N,), got "
                f"{canvases.shape} and {targets.shape}"
            )
        rows = np.arange(len(canvases))
        proxy = _predict(model, canvases)[rows, targets]
        gold = _predict(judge, canvases)[rows, targets]
        return {k: float(v) for k, v in hacking_summary(proxy, gold).items()}
    raise ValueError(
        f"hacking[{model.name!r}] must hold the keys {list(HACKING_KEYS)}, or proxy_p and "
        f"judge_p arrays, or canvases and targets; got keys {sorted(entry)}"
    )


def evaluate_model(
    model: ProbabilityModel,
    data: EvalData,
    *,
    hacking: Mapping[str, Any] | None = None,
    judge: ProbabilityModel | None = None,
) -> ModelReport:
    """All metrics of one model on prepared :class:`EvalData` of its canvas size."""
    if int(model.canvas_size) != data.canvas:
        raise ValueError(
            f"model {model.name!r} has canvas {model.canvas_size}, the data {data.canvas}"
        )
    p_test = _predict(model, data.x_test)
    families = {}
    for family in EVAL_FAMILIES:
        p_out = _predict(model, data.outliers[family])
        families[family] = false_positive_summary(p_test, p_out, data.targets[family])
    forward_stats, forward = _path_metrics(model, data.forward, data.path_labels, "")
    reverse_stats, reverse = _path_metrics(model, data.reverse, data.path_labels, "reverse_")
    metadata = getattr(model, "metadata", None) or {}
    return ModelReport(
        name=str(model.name),
        canvas_size=data.canvas,
        training=dict(metadata.get("training", {})),
        accuracy=accuracy(p_test, data.y_test),
        ece=expected_calibration_error(p_test, data.y_test, n_bins=15),
        n_test=len(data.y_test),
        families=families,
        smoothness={**forward_stats, **reverse_stats},
        hacking=None if hacking is None else hacking_row(model, hacking, judge),
        forward=forward,
        reverse=reverse,
    )


def evaluate_models(
    models: Sequence[ProbabilityModel],
    *,
    seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    judge: ProbabilityModel | None = None,
    hacking: Mapping[str, Mapping[str, Any]] | None = None,
    progress: bool = False,
) -> list[ModelReport]:
    """Evaluate models on the same seeded data (one :class:`EvalData` per canvas size).

    Args:
        models: classifiers (anything with ``predict_proba``, ``canvas_size``, ``name``,
            ``metadata``); names must be unique.
        seed: seed of all evaluation data (outliers, targets, morph paths).
        n_outliers: images per outlier family.
        n_paths: number of forward (and of reverse) morph paths.
        judge: independent classifier, only used to score raw agent canvases in ``hacking``.
        hacking: optional agent results, model name -> either a summary with the keys
            :data:`HACKING_KEYS` (as :func:`~flatnet_rl.evaluation.metrics.hacking_summary`
            returns), or ``{"proxy_p": (N,), "judge_p": (N,)}``, or
            ``{"canvases": (N, H, W), "targets": (N,)}`` scored by the model and ``judge``.
        progress: show a tqdm bar over the models.

    Returns:
        One :class:`ModelReport` per model, in the order given.
    """
    from tqdm.auto import tqdm

    models = list(models)
    if not models:
        raise ValueError("need at least one model to evaluate")
    names = [str(m.name) for m in models]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"model names must be unique, got duplicates {duplicates}")
    hacking = dict(hacking or {})
    unknown = sorted(set(hacking) - set(names))
    if unknown:
        raise ValueError(f"hacking results for unknown models {unknown}; models are {names}")
    data: dict[int, EvalData] = {}
    reports = []
    for model in tqdm(models, desc="evaluate", disable=not progress, leave=False):
        canvas = int(model.canvas_size)
        if canvas not in data:
            data[canvas] = build_eval_data(
                canvas, seed=seed, n_outliers=n_outliers, n_paths=n_paths
            )
        reports.append(
            evaluate_model(model, data[canvas], hacking=hacking.get(str(model.name)), judge=judge)
        )
    return reports


# ------------------------------------------------------------------------ model specs

_FLOAT_KEYS = tuple(
    f.name for f in fields(Objective) if f.name != "loss" and isinstance(f.default, float)
)
_INT_KEYS: dict[str, int] = {"outliers": 0, "seed": 0, "epochs": 1}  # key -> minimum
#: Keys a training spec accepts: the float fields of :class:`~flatnet_rl.losses.Objective`,
#: plus ``outliers``, ``seed``, ``epochs`` and ``arch``.
SPEC_KEYS: tuple[str, ...] = (*_FLOAT_KEYS, *_INT_KEYS, "arch")
_ADDON_KEYS = ("outlier_weight", "energy_weight", "energy_m_in", "energy_m_out")


def _parse_value(spec: str, key: str, text: str) -> float | int | str:
    if key == "arch":
        if text not in ARCHITECTURES:
            raise ValueError(
                f"model spec {spec!r}: arch must be one of {sorted(ARCHITECTURES)}, got {text!r}"
            )
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

    ``LOSS`` is one of :data:`~flatnet_rl.losses.LOSSES`; keys are :data:`SPEC_KEYS`. A key
    must be used by the loss (e.g. ``kappa`` only for ``entropy``): a key the model would
    silently ignore is an error, and the outlier-exposure/energy keys need ``outliers > 0``.

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
    used = set(Objective(loss=loss, energy_weight=1.0).hyperparameters(with_outliers=True))
    for key in values:
        if key in _FLOAT_KEYS and key not in used:
            uses = sorted(used - {"loss", *_ADDON_KEYS}) or ["no hyperparameters"]
            raise ValueError(
                f"model spec {spec!r}: loss {loss!r} does not use {key!r} (it uses "
                f"{', '.join(uses)})"
            )
        if key in _ADDON_KEYS and not values.get("outliers", 0):
            raise ValueError(f"model spec {spec!r}: {key!r} needs outliers > 0")
    return loss, values


def config_from_spec(spec: str) -> TrainConfig:
    """The :class:`~flatnet_rl.training.TrainConfig` a training spec describes (name = spec).

    Defaults are those of ``TrainConfig`` and ``Objective`` (40 epochs, seed 0, embedded
    8x8 digits, no outliers), so ``ce`` matches the zoo's ``baseline``.
    """
    loss, values = parse_model_spec(spec)
    objective_values = {k: v for k, v in values.items() if k in _FLOAT_KEYS}
    train_values = {k: v for k, v in values.items() if k not in _FLOAT_KEYS}
    try:
        return TrainConfig(
            objective=Objective(loss=loss, **objective_values), name=spec, **train_values
        )
    except ValueError as err:
        raise ValueError(f"model spec {spec!r}: {err}") from err


def spec_hash(config: TrainConfig) -> str:
    """Hash of everything that determines the trained model (``TrainConfig.to_dict``).

    Specs that differ only in spelling (``ce`` and ``ce:seed=0,epochs=40``) share a hash.
    """
    canonical = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _same_training(clf: Classifier, config: TrainConfig) -> bool:
    # Round-trip through JSON so tuples and lists compare equal.
    stored = clf.metadata.get("training")
    return json.loads(json.dumps(stored)) == json.loads(json.dumps(config.to_dict()))


def resolve_model_spec(
    spec: str, cache_dir: str | Path, *, progress: bool = False, device: str = "auto"
) -> Classifier:
    """A classifier for a spec: zoo name, checkpoint path, or training spec.

    Training specs (``LOSS[:key=value,...]``, see :func:`parse_model_spec`) are trained with
    :func:`~flatnet_rl.training.train_classifier` and cached as
    ``<cache_dir>/<spec_hash>.safetensors``; a cached file whose recorded training matches
    is reused without training. The returned classifier is named ``spec``.

    Raises:
        ValueError: the spec is neither a zoo name, an existing file, nor a valid training spec.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"model spec must be a non-empty string, got {spec!r}")
    if spec in zoo_manifest():
        return load_classifier(spec, device=device)
    if Path(spec).is_file():
        return load_classifier(Path(spec), device=device)
    if spec.endswith(".safetensors") or "/" in spec:
        raise ValueError(f"model spec {spec!r}: no such checkpoint file")
    loss = spec.partition(":")[0].strip()
    if loss not in LOSSES:
        raise ValueError(
            f"unknown model spec {spec!r}: not a zoo model ({', '.join(sorted(zoo_manifest()))}), "
            f"not a checkpoint file, and {loss!r} is not a loss ({', '.join(LOSSES)})"
        )
    config = config_from_spec(spec)
    path = Path(cache_dir) / f"{spec_hash(config)}.safetensors"
    if path.is_file():
        try:
            clf = Classifier.load(path, device=device)
        except CheckpointError as err:
            warnings.warn(f"retraining {spec!r}: cached {path} is unreadable ({err})", stacklevel=2)
        else:
            if _same_training(clf, config):
                clf.name = spec
                return clf
            warnings.warn(
                f"retraining {spec!r}: cached {path} records other training", stacklevel=2
            )
    clf = train_classifier(replace(config, device=device), progress=progress).classifier
    path.parent.mkdir(parents=True, exist_ok=True)
    clf.save(path)
    clf.name = spec
    return clf


def evaluate_spec(
    spec: str,
    cache_dir: str | Path,
    *,
    seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    progress: bool = False,
) -> ModelReport:
    """:func:`resolve_model_spec` then :func:`evaluate_models` for one spec.

    A picklable unit of work for worker processes: the evaluation data depend only on
    ``seed`` and the canvas size, so reports made in different processes are comparable.
    """
    clf = resolve_model_spec(spec, cache_dir, progress=progress)
    (report,) = evaluate_models([clf], seed=seed, n_outliers=n_outliers, n_paths=n_paths)
    return report
