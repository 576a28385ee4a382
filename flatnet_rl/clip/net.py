"""The CLIP network of a classifier: a frozen tower (open_clip or Hugging Face) under a
trainable head, the class prompts and the model's own preprocessing."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from flatnet_rl.data.images import InputSpec

#: Architecture name recorded for CLIP classifiers.
CLIP_ARCH = "clip"
CLIP_PREFIX = "clip:"
BACKENDS = ("open_clip", "hf")
#: What flattening trains: the class text embeddings, or a linear head on image features.
PARTS = ("text", "head")
#: CLIP's single zero-shot template.
DEFAULT_TEMPLATES = ("a photo of a {}.",)
#: OpenAI CLIP's normalization (open_clip's default; Hugging Face's CLIPImageProcessor's).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipError(ValueError):
    """A CLIP model, its weights or its prompts cannot be used (one line, names the fix)."""


def _require(module: str, extra: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        raise ClipError(
            f"CLIP models of this kind need the {module!r} package: pip install "
            f"'flatnet-rl[{extra}]'"
        ) from None


def backend_of(model: Any) -> str:
    """``"hf"`` for a Hugging Face ``CLIPModel``, ``"open_clip"`` for an open_clip model."""
    if hasattr(model, "get_image_features") and hasattr(model, "get_text_features"):
        return "hf"
    if hasattr(model, "encode_image") and hasattr(model, "encode_text"):
        return "open_clip"
    raise TypeError(
        f"expected an open_clip CLIP model or a Hugging Face CLIPModel, got {type(model).__name__}"
    )


def _pooled(out: Any) -> torch.Tensor:
    # transformers 5 returns an output object whose pooler_output is the projected embedding.
    return out if isinstance(out, torch.Tensor) else out.pooler_output


class ClipTower(nn.Module):
    """The frozen CLIP model: image and text embeddings, whatever the backend."""

    def __init__(self, model: nn.Module, tokenizer: Any) -> None:
        super().__init__()
        self.backend = backend_of(model)
        self.clip = model.eval().requires_grad_(False)
        self.tokenizer = tokenizer

    def train(self, mode: bool = True) -> ClipTower:
        return super().train(False)  # frozen: dropout and norms stay in inference mode

    @property
    def logit_scale(self) -> float:
        """``exp`` of the model's learned temperature (OpenAI CLIP: 100)."""
        return float(self.clip.logit_scale.detach().exp().reshape(-1)[0])

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        if self.backend == "hf":
            return _pooled(self.clip.get_image_features(pixel_values=x))
        return self.clip.encode_image(x)

    def tokenize(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.tokenizer is None:
            raise ClipError("text prompts need the model's tokenizer: pass tokenizer=")
        texts = list(texts)
        if type(self.tokenizer).__module__.startswith("transformers"):
            out = self.tokenizer(texts, padding=True, return_tensors="pt")
        else:
            out = self.tokenizer(texts)
        if isinstance(out, Mapping):
            return torch.as_tensor(out["input_ids"]), out.get("attention_mask")
        return torch.as_tensor(out), None

    @torch.no_grad()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised embeddings ``(len(texts), D)`` float32."""
        device = next(self.clip.parameters()).device
        ids, mask = self.tokenize(texts)
        ids = ids.to(device)
        if self.backend == "hf":
            mask = None if mask is None else torch.as_tensor(mask).to(device)
            out = _pooled(self.clip.get_text_features(input_ids=ids, attention_mask=mask))
        else:
            out = self.clip.encode_text(ids)
        return F.normalize(out.float(), dim=-1)


class ClipHead(nn.Module):
    """Logits from normalised image embeddings ``f``: part ``"text"``:
    ``scale * f @ normalize(C)^T``; part ``"head"``: ``scale * f @ W^T + b``, a linear head
    started at the zero-shot classifier (W = C, b = 0) and free to leave the unit sphere."""

    def __init__(self, class_embeddings: torch.Tensor, logit_scale: float, part: str) -> None:
        super().__init__()
        if part not in PARTS:
            raise ClipError(f"part must be one of {PARTS}, got {part!r}")
        self.part = part
        self.register_buffer("logit_scale", torch.tensor(float(logit_scale)))
        embeddings = F.normalize(class_embeddings.detach().float(), dim=-1)
        if part == "text":
            self.class_embeddings = nn.Parameter(embeddings.clone())
        else:
            self.weight = nn.Parameter(embeddings.clone())
            self.bias = nn.Parameter(torch.zeros(len(embeddings)))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.part == "text":
            return self.logit_scale * features @ F.normalize(self.class_embeddings, dim=-1).T
        return self.logit_scale * F.linear(features, self.weight) + self.bias


class ClipNet(nn.Module):
    """Images ``(N, 3, H, W)`` (preprocessed) -> logits: the frozen tower under a head.

    Its state dict holds the head only (the tower is the base model's, named by hash in the
    checkpoint's metadata), so a checkpoint of a flattened CLIP is kilobytes.
    """

    def __init__(self, tower: ClipTower, head: ClipHead) -> None:
        super().__init__()
        self.tower = tower
        self.head = head

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised image embeddings ``(N, D)`` float32."""
        return F.normalize(self.tower.encode_image(x).float(), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, torch.Tensor]:
        full = super().state_dict(*args, **kwargs)
        prefix = kwargs.get("prefix", "")
        return OrderedDict(
            (k, v) for k, v in full.items() if not k[len(prefix) :].startswith("tower.")
        )

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign=False):
        own = self.state_dict()
        if strict and set(state_dict) != set(own):
            raise RuntimeError(
                f"CLIP head keys differ: expected {sorted(own)}, got {sorted(state_dict)}"
            )
        for key, value in state_dict.items():
            if key in own and tuple(value.shape) != tuple(own[key].shape):
                raise RuntimeError(
                    f"CLIP head {key}: shape {tuple(value.shape)}, expected {tuple(own[key].shape)}"
                )
        return super().load_state_dict(state_dict, strict=False, assign=assign)


def class_prompts(
    class_names: Sequence[str],
    templates: Sequence[str] = DEFAULT_TEMPLATES,
    prompts: Mapping[str, Sequence[str]] | None = None,
) -> list[list[str]]:
    """The prompts of each class: ``prompts[name]`` if given, else every template filled."""
    if isinstance(templates, str) or not templates:
        raise ClipError(f"templates must be a non-empty list of strings, got {templates!r:.60}")
    for t in templates:
        if not isinstance(t, str) or t.count("{}") != 1:
            raise ClipError(f"each template needs exactly one '{{}}' for the class name: {t!r}")
    prompts = dict(prompts or {})
    unknown = sorted(set(prompts) - set(class_names))
    if unknown:
        raise ClipError(
            f"prompts given for unknown classes {unknown}; classes: {list(class_names)}"
        )
    out = []
    for name in class_names:
        own = prompts.get(name)
        if own is not None and (isinstance(own, str) or not own):
            raise ClipError(f"prompts for {name!r} must be a non-empty list of strings")
        out.append(list(own) if own is not None else [t.format(name) for t in templates])
    return out


def prompt_embedding(tower: ClipTower, prompts: Sequence[str], renormalise: bool = True):
    """Mean of the prompts' normalised embeddings ``(D,)`` (renormalised: CLIP's recipe)."""
    mean = tower.encode_text(prompts).mean(0)
    return F.normalize(mean, dim=-1) if renormalise else mean


def clip_input_spec(model: nn.Module, backend: str) -> InputSpec:
    """The model's own preprocessing: size, bicubic shortest-side resize + centre crop, mean/std;
    one-channel canvases drawn as dark ink on white paper."""
    if backend == "hf":
        size: Any = model.config.vision_config.image_size
        mean, std = OPENAI_MEAN, OPENAI_STD
    else:
        visual = getattr(model, "visual", model)
        cfg = dict(getattr(visual, "preprocess_cfg", None) or {})
        size = cfg.get("size", getattr(visual, "image_size", None))
        mean = cfg.get("mean", getattr(visual, "image_mean", None)) or OPENAI_MEAN
        std = cfg.get("std", getattr(visual, "image_std", None)) or OPENAI_STD
    if isinstance(size, Sequence):
        size = tuple(int(s) for s in size)
    return InputSpec.image(
        size, 3, mean, std, interpolation="bicubic", crop=True, canvas_ink="dark"
    )
