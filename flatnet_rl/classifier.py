"""The classifier API: a model that declares its input, scores images in validated batches.

Three ways in:

>>> from flatnet_rl import Classifier, load_classifier
>>> clf = load_classifier("flatnet")                      # shipped (or a .safetensors path)
>>> clf.predict_proba(np.zeros((8, 8), bool)).shape
(10,)
>>> mine = Classifier.from_module(my_net, image_size=32, channels=3,   # doctest: +SKIP
...                               class_names=["circle", "square", "cross"])

A classifier declares what it takes (:attr:`Classifier.input_spec`: channels, size,
threshold or normalization; see :mod:`flatnet_rl.data.images`) and its
:attr:`~Classifier.class_names`; every input goes through that one conversion, with a value
range that is declared, never guessed from the batch.

The shipped models' names and files are in :mod:`flatnet_rl.shipped`, the contract a
user's module is held to in :mod:`flatnet_rl.module_contract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from flatnet_rl._version import __version__
from flatnet_rl.checkpoint import (
    CheckpointError,
    is_evaluation_only,
    load_checkpoint,
    save_checkpoint,
)
from flatnet_rl.clip import CLIP_ARCH, rebuild_clip_net
from flatnet_rl.data.images import ArrayLike, CanvasError, InputSpec
from flatnet_rl.data.labelled import DIGIT_CLASS_NAMES
from flatnet_rl.models import build_classifier_net
from flatnet_rl.module_contract import (
    OUTPUTS,
    OutputWarning,
    check_module_contract,
    output_features,
)
from flatnet_rl.shipped import checkpoint_path, zoo_judge_fingerprints, zoo_manifest, zoo_name
from flatnet_rl.util.checks import check_plain_int, is_plain_int
from flatnet_rl.util.devices import inference_threads, resolve_device

#: Images per forward pass: large batches are split so activations stay in the CPU cache
#: (measured 1.9x more canvases/s at 512 than at 4096 in one pass; benchmarks/bench_reward.py).
CHUNK = 512
#: Architecture name recorded for :meth:`Classifier.from_module` models.
CUSTOM_ARCH = "module"


def _check_class_names(names: Any) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise ValueError(f"class_names must be a list of strings, got {names!r:.60}")
    names = tuple(names)
    if len(names) < 2 or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"class_names must be >= 2 non-empty strings, got {list(names)!r:.80}")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names must be unique, got {list(names)}")
    return names


def _upgrade_v1(meta: dict[str, Any]) -> dict[str, Any]:
    """Format-1 checkpoints held binary square digit canvases and ``num_classes`` only."""
    canvas, k = meta["canvas_size"], meta["num_classes"]
    if not is_plain_int(canvas):
        raise ValueError(f"canvas_size must be an integer, got {canvas!r}")
    check_plain_int("num_classes", k, 2)
    meta = {k_: v for k_, v in meta.items() if k_ not in ("canvas_size", "num_classes")}
    meta["input"] = InputSpec.binary(canvas).to_dict()
    names = DIGIT_CLASS_NAMES if k == len(DIGIT_CLASS_NAMES) else (str(i) for i in range(k))
    meta["class_names"] = list(names)
    return meta


class Classifier:
    """A trained image classifier with a batched, validated, autograd-free interface.

    Inputs: one image or a batch, numpy or torch, in any layout and (for image models) any
    size that :meth:`InputSpec.prepare <flatnet_rl.data.images.InputSpec.prepare>` reads.
    Outputs follow the input: numpy in, numpy out; torch in, torch out (on this classifier's
    device). Digit models (binary canvases) insist on their canvas size in direct calls.

    Attributes:
        input_spec: what the model takes and how images become it.
        class_names: one name per output class (digits: ``"0"`` .. ``"9"``).
        metadata: everything recorded with the model (training, metrics, ...).
        evaluation_only: a judge: never usable as a reward.
    """

    def __init__(
        self, model: nn.Module, metadata: dict, device: str | torch.device = "auto"
    ) -> None:
        self.device = resolve_device(device)
        self.input_spec = InputSpec.from_dict(metadata["input"])
        self.class_names = _check_class_names(metadata["class_names"])
        # channels_last lets oneDNN run the convolutions about twice as fast on CPU.
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.metadata = metadata
        self.name = str(metadata.get("name", metadata["arch"]))
        self.outputs = metadata.get("outputs", "logits")
        if self.outputs not in OUTPUTS:
            raise ValueError(f"outputs must be one of {OUTPUTS}, got {self.outputs!r}")
        # A module of someone else's may change its input in place: it gets its own copy.
        self._copy_input = metadata["arch"] == CUSTOM_ARCH

    def __repr__(self) -> str:
        size = "x".join(map(str, self.input_spec.size))
        return (
            f"Classifier(name={self.name!r}, arch={self.metadata['arch']!r}, input={size}x"
            f"{self.input_spec.channels}, classes={len(self.class_names)})"
        )

    # -- what it takes ----------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def canvas_size(self) -> int:
        """Side of the square input (digit canvases)."""
        side = self.input_spec.square_side
        if side is None:
            raise ValueError(f"{self.name!r} takes non-square {self.input_spec.size} images")
        return side

    @property
    def evaluation_only(self) -> bool:
        return is_evaluation_only(self.metadata)

    def class_index(self, target: int | str) -> int:
        """A class by name (``"circle"``, ``"10"``) or by index; a clear error otherwise.

        A target that names a class is that class, numbers included: with classes
        ``0, 1, 2, 10``, ``10`` and ``"10"`` are the class named ``10`` (index 3). A number
        that names no class is an index.
        """
        if isinstance(target, bool | np.bool_):
            raise ValueError(f"target must be a class index or name, got {target!r}")
        if isinstance(target, int | np.integer) and str(int(target)) in self.class_names:
            return self.class_names.index(str(int(target)))
        if isinstance(target, str):
            if target in self.class_names:
                return self.class_names.index(target)
            if target.strip().isdigit():
                return self.class_index(int(target))
            raise ValueError(
                f"unknown target class {target!r} for {self.name!r}; classes: "
                f"{list(self.class_names)}"
            )
        if not isinstance(target, int | np.integer):
            raise ValueError(f"target must be a class index or name, got {target!r}")
        if not 0 <= int(target) < self.num_classes:
            raise ValueError(
                f"target must be a class name or an index in [0, {self.num_classes - 1}] for "
                f"{self.name!r}, got {target}"
            )
        return int(target)

    # -- scoring --------------------------------------------------------------------------
    def prepare(self, images: Any, **kwargs: Any) -> tuple[torch.Tensor, bool]:
        """The model input for ``images``: :meth:`InputSpec.prepare
        <flatnet_rl.data.images.InputSpec.prepare>` (``value_range``, ``batched``,
        ``resize_to_fit``, ``invert``)."""
        return self.input_spec.prepare(images, **kwargs)

    @torch.inference_mode()
    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """Logits of prepared input ``(N, C, H, W)``; non-finite outputs are an error."""
        batch = batch.to(self.device, non_blocking=True, memory_format=torch.channels_last)
        if self._copy_input:
            batch = batch.clone(memory_format=torch.channels_last)
        with inference_threads(len(batch), self.device):
            if len(batch) <= CHUNK or self.device.type != "cpu":
                logits = self.model(batch)
            else:
                logits = torch.cat([self._checked(self.model(part)) for part in batch.split(CHUNK)])
        logits = self._checked(logits)
        if logits.ndim != 2 or logits.shape != (len(batch), self.num_classes):
            raise RuntimeError(
                f"{self.name!r} returned logits of shape {tuple(logits.shape)} for "
                f"{len(batch)} images, expected ({len(batch)}, {self.num_classes})"
            )
        if self.outputs == "probs":  # declared probabilities: their log is a logit
            if not bool(((logits >= 0) & (logits <= 1)).all()):
                raise RuntimeError(
                    f"{self.name!r} declares outputs='probs' but returned values outside [0, 1]"
                )
            logits = logits.float().clamp_min(1e-30).log()
        if not bool(torch.isfinite(logits).all()):
            raise FloatingPointError(
                f"classifier {self.name!r} produced non-finite logits: its weights are broken"
            )
        return logits

    def _checked(self, out: Any) -> torch.Tensor:
        if not isinstance(out, torch.Tensor):
            raise RuntimeError(
                f"{self.name!r} returned a {type(out).__name__}, expected a tensor of logits "
                f"(N, {self.num_classes})"
            )
        return out

    def probs_of_input(self, batch: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(N, K)`` float32 of prepared input (one forward pass)."""
        return self.forward(batch).float().softmax(-1)

    def _logits(self, images: ArrayLike, **kwargs: Any) -> tuple[torch.Tensor, bool]:
        batch, single = self.prepare(images, **kwargs)
        return self.forward(batch), single

    @staticmethod
    def _out(values: torch.Tensor, single: bool, like: Any) -> Any:
        if single:
            values = values[0]
        if isinstance(like, torch.Tensor):
            return values
        return (values.float() if values.is_floating_point() else values).cpu().numpy()

    def logits(self, images: ArrayLike, **kwargs: Any) -> Any:
        """Logits ``(N, K)``, or ``(K,)`` for one image. Keywords as :meth:`prepare`."""
        z, single = self._logits(images, **kwargs)
        return self._out(z, single, images)

    def predict_proba(self, images: ArrayLike, **kwargs: Any) -> Any:
        """Class probabilities ``(N, K)``, or ``(K,)`` for one image.

        Keywords as :meth:`prepare`, e.g. ``value_range=(0, 1)`` for ``uint8`` 0/1 canvases.
        """
        batch, single = self.prepare(images, **kwargs)
        return self._out(self.probs_of_input(batch), single, images)

    __call__ = predict_proba

    def predict(self, images: ArrayLike, **kwargs: Any) -> Any:
        """The most probable class per image."""
        z, single = self._logits(images, **kwargs)
        return self._out(z.argmax(dim=-1), single, images)

    # -- bring your own -------------------------------------------------------------------
    @classmethod
    def from_module(
        cls,
        module: nn.Module,
        *,
        image_size: int | tuple[int, int],
        class_names: Sequence[str],
        channels: int = 3,
        preprocess: InputSpec | None = None,
        name: str = "custom",
        device: str | torch.device = "auto",
        evaluation_only: bool = False,
        outputs: str = "logits",
    ) -> Classifier:
        """Wrap any ``nn.Module`` mapping float ``(N, C, H, W)`` to logits ``(N, K)``.

        The contract is checked on a probe batch (blank, grey and noise images) now: a
        tensor, one row per input row, one column per class; outputs that already look like
        probabilities (rows in [0, 1] summing to 1) warn unless ``outputs="probs"`` says
        so. The module gets its own copy of every batch: changing it in place never
        changes the caller's images (an env's observations).

        Args:
            module: the network (put in eval mode; its parameters are not copied).
            image_size: its input size, ``int`` (square) or ``(H, W)``.
            class_names: one name per output class (K >= 2).
            channels: 1 (grey) or 3 (RGB) input channels.
            preprocess: the full :class:`InputSpec` (e.g. with normalization); default
                ``InputSpec.image(image_size, channels)``: values scaled to [0, 1], any
                input size resized.
            name: shown in reports.
            evaluation_only: mark it as a judge (refused as a reward).
            outputs: ``"logits"`` (default) or ``"probs"``: the module ends in a softmax.

        Raises:
            ValueError: the module's output is not a tensor with one row per image and one
                logit (or probability) per class.
        """
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        spec = preprocess or InputSpec.image(image_size, channels=channels)
        if not isinstance(spec, InputSpec):
            raise TypeError(f"preprocess must be an InputSpec, got {type(spec).__name__}")
        names = _check_class_names(class_names)
        if outputs not in OUTPUTS:
            raise ValueError(f"outputs must be one of {OUTPUTS}, got {outputs!r}")
        metadata = {
            "name": name,
            "outputs": outputs,
            "arch": CUSTOM_ARCH,
            "module_class": type(module).__qualname__,
            "input": spec.to_dict(),
            "class_names": list(names),
            "evaluation_only": bool(evaluation_only),
        }
        clf = cls(module, metadata, device=device)
        check_module_contract(
            clf.model, spec, len(names), outputs, clf.device, type(module).__name__
        )
        return clf

    @classmethod
    def from_clip(
        cls, model: Any, tokenizer: Any = None, class_names: Sequence[str] = (), **kwargs: Any
    ) -> Classifier:
        """CLIP as a zero-shot classifier, one class per name (``templates=``, ``prompts=``,
        ``preprocess=``, ``part=``, ``name=``, ``device=``): an open_clip model, a Hugging Face
        ``CLIPModel`` or a path to local weights; see :mod:`flatnet_rl.clip`."""
        from flatnet_rl.clip import build_clip_classifier

        device = kwargs.pop("device", "auto")
        net, metadata = build_clip_classifier(
            model, tokenizer, _check_class_names(class_names), **kwargs
        )
        return cls(net, metadata, device=device)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write an atomic safetensors checkpoint with this classifier's metadata."""
        meta = {**self.metadata, "package_version": __version__}
        return save_checkpoint(path, self.model.state_dict(), meta)

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str | torch.device = "auto",
        *,
        module: nn.Module | None = None,
    ) -> Classifier:
        """Load a checkpoint; :class:`CheckpointError` if it is missing, corrupt, edited or
        inconsistent. ``module``: the network of a :meth:`from_module` checkpoint."""
        tensors, meta = load_checkpoint(path)
        if meta["format_version"] >= 2 and meta["fingerprint"] in zoo_judge_fingerprints():
            # A shipped judge's weights and metadata (verified; format 2 does not bind the
            # flag): a judge whatever a copy's edited header says.
            meta = {**meta, "evaluation_only": True}
        try:
            if meta["format_version"] == 1:
                meta = _upgrade_v1(meta)
            spec = InputSpec.from_dict(meta["input"])
            names = _check_class_names(meta["class_names"])
            if meta["arch"] == CUSTOM_ARCH:
                if module is None:
                    raise ValueError(
                        f"it holds the weights of a custom module "
                        f"({meta.get('module_class', '?')}): pass module= to Classifier.load"
                    )
                model = module
            elif meta["arch"] == CLIP_ARCH:  # the base model's tower under the saved head
                model = rebuild_clip_net(meta, tensors, str(path))
            else:
                model = build_classifier_net(meta["arch"], spec.size, len(names), spec.channels)
        except (ValueError, TypeError, KeyError) as err:
            raise CheckpointError(f"checkpoint {path} is inconsistent: {err}") from err
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as err:
            raise CheckpointError(
                f"checkpoint {path} does not match architecture {meta['arch']!r} with "
                f"{spec.channels} channel(s), {len(names)} classes: {err}"
            ) from err
        clf = cls(model, meta, device=device)
        if not bool(torch.isfinite(output_features(clf.model, spec, clf.device)).all()):
            raise CheckpointError(f"checkpoint {path}: the model outputs non-finite logits")
        return clf


def load_classifier(
    name_or_path: str | Path | Classifier, device: str | torch.device = "auto"
) -> Classifier:
    """A classifier from the zoo (``"flatnet"``, ``"baseline"``, ``"judge"``, ...), a checkpoint
    path, or an existing :class:`Classifier` (returned as is)."""
    if isinstance(name_or_path, Classifier):
        return name_or_path
    if not isinstance(name_or_path, str | Path):
        raise TypeError(
            "expected a zoo name, a checkpoint path or a Classifier (see "
            f"Classifier.from_module for an nn.Module), got {type(name_or_path).__name__}"
        )
    return Classifier.load(checkpoint_path(name_or_path), device=device)


__all__ = [
    "CHUNK",
    "OUTPUTS",
    "OutputWarning",
    "CanvasError",
    "Classifier",
    "checkpoint_path",
    "load_classifier",
    "resolve_device",
    "zoo_manifest",
    "zoo_name",
]
