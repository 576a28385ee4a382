"""Classifier training: any objective from :mod:`flatnet_rl.losses`, optional outlier exposure.

>>> from flatnet_rl.training import TrainConfig, train_classifier
>>> result = train_classifier(TrainConfig(objective=Objective("entropy"), outliers=2000))
>>> result.metrics["test_accuracy"] > 0.9
True

Works on any labelled images (:class:`~flatnet_rl.data.DataSpec`: the digit sources or your
own image folder / ``.npz``): every image, digit or outlier, reaches the model through the
input spec the classifier will declare (:meth:`~flatnet_rl.data.images.InputSpec.prepare`),
the same conversion it uses at inference. Outliers come from generated families of the
data's format and, optionally, from random-policy frames of an environment
(``env_outliers``); ``init`` fine-tunes an existing classifier with the chosen objective
(flatnet's original use: flatten a classifier someone already has).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.clip.net import PARTS as CLIP_PARTS
from flatnet_rl.data import DataSpec, DataSplit, InputSpec, load_dataset, make_family
from flatnet_rl.data.frames import collect_frames
from flatnet_rl.data.outliers import (
    DEFAULT_DENSITY,
    families_for,
    make_outliers,
    outlier_format,
)
from flatnet_rl.losses import Objective
from flatnet_rl.models import build_classifier_net, check_arch
from flatnet_rl.numerics import entropy
from flatnet_rl.training.augment import random_shift, random_stroke_width
from flatnet_rl.training.checks import accuracy_warnings
from flatnet_rl.training.clip_head import is_clip_init, train_clip_head
from flatnet_rl.util.checks import check_fields, choice_field, float_field, int_field
from flatnet_rl.util.devices import resolve_device
from flatnet_rl.util.threads import ensure_thread_policy

#: Seed of the held-out random images every model is scored on, independent of the
#: training seed so that models are compared on the same images.
EVAL_SEED = 20_231_018
EVAL_RANDOM = 2000
#: Hard limits that keep a typo from running for days (and tqdm from overflowing).
MAX_EPOCHS = 100_000
MAX_OUTLIERS = 10_000_000


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained classifier (recorded in its checkpoint).

    Attributes:
        objective: loss and hyperparameters (:class:`~flatnet_rl.losses.Objective`).
        arch: the network: ``flatnet``, ``flatnet_lite``, ``lenet``, ``dropmax``, ``mlp`` or
            ``timm:<name>`` (needs the timm extra).
        data: which labelled images.
        outliers: generated outlier images (target: uniform); 0 = no outlier exposure.
        outlier_families: which families (``None``: the data format's training families, all
            but blocks, held out for evaluation).
        outlier_ratio: at most this many outliers per labelled image in a step.
        epochs: training epochs (AdamW with cosine decay).
        batch_size: labelled images per step.
        lr: the AdamW learning rate.
        weight_decay: the AdamW weight decay.
        shift: random translation augmentation, in pixels (less than half the image side).
        stroke_width_aug: binary canvases only: the probability that a training digit's
            strokes are made one pixel thicker or (keeping at least 40% of the ink) thinner,
            half and half: agents draw with other pens than the data's writers (a judge of
            stroke agents uses it; 0 keeps the digits as they are).
        seed: the training seed (data order, outliers, initial weights).
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        name: the model name stored in the checkpoint (``None``: the file name).
        env_outliers: how many frames of random-policy episodes of env_id are added as
            outliers (0 without env_id).
        env_id: a Gymnasium env whose random-policy frames are outliers (``module:EnvId``
            imports the module first).
        env_image: where that env's image is: ``auto``, an observation key or ``render``.
        init: a classifier to fine-tune, a zoo name (``flatnet``, ...) or a checkpoint path
            (same architecture, input and classes); a CLIP checkpoint trains only its head.
        evaluation_only: mark the model as a judge: it can evaluate agents, never reward them.
        clip_part: CLIP only: train the class text embeddings (``text``) or a linear head on
            the frozen image features (``head``); ``None``: the checkpoint's.
    """

    objective: Objective = field(default_factory=Objective)
    arch: str = "flatnet"
    data: DataSpec = field(default_factory=DataSpec)
    outliers: int = int_field(0, 0, MAX_OUTLIERS)
    outlier_families: tuple[str, ...] | None = None
    outlier_ratio: float = float_field(2.0, "(0, 16]")
    epochs: int = int_field(40, 1, MAX_EPOCHS)
    batch_size: int = int_field(128, 1, 1 << 20)
    lr: float = float_field(1e-3, "(0, inf)")
    weight_decay: float = float_field(1e-2, "[0, inf)")
    shift: int = int_field(1, 0)
    stroke_width_aug: float = float_field(0.0, "[0, 1]")
    seed: int = int_field(0, 0, 2**32 - 1)
    device: str = "auto"
    name: str | None = None
    env_outliers: int = int_field(0, 0, MAX_OUTLIERS)
    env_id: str | None = None
    env_image: str = "auto"
    init: str | None = None
    evaluation_only: bool = False
    clip_part: str | None = choice_field(None, CLIP_PARTS)

    def __post_init__(self) -> None:
        if self.objective.loss == "dropmax" and self.arch != "dropmax":
            # DropMax needs its extra heads: pick the architecture for the user.
            object.__setattr__(self, "arch", "dropmax")
        check_arch(self.arch)
        check_fields(self)
        side = self.data.canvas
        if side is not None and not 0 <= self.shift < side // 2:
            raise ValueError(
                f"shift must be in [0, {side // 2 - 1}] for side {side}, got {self.shift}"
            )
        if self.stroke_width_aug and not self.data.is_digits:
            raise ValueError("stroke_width_aug is for binary digit canvases, not images")
        if self.outlier_families is not None:
            families = tuple(self.outlier_families)
            known = families_for(8 if self.data.is_digits else (8, 8, 3))
            if not families or set(families) - set(known):
                raise ValueError(
                    f"outlier_families must be a non-empty subset of {known}, got {families}"
                )
            object.__setattr__(self, "outlier_families", families)
        if self.env_outliers and not self.env_id:
            raise ValueError("env_outliers needs env_id (the env whose frames are outliers)")

    def families(self) -> tuple[str, ...]:
        """The outlier families used (explicit, or the data format's training families)."""
        if self.outlier_families is not None:
            return self.outlier_families
        return families_for(8 if self.data.is_digits else (8, 8, 3), train=True)

    def to_dict(self) -> dict:
        values = {
            "arch": self.arch,
            "objective": self.objective.hyperparameters(with_outliers=self.uses_outliers),
            "data": self.data.to_dict(),
            "outliers": self.outliers,
            "outlier_families": list(self.families()) if self.outliers else [],
            "outlier_ratio": self.outlier_ratio,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "weight_decay": self.weight_decay,
            "shift": self.shift,
            "seed": self.seed,
        }
        # Recorded only when used, so records of plain runs keep their old form and hash.
        if self.env_outliers:
            values.update(env_outliers=self.env_outliers, env_id=self.env_id)
            values["env_image"] = self.env_image
        if self.init:
            values["init"] = self.init
        if self.evaluation_only:
            values["evaluation_only"] = True
        if self.stroke_width_aug:
            values["stroke_width_aug"] = self.stroke_width_aug
        if self.clip_part is not None:
            values["clip_part"] = self.clip_part
        return values

    @property
    def uses_outliers(self) -> bool:
        return self.outliers > 0 or self.env_outliers > 0


@dataclass
class TrainResult:
    """A trained classifier, its quick metrics, per-epoch losses and the wall time (kept out
    of the checkpoint, so identical training writes identical bytes)."""

    classifier: Classifier
    metrics: dict[str, float]
    history: list[dict[str, float]]
    seconds: float = 0.0
    #: What the user must be told about the result (accuracy near chance).
    warnings: list[str] = dataclasses.field(default_factory=list)


def eval_random_images(data: DataSplit, n: int = EVAL_RANDOM) -> np.ndarray:
    """The fixed held-out random images of the data's format: Bernoulli canvases (densities
    0.03-0.5) for digits, uniform colour noise for images."""
    rng = np.random.default_rng(EVAL_SEED)
    if data.is_binary:
        return make_family("bernoulli", n, data.canvas, rng, density=DEFAULT_DENSITY)
    return make_family("noise", n, (*data.image_size, data.channels), rng)


def eval_random_canvases(canvas: int, n: int = EVAL_RANDOM) -> np.ndarray:
    """The held-out Bernoulli canvases of the digit metrics (see :func:`eval_random_images`)."""
    return make_family(
        "bernoulli", n, canvas, np.random.default_rng(EVAL_SEED), density=DEFAULT_DENSITY
    )


def quick_metrics(clf: Classifier, data: DataSplit) -> dict[str, float]:
    """Test accuracy and mean max-probability / entropy on held-out random images."""
    probs = clf.predict_proba(data.x_test, value_range=data.value_range, batched=True)
    rand = clf.predict_proba(
        eval_random_images(data),
        value_range=None if not data.is_binary else (0, 1),
        batched=True,
    )
    return {
        "test_accuracy": float((probs.argmax(-1) == data.y_test).mean()),
        "test_mean_max_prob": float(probs.max(-1).mean()),
        "random_mean_max_prob": float(rand.max(-1).mean()),
        "random_mean_entropy": float(entropy(rand).mean()),
    }


def _outlier_pool(config: TrainConfig, data: DataSplit, spec: InputSpec) -> torch.Tensor:
    """Generated outliers of the data's format, plus env frames, as model input."""
    # Generated outliers are uint8 0..255 even for float data: prepared with their own range.
    shape, examples, value_range = outlier_format(data.x_train)
    generated = make_outliers(
        config.outliers,
        shape,
        seed=config.seed + 1,
        families=config.families(),
        examples=examples,
    )
    pool = [spec.prepare(generated, value_range=value_range, batched=True)[0]]
    if config.env_outliers:
        frames, frame_range = collect_frames(
            config.env_id, config.env_outliers, seed=config.seed + 2, image=config.env_image
        )
        pool.append(
            spec.prepare(frames, value_range=frame_range, batched=True, resize_to_fit=True)[0]
        )
    return torch.cat(pool)


def _initial_model(config: TrainConfig, spec: InputSpec, class_names: tuple[str, ...]):
    if config.init is None:
        return build_classifier_net(config.arch, spec.size, len(class_names), spec.channels)
    base = load_classifier(config.init, device="cpu")  # a zoo name or a checkpoint path
    mismatch = [
        what
        for what, ours, theirs in (
            ("architecture", config.arch, base.metadata["arch"]),
            ("input", spec, base.input_spec),
            ("classes", class_names, base.class_names),
        )
        if ours != theirs
    ]
    if mismatch:
        raise ValueError(
            f"cannot fine-tune {config.init}: its {', '.join(mismatch)} differ from the "
            f"training run's (arch {base.metadata['arch']!r}, input {base.input_spec.size}x"
            f"{base.input_spec.channels}, classes {list(base.class_names)})"
        )
    return base.model.to(memory_format=torch.contiguous_format).train()


def train_classifier(config: TrainConfig, *, progress: bool = True) -> TrainResult:
    """Train a classifier; deterministic for a seed on a given machine and device.

    Each step sees a batch of labelled images and, with outliers, a batch from a fixed pool
    (generated from the seed) whose target is uniform; the outlier batch is sized to cycle
    the pool once per epoch, at most ``outlier_ratio`` times the labelled batch.
    """
    ensure_thread_policy()
    started = time.perf_counter()
    if is_clip_init(config.init):  # flatten a CLIP reward: its head on frozen features
        clf, history, data = train_clip_head(config, progress=progress)
        clf.metadata["metrics"] = metrics = quick_metrics(clf, data)
        return TrainResult(clf, metrics, history, round(time.perf_counter() - started, 2))
    if config.clip_part is not None:
        raise ValueError("clip_part applies to fine-tuning a CLIP classifier (init=)")
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    data = load_dataset(config.data)
    data.tell_notes()
    spec = data.input_spec(crop=config.data.crop)
    if config.shift and not 0 <= config.shift < min(spec.size) // 2:
        raise ValueError(f"shift must be below half the image side {spec.size}, got {config.shift}")
    x_train, _ = spec.prepare(data.x_train, value_range=data.value_range, batched=True)
    y_train = torch.from_numpy(data.y_train)
    x_pool = _outlier_pool(config, data, spec) if config.uses_outliers else x_train[:0]
    counts = np.bincount(data.y_train, minlength=data.num_classes).astype(np.float64)
    log_priors = torch.from_numpy(np.log(np.maximum(counts, 1) / counts.sum())).float().to(device)

    model = _initial_model(config, spec, data.class_names).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
    out_batch = min(
        math.ceil(len(x_pool) / steps_per_epoch), int(config.outlier_ratio * config.batch_size)
    )
    # Cosine decay: the last epochs refine at a small learning rate, which steadies accuracy
    # across seeds on the small embedded data set.
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    history: list[dict[str, float]] = []
    bar = tqdm(range(config.epochs), desc=f"train {config.objective.loss}", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        out_order = torch.randperm(len(x_pool), generator=gen) if len(x_pool) else None
        totals: dict[str, float] = {}
        for step in range(steps_per_epoch):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            xb = random_stroke_width(x_train[idx], config.stroke_width_aug, gen)
            xb = random_shift(xb, config.shift, gen).to(device)
            yb = y_train[idx].to(device)
            xo = None
            if out_order is not None and out_batch:
                start = (step * out_batch) % len(x_pool)
                oidx = out_order[start : start + out_batch]
                xo = x_pool[oidx].to(device)
            loss, parts = config.objective(model, xb, yb, xo, log_priors)
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch + 1}, step {step + 1} (loss {loss}): "
                    "lower --lr or check the hyperparameters"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in parts.items():
                totals[key] = totals.get(key, 0.0) + value / steps_per_epoch
        scheduler.step()
        history.append({"epoch": epoch + 1, **totals})
        bar.set_postfix({k: f"{v:.3f}" for k, v in totals.items()})

    metadata = {
        "name": config.name or config.objective.loss,
        "arch": config.arch,
        "input": spec.to_dict(),
        "class_names": list(data.class_names),
        "training": config.to_dict(),
        "class_log_priors": log_priors.cpu().tolist(),
        "evaluation_only": config.evaluation_only,
    }
    clf = Classifier(model, metadata, device=device)
    metrics = quick_metrics(clf, data)
    clf.metadata["metrics"] = metrics
    warned = accuracy_warnings(metrics["test_accuracy"], data.y_test, data.num_classes)
    return TrainResult(clf, metrics, history, round(time.perf_counter() - started, 2), warned)


def config_from_dict(values: dict) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` from :meth:`TrainConfig.to_dict` output."""
    values = dict(values)
    objective = Objective(**values.pop("objective"))
    data = DataSpec.from_dict(values.pop("data"))
    families = values.get("outlier_families")
    values["outlier_families"] = tuple(families) if families else None
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(
        objective=objective, data=data, **{k: v for k, v in values.items() if k in known}
    )


__all__ = [
    "EVAL_RANDOM",
    "EVAL_SEED",
    "TrainConfig",
    "TrainResult",
    "config_from_dict",
    "eval_random_canvases",
    "eval_random_images",
    "quick_metrics",
    "train_classifier",
]
