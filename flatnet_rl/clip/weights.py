"""CLIP weights from local files only: a Hugging Face folder, the Hugging Face cache, an
open_clip folder or an open_clip weights file; safetensors only, never a download."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flatnet_rl.clip.net import ClipError, _require

_HASH_CHUNK = 1 << 22


def _sha256(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        with open(path, "rb") as f:
            while chunk := f.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _safetensors_in(folder: Path, what: str) -> list[Path]:
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        pickled = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth"))
        hint = f" (found {', '.join(pickled)}: convert to safetensors)" if pickled else ""
        raise ClipError(
            f"{what} {folder} holds no .safetensors weights{hint}; nothing is unpickled"
        )
    return files


def _hf_cached(repo: str) -> Path:
    hub = _require("huggingface_hub", "hf")
    try:
        return Path(hub.snapshot_download(repo, local_files_only=True))
    except Exception:
        raise ClipError(
            f"{repo!r} is not in the Hugging Face cache and nothing is downloaded: run "
            f"`hf download {repo}` once (or pass a local folder: clip:DIR)"
        ) from None


def parse_clip_source(source: str) -> tuple[str, Path, str | None]:
    """``(kind, path, open_clip architecture)`` of a source: a Hugging Face or open_clip
    folder, ``hf:REPO`` (the local Hugging Face cache) or ``ARCH:FILE`` (open_clip weights).

    Raises:
        ClipError: no such folder or file (offline: names what to provide).
    """
    if not isinstance(source, str) or not source.strip():
        raise ClipError(f"a CLIP source must be a path, hf:REPO or ARCH:FILE, got {source!r}")
    if source.startswith("hf:"):
        return "hf", _hf_cached(source[3:]), None
    path = Path(source)
    if path.is_dir():
        if (path / "open_clip_config.json").is_file():
            return "open_clip", path, None
        if (path / "config.json").is_file():
            return "hf", path, None
        raise ClipError(
            f"CLIP folder {path} has neither config.json (Hugging Face) nor open_clip_config.json"
        )
    arch, sep, file = source.partition(":")
    if sep and arch and not path.exists():
        weights = Path(file)
        if not weights.is_file():
            raise ClipError(
                f"no CLIP weights at {weights}: provide the open_clip {arch} weights as a "
                ".safetensors file (nothing is downloaded)"
            )
        if weights.suffix != ".safetensors":
            raise ClipError(f"CLIP weights {weights} must be .safetensors; nothing is unpickled")
        return "open_clip", weights, arch
    if path.is_file():
        raise ClipError(
            f"an open_clip weights file needs its architecture: clip:ARCH:{source} (e.g. "
            "clip:ViT-B-32:FILE)"
        )
    raise ClipError(
        f"no CLIP weights at {source!r}: provide a Hugging Face folder (config.json + "
        "model.safetensors), hf:REPO already in the Hugging Face cache, an open_clip folder "
        "or ARCH:FILE.safetensors (nothing is downloaded)"
    )


def load_clip(source: str, device: str | torch.device = "cpu") -> tuple[nn.Module, Any, dict]:
    """``(model, tokenizer, base)`` from local files; ``base`` names the source, backend and
    SHA-256 of its weights, for checkpoints made from it."""
    kind, path, arch = parse_clip_source(source)
    if kind == "hf":
        transformers = _require("transformers", "hf")
        weights = _safetensors_in(path, "Hugging Face folder")
        model = transformers.CLIPModel.from_pretrained(
            path, local_files_only=True, use_safetensors=True
        )
        # transformers builds an empty tokenizer when the vocabulary files are missing: look.
        if (path / "tokenizer.json").is_file() or (path / "vocab.json").is_file():
            tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        else:
            tokenizer = _open_clip_tokenizer_or_none()
            if tokenizer is None:
                raise ClipError(
                    f"{path} has no tokenizer files (tokenizer.json or vocab.json): add them, "
                    "or install open_clip ('flatnet-rl[clip]'), whose CLIP tokenizer is the same"
                )
    else:
        open_clip = _require("open_clip", "clip")
        if arch is None:
            weights = _safetensors_in(path, "open_clip folder")
            name = f"local-dir:{path}"
        else:
            if arch not in open_clip.list_models():
                raise ClipError(f"unknown open_clip architecture {arch!r}")
            weights, name = [path], arch
        try:
            model = open_clip.create_model(
                name, pretrained=None if arch is None else str(path), load_weights=True
            )
        except (RuntimeError, ValueError, KeyError) as err:
            raise ClipError(f"cannot load open_clip {name} from {path}: {err}") from None
        tokenizer = open_clip.get_tokenizer(name)
    base = {
        "source": str(source if source.startswith("hf:") else Path(source).resolve())
        if arch is None
        else f"{arch}:{path.resolve()}",
        "backend": kind,
        "weights": [p.name for p in weights],
        "sha256": _sha256(weights),
    }
    return model.to(device).eval(), tokenizer, base


def _open_clip_tokenizer_or_none() -> Any:
    try:
        import open_clip
    except ImportError:
        return None
    return open_clip.get_tokenizer("ViT-B-32")
