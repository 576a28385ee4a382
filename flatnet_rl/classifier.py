"""The classifier API: load a model by zoo name or path, score canvases in batches.

>>> from flatnet_rl import load_classifier
>>> clf = load_classifier("flatnet")
>>> clf.predict_proba(np.zeros((8, 8), np.uint8)).shape
(10,)
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from flatnet_rl import __version__
from flatnet_rl.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from flatnet_rl.data.canvas import ArrayLike, to_canvas_batch
from flatnet_rl.models import build_model

ZOO_DIR = Path(__file__).parent / "zoo"
#: Canvases per forward pass: large batches are split so activations stay in the CPU cache
#: (measured 1.9x more canvases/s at 512 than at 4096 in one pass; benchmarks/bench_reward.py).
CHUNK = 512
MANIFEST = ZOO_DIR / "manifest.json"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; anything else goes to ``torch.device``."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return resolved


@lru_cache(maxsize=1)
def zoo_manifest() -> dict[str, dict[str, Any]]:
    """The shipped models: name -> {file, command, metrics, ...}."""
    if not MANIFEST.is_file():
        return {}
    return json.loads(MANIFEST.read_text())


class Classifier:
    """A trained digit classifier with a batched, validated, autograd-free interface.

    Inputs: one canvas ``(H, W)`` or a batch ``(N, H, W)`` (numpy or torch) of bool, {0, 1}
    ints, uint8 0..255 or floats in [0, 1], with ``H = W = canvas_size``. Outputs follow the
    input: numpy in, numpy out; torch in, torch out (on this classifier's device).
    """

    def __init__(
        self, model: nn.Module, metadata: dict, device: str | torch.device = "auto"
    ) -> None:
        self.device = resolve_device(device)
        # channels_last lets oneDNN run the convolutions about twice as fast on CPU.
        self.model = model.to(self.device, memory_format=torch.channels_last).eval()
        self.metadata = metadata
        self.canvas_size = int(metadata["canvas_size"])
        self.num_classes = int(metadata["num_classes"])
        self.name = str(metadata.get("name", metadata["arch"]))

    def __repr__(self) -> str:
        arch = self.metadata["arch"]
        return f"Classifier(name={self.name!r}, arch={arch!r}, canvas={self.canvas_size})"

    # -- scoring --------------------------------------------------------------------------
    @torch.inference_mode()
    def _logits(self, canvases: ArrayLike) -> tuple[torch.Tensor, bool]:
        batch, single = to_canvas_batch(canvases, self.canvas_size)
        batch = batch.to(self.device, non_blocking=True, memory_format=torch.channels_last)
        if len(batch) <= CHUNK or self.device.type != "cpu":
            return self.model(batch), single
        return torch.cat([self.model(part) for part in batch.split(CHUNK)]), single

    @staticmethod
    def _out(values: torch.Tensor, single: bool, like: ArrayLike) -> Any:
        if single:
            values = values[0]
        if isinstance(like, torch.Tensor):
            return values
        return (values.float() if values.is_floating_point() else values).cpu().numpy()

    def logits(self, canvases: ArrayLike) -> Any:
        """Logits ``(N, K)``, or ``(K,)`` for one canvas."""
        z, single = self._logits(canvases)
        return self._out(z, single, canvases)

    def predict_proba(self, canvases: ArrayLike) -> Any:
        """Class probabilities ``(N, K)``, or ``(K,)`` for one canvas."""
        z, single = self._logits(canvases)
        return self._out(F.softmax(z.float(), dim=-1), single, canvases)

    __call__ = predict_proba

    def predict(self, canvases: ArrayLike) -> Any:
        """The most probable class per canvas."""
        z, single = self._logits(canvases)
        return self._out(z.argmax(dim=-1), single, canvases)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write an atomic safetensors checkpoint with this classifier's metadata."""
        meta = {**self.metadata, "package_version": __version__}
        return save_checkpoint(path, self.model.state_dict(), meta)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "auto") -> Classifier:
        """Load a checkpoint; :class:`CheckpointError` if it is missing, corrupt or incompatible."""
        tensors, meta = load_checkpoint(path)
        try:
            model = build_model(meta["arch"], int(meta["canvas_size"]), int(meta["num_classes"]))
        except (ValueError, TypeError) as err:
            raise CheckpointError(f"checkpoint {path} is incompatible: {err}") from err
        try:
            model.load_state_dict(tensors, strict=True)
        except RuntimeError as err:
            raise CheckpointError(
                f"checkpoint {path} does not match architecture {meta['arch']!r}: {err}"
            ) from err
        return cls(model, meta, device=device)


def load_classifier(
    name_or_path: str | Path | Classifier, device: str | torch.device = "auto"
) -> Classifier:
    """A classifier from the zoo (``"flatnet"``, ``"baseline"``, ``"judge"``), a checkpoint
    path, or an existing :class:`Classifier` (returned as is)."""
    if isinstance(name_or_path, Classifier):
        return name_or_path
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(
            "expected a zoo name, a checkpoint path or a Classifier, "
            f"got {type(name_or_path).__name__}"
        )
    zoo = zoo_manifest()
    if isinstance(name_or_path, str) and name_or_path in zoo:
        path = ZOO_DIR / zoo[name_or_path]["file"]
        if not path.is_file():
            raise CheckpointError(
                f"zoo model {name_or_path!r} is listed but {path} is missing: reinstall flatnet-rl"
            )
        return Classifier.load(path, device=device)
    path = Path(name_or_path)
    if path.exists():
        return Classifier.load(path, device=device)
    raise ValueError(
        f"unknown classifier {str(name_or_path)!r}: not a zoo model "
        f"({', '.join(sorted(zoo)) or 'none'}) and no such file"
    )
