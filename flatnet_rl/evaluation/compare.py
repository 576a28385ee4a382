"""Compare reward models on the same seeded data: false positives, smoothness, hacking.

>>> from flatnet_rl import load_classifier
>>> from flatnet_rl.evaluation.compare import evaluate_models
>>> reports = evaluate_models([load_classifier("flatnet"), load_classifier("baseline")])
>>> reports[0].summary()["max_prob"] < reports[1].summary()["max_prob"]
True

Every model is scored on :class:`~flatnet_rl.evaluation.data.EvalData` built once per data
set and image size. The metrics (definitions in :mod:`flatnet_rl.evaluation.metrics` and
``docs/methods.md``):

* **Test images**: top-1 ``accuracy`` and ``ece`` (15 equal-width bins).
* **False-positive reward**, per outlier family: ``mean_msp`` (mean max-probability),
  ``mean_p_target`` (mean probability of a random target class per image), ``fpr95`` (FPR
  at 95% TPR of the MSP, **class-positive**: the threshold keeps 95% of the real test images,
  the value is the fraction of outliers at or above it) and ``auroc``.
* **Reward smoothness** along flatnet's morph paths (test image -> random image, reward
  ``r_t = p_target``): ``tv_ratio``, ``autocorr``, ``argmax_flips``, ``mean_abs_delta``,
  ``entropy_start``, ``entropy_end``; the same on the reverse paths, prefixed ``reverse_``.
* **Reward hacking** (optional, from agent runs): the
  :mod:`~flatnet_rl.agents.hacking` schema (proxy and judge p_target, gap, fooling rate).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from flatnet_rl.agents.hacking import CORE_KEYS, hacking_summary
from flatnet_rl.data import NUM_CLASSES, DataSpec
from flatnet_rl.evaluation.data import EvalData, build_eval_data
from flatnet_rl.evaluation.metrics import (
    accuracy,
    expected_calibration_error,
    false_positive_summary,
)
from flatnet_rl.evaluation.morph import pad_paths
from flatnet_rl.evaluation.smoothness import smoothness_summary
from flatnet_rl.numerics import entropy
from flatnet_rl.training.model_specs import resolve_model_spec
from flatnet_rl.util.checks import is_number
from flatnet_rl.util.jsonio import json_safe

__all__ = [
    "CURVE_POINTS",
    "ModelReport",
    "PathCurves",
    "evaluate_model",
    "evaluate_models",
    "evaluate_spec",
    "hacking_row",
    "load_hacking",
]

#: Number of points mean curves are resampled to (normalised progress 0, 0.01, ..., 1).
CURVE_POINTS = 101
#: Images per forward pass: bounds memory on large inputs (28x28 paths are long).
_PREDICT_BATCH = 4096


class ProbabilityModel(Protocol):
    """What :func:`evaluate_models` needs from a model (a :class:`Classifier` or a fake)."""

    name: str
    metadata: dict

    def predict_proba(self, images: Any, **kwargs: Any) -> np.ndarray: ...


@dataclass(frozen=True)
class PathCurves:
    """Morph-path outputs of one model kept for plotting (not part of ``results.json``).

    Attributes:
        reward: ``p_target`` resampled to :data:`CURVE_POINTS` points of normalised
            progress (:func:`~flatnet_rl.evaluation.morph.pad_paths`), ``(P, CURVE_POINTS)``.
        entropy: entropy of the class distribution, resampled the same way.
        example_probs: class probabilities along path 0, ``(L_0+1, K)``.
        example_start, example_end: the first and last image of path 0 (scaled to [0, 1]).
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
        image_size: its input ``(H, W)``.
        training: its training record from the checkpoint metadata (empty if unknown).
        accuracy, ece: on the test images.
        n_test: number of test images.
        families: family -> ``{"mean_msp", "mean_p_target", "fpr95", "auroc"}``.
        smoothness: ``tv_ratio``, ``autocorr``, ``argmax_flips``, ``mean_abs_delta``,
            ``entropy_start``, ``entropy_end``, ``n_paths`` and the same with ``reverse_``.
        hacking: agent results in the :mod:`~flatnet_rl.agents.hacking` schema, or ``None``.
        num_classes: K (a flat output has max-probability 1/K).
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
    num_classes: int = NUM_CLASSES
    forward: PathCurves | None = field(default=None, repr=False)
    reverse: PathCurves | None = field(default=None, repr=False)

    def summary(self) -> dict[str, float]:
        """The table's values: ``accuracy``, ``ece``; ``max_prob``, ``p_target``, ``fpr95``,
        ``auroc`` as unweighted means over the outlier families; the forward-path
        ``tv_ratio``, ``autocorr``, ``argmax_flips``; per-family ``max_prob[FAMILY]``; and the
        hacking core keys when present."""
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
            row.update({k: float(self.hacking[k]) for k in CORE_KEYS})
        return row

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metrics (NaN becomes ``None``); curves are left out."""
        return json_safe(
            {
                "name": self.name,
                "canvas_size": self.canvas_size,
                "num_classes": self.num_classes,
                "training": self.training,
                "summary": self.summary(),
                "digits": {"accuracy": self.accuracy, "ece": self.ece, "n_test": self.n_test},
                "families": self.families,
                "smoothness": self.smoothness,
                "hacking": self.hacking,
            }
        )


def _predict(model: ProbabilityModel, images: np.ndarray, value_range: Any) -> np.ndarray:
    """``predict_proba`` in chunks, checked to be finite ``(N, K)``."""
    parts = [
        np.asarray(
            model.predict_proba(
                images[i : i + _PREDICT_BATCH], value_range=value_range, batched=True
            ),
            dtype=np.float64,
        )
        for i in range(0, len(images), _PREDICT_BATCH)
    ]
    probs = np.concatenate(parts)
    if probs.ndim != 2 or probs.shape[0] != len(images):
        raise ValueError(
            f"model {model.name!r}: predict_proba must return shape ({len(images)}, K), "
            f"got {probs.shape}"
        )
    if not np.isfinite(probs).all():
        raise ValueError(f"model {model.name!r} returned non-finite probabilities")
    return probs


def _unit(image: np.ndarray, value_range: Any) -> np.ndarray:
    low, high = value_range
    return (image.astype(np.float64) - low) / (high - low)


def _path_metrics(
    model: ProbabilityModel, data: EvalData, paths: list[np.ndarray], prefix: str
) -> tuple[dict[str, float], PathCurves]:
    # One batched forward pass over all images of all paths, split back afterwards.
    lengths = np.array([len(p) for p in paths])
    value_range = data.outlier_range()
    probs = _predict(model, np.concatenate(paths), value_range)
    prob_paths = np.split(probs, np.cumsum(lengths)[:-1])
    targets = data.path_labels
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
        example_start=_unit(paths[0][0], value_range),
        example_end=_unit(paths[0][-1], value_range),
        example_target=int(targets[0]),
    )
    return stats, curves


def hacking_row(
    model: ProbabilityModel, entry: Mapping[str, Any], judge: ProbabilityModel | None
) -> dict[str, float]:
    """A hacking summary from one of four forms: an ``evaluate-agent`` ``eval.json`` (its
    ``overall``), a summary with the core keys, per-episode ``proxy_p``/``judge_p`` arrays,
    or raw ``canvases`` (binary 0/1) and ``targets`` scored by the model and ``judge``."""
    if "overall" in entry and isinstance(entry["overall"], Mapping):
        entry = entry["overall"]
    if all(k in entry for k in CORE_KEYS):
        row = {}
        for k in (*CORE_KEYS, "episodes"):
            if k in entry:
                value = entry[k]
                if not is_number(value):
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
        proxy = _predict(model, canvases, (0, 1))[rows, targets]
        gold = _predict(judge, canvases, (0, 1))[rows, targets]
        return {k: float(v) for k, v in hacking_summary(proxy, gold).items()}
    raise ValueError(
        f"hacking[{model.name!r}] must be an evaluate-agent eval.json, hold the keys "
        f"{list(CORE_KEYS)}, proxy_p and judge_p arrays, or canvases and targets; got keys "
        f"{sorted(entry)}"
    )


def load_hacking(path: str | Path) -> dict[str, dict]:
    """``--hacking`` file: a JSON object model name -> hacking entry (see :func:`hacking_row`)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"--hacking {path}: cannot read JSON ({err})") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"--hacking {path}: expected a JSON object model name -> object")
    return data


def evaluate_model(
    model: ProbabilityModel,
    data: EvalData,
    *,
    hacking: Mapping[str, Any] | None = None,
    judge: ProbabilityModel | None = None,
) -> ModelReport:
    """All metrics of one model on prepared :class:`EvalData`."""
    try:
        p_test = _predict(model, data.x_test, data.value_range)
        families = {}
        for family in data.families:
            p_out = _predict(model, data.outliers[family], data.outlier_range())
            families[family] = false_positive_summary(p_test, p_out, data.targets[family])
        forward_stats, forward = _path_metrics(model, data, data.forward, "")
        reverse_stats, reverse = _path_metrics(model, data, data.reverse, "reverse_")
    except ValueError as err:
        raise ValueError(f"model {model.name!r} cannot be evaluated on this data: {err}") from err
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
        num_classes=p_test.shape[1],
        forward=forward,
        reverse=reverse,
    )


def _model_size(model: ProbabilityModel) -> int:
    spec = getattr(model, "input_spec", None)
    if spec is not None and spec.square_side is not None:
        return int(spec.square_side)
    return int(model.canvas_size)


def _model_data(data: DataSpec, model: ProbabilityModel) -> DataSpec:
    """Your images at the model's own input size (``--data`` without ``--image-size``): each
    model is evaluated on images of the size it takes, not on full-size frames, resized as
    it was trained (squashed, or cropped when it declares a crop)."""
    if data.source != "images" or data.canvas is not None:
        return data
    spec = getattr(model, "input_spec", None)
    side = None if spec is None else spec.square_side
    if side is None:
        return data
    return dataclasses.replace(data, canvas=int(side), crop=bool(spec.crop))


def evaluate_models(
    models: Sequence[ProbabilityModel],
    *,
    seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    judge: ProbabilityModel | None = None,
    hacking: Mapping[str, Mapping[str, Any]] | None = None,
    data: DataSpec | None = None,
    progress: bool = False,
) -> list[ModelReport]:
    """Evaluate models on the same seeded data (one :class:`EvalData` per canvas size, or
    the given ``data`` for all).

    Args:
        models: classifiers (anything with ``predict_proba``, ``name``, ``metadata`` and an
            ``input_spec`` or ``canvas_size``); names must be unique.
        seed: seed of all evaluation data (outliers, targets, morph paths).
        n_outliers: images per outlier family.
        n_paths: number of forward (and of reverse) morph paths.
        judge: independent classifier, only used to score raw agent canvases in ``hacking``.
        hacking: optional agent results, model name -> entry (see :func:`hacking_row`).
        data: labelled images to evaluate on (default: the embedded digits at each model's
            canvas size).
        progress: show a tqdm bar over the models.

    Returns:
        One :class:`ModelReport` per model, in the order given.
    """
    from tqdm.auto import tqdm

    from flatnet_rl.util.threads import ensure_thread_policy

    ensure_thread_policy()
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
    cache: dict[Any, EvalData] = {}
    reports = []
    for model in tqdm(models, desc="evaluate", disable=not progress, leave=False):
        key = _model_data(data, model) if data is not None else _model_size(model)
        if key not in cache:
            cache[key] = build_eval_data(
                None if data is not None else key,
                seed=seed,
                n_outliers=n_outliers,
                n_paths=n_paths,
                data=key if data is not None else None,
            )
        reports.append(
            evaluate_model(model, cache[key], hacking=hacking.get(str(model.name)), judge=judge)
        )
    return reports


def evaluate_spec(
    spec: str,
    cache_dir: str | Path,
    *,
    seed: int = 0,
    n_outliers: int = 1000,
    n_paths: int = 100,
    data: DataSpec | None = None,
    progress: bool = False,
) -> ModelReport:
    """:func:`~flatnet_rl.training.specs.resolve_model_spec` then :func:`evaluate_models` for
    one spec: a picklable unit of work for worker processes (the evaluation data depend only
    on ``seed`` and the data, so reports made in different processes are comparable)."""
    clf = resolve_model_spec(spec, cache_dir, progress=progress, data=data)
    (report,) = evaluate_models([clf], seed=seed, n_outliers=n_outliers, n_paths=n_paths, data=data)
    return report
