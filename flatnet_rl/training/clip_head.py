"""Flattening a CLIP reward: train only its head on frozen image features.

``train_classifier(TrainConfig(init=<CLIP checkpoint>, ...))`` lands here. The CLIP image
tower is frozen, so every labelled image and every outlier is embedded once; the head
(:class:`~flatnet_rl.clip.ClipHead`: the class text embeddings, part ``"text"``, or a linear
head initialised at the zero-shot classifier, part ``"head"``) is then trained on those
features with any objective of :mod:`flatnet_rl.losses` plus outlier exposure, as the other
classifiers are. That makes flattening practical on CPU: an epoch costs a matrix product.
No augmentation (``shift``) is applied: the features are computed once (recorded as 0).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.clip import CLIP_ARCH, PARTS, ClipHead, ClipNet
from flatnet_rl.data import load_dataset
from flatnet_rl.data.frames import collect_frames
from flatnet_rl.data.outliers import make_outliers, outlier_format
from flatnet_rl.losses import LOSS_DEFS
from flatnet_rl.util.devices import resolve_device

#: Images embedded per forward pass of the frozen tower.
FEATURE_BATCH = 256


def is_clip_init(init: str | None) -> bool:
    """Whether ``init`` names a CLIP checkpoint (read from its metadata, nothing loaded)."""
    if not init:
        return False
    from flatnet_rl.checkpoint import read_metadata
    from flatnet_rl.shipped import checkpoint_path

    try:
        return read_metadata(checkpoint_path(init)).get("arch") == CLIP_ARCH
    except (ValueError, OSError):
        return False


@torch.inference_mode()
def image_features(
    clf: Classifier, images: Any, value_range: Any = None, resize_to_fit: bool = True
) -> torch.Tensor:
    """Normalised CLIP image embeddings ``(N, D)`` float32, on the CPU, in batches."""
    net: ClipNet = clf.model
    out = []
    for start in range(0, len(images), FEATURE_BATCH):
        batch, _ = clf.prepare(
            images[start : start + FEATURE_BATCH],
            value_range=value_range,
            batched=True,
            resize_to_fit=resize_to_fit,
        )
        out.append(net.features(batch.to(clf.device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 1)


def _head_for(net: ClipNet, part: str) -> ClipHead:
    """The trainable head: a copy of the base's, or the other part started from it."""
    if part == net.head.part:
        return copy.deepcopy(net.head).cpu()
    if net.head.part == "text":  # a linear head started at the zero-shot classifier
        return ClipHead(net.head.class_embeddings.detach().cpu(), float(net.head.logit_scale), part)
    raise ValueError("a linear CLIP head cannot become class text embeddings again")


def _outlier_features(config, data, clf: Classifier) -> torch.Tensor:
    pool = []
    if config.outliers:
        shape, examples, value_range = outlier_format(data.x_train)
        generated = make_outliers(
            config.outliers,
            shape,
            seed=config.seed + 1,
            families=config.families(),
            examples=examples,
        )
        pool.append(image_features(clf, generated, value_range))
    if config.env_outliers:
        frames, frame_range = collect_frames(
            config.env_id, config.env_outliers, seed=config.seed + 2, image=config.env_image
        )
        pool.append(image_features(clf, frames, frame_range))
    return torch.cat(pool) if pool else torch.zeros(0, 1)


def train_clip_head(config, *, progress: bool = True) -> tuple[Classifier, list[dict], Any]:
    """Fine-tune the head of the CLIP classifier ``config.init`` (see the module docstring);
    deterministic for a seed. Returns the classifier, per-epoch losses and the data."""
    if LOSS_DEFS[config.objective.loss].needs == "heads":
        raise ValueError(f"loss {config.objective.loss!r} needs extra heads: not for CLIP")
    part = config.clip_part
    if part is not None and part not in PARTS:
        raise ValueError(f"clip_part must be one of {PARTS}, got {part!r}")
    config = dataclasses.replace(config, shift=0)
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    data = load_dataset(config.data)
    base = load_classifier(config.init, device=device)
    if tuple(base.class_names) != tuple(data.class_names):
        raise ValueError(
            f"cannot fine-tune {config.init}: its classes {list(base.class_names)} differ from "
            f"the data's {list(data.class_names)}"
        )
    part = part or base.model.head.part
    x_train = image_features(base, data.x_train, data.value_range)
    y_train = torch.from_numpy(data.y_train)
    x_pool = _outlier_features(config, data, base) if config.uses_outliers else x_train[:0]
    counts = np.bincount(data.y_train, minlength=data.num_classes).astype(np.float64)
    log_priors = torch.from_numpy(np.log(np.maximum(counts, 1) / counts.sum())).float()

    head = _head_for(base.model, part).train()
    params = [p for p in head.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    steps = math.ceil(len(x_train) / config.batch_size)
    out_batch = min(math.ceil(len(x_pool) / steps), int(config.outlier_ratio * config.batch_size))
    history: list[dict[str, float]] = []
    bar = tqdm(range(config.epochs), desc=f"flatten CLIP {part}", disable=not progress)
    for epoch in bar:
        order = torch.randperm(len(x_train), generator=gen)
        out_order = torch.randperm(len(x_pool), generator=gen) if len(x_pool) else None
        totals: dict[str, float] = {}
        for step in range(steps):
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            xo = None
            if out_order is not None and out_batch:
                start = (step * out_batch) % len(x_pool)
                xo = x_pool[out_order[start : start + out_batch]]
            loss, parts = config.objective(head, x_train[idx], y_train[idx], xo, log_priors)
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch + 1} (loss {loss}): lower --lr"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for key, value in parts.items():
                totals[key] = totals.get(key, 0.0) + value / steps
        scheduler.step()
        history.append({"epoch": epoch + 1, **totals})
        bar.set_postfix({k: f"{v:.3f}" for k, v in totals.items()})

    net = ClipNet(base.model.tower, head.eval())
    clip_meta = {**base.metadata["clip"], "part": part}
    metadata = {
        "name": config.name or f"{base.name} flattened",
        "arch": CLIP_ARCH,
        "input": base.input_spec.to_dict(),
        "class_names": list(base.class_names),
        "clip": clip_meta,
        "training": config.to_dict(),
        "class_log_priors": log_priors.tolist(),
        "evaluation_only": config.evaluation_only,
    }
    return Classifier(net, metadata, device=device), history, data


__all__ = ["FEATURE_BATCH", "image_features", "is_clip_init", "train_clip_head"]
