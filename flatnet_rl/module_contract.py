"""A user's ``nn.Module`` as a classifier: the contract :meth:`Classifier.from_module
<flatnet_rl.classifier.Classifier.from_module>` checks on a probe batch before any reward is
computed, so that a mismatch is one clear error instead of a silent wrong reward."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from flatnet_rl.data.images import InputSpec

#: What a module's outputs are: logits (softmax gives probabilities) or probabilities.
OUTPUTS = ("logits", "probs")
#: Rows of the probe batch :meth:`Classifier.from_module` checks a module's contract on.
PROBE_ROWS = 3


class OutputWarning(UserWarning):
    """A module's outputs look like probabilities where logits were declared."""


def output_features(model: nn.Module, spec: InputSpec, device: torch.device) -> torch.Tensor:
    with torch.inference_mode():
        probe = torch.zeros((2, spec.channels, *spec.size), device=device)
        return model.eval()(probe)


def _probe_batch(spec: InputSpec, device: torch.device) -> torch.Tensor:
    """Blank, grey and seeded noise images: rows that differ, as real inputs do."""
    noise = torch.rand((1, spec.channels, *spec.size), generator=torch.Generator().manual_seed(0))
    blank = torch.zeros_like(noise)
    return torch.cat([blank, blank + 0.5, noise]).to(device)


def _looks_like_probs(out: torch.Tensor) -> bool:
    """Every row in [0, 1] and summing to 1: a softmax already applied."""
    out = out.double()
    return bool(((out >= 0) & (out <= 1)).all()) and bool(
        torch.allclose(out.sum(-1), torch.ones(len(out), dtype=out.dtype), atol=1e-4)
    )


def check_module_contract(
    model: nn.Module,
    spec: InputSpec,
    num_classes: int,
    outputs: str,
    device: torch.device,
    what: str,
) -> None:
    """Run ``model`` on a probe batch (blank, grey and noise images) and check its contract:
    one tensor, one row per image, one finite logit (or probability) per class; warn when
    declared logits look like probabilities. ``what`` names the module in messages.

    Raises:
        ValueError: naming the module and what it returned instead.
    """
    probe = _probe_batch(spec, device)
    shape = f"({PROBE_ROWS}, {spec.channels}, {spec.size[0]}, {spec.size[1]})"
    try:
        with torch.inference_mode():
            out = model(probe.clone())
    except Exception as err:  # the user's module: any failure means a mismatch
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"module {what} failed on input {shape}: {first}") from None
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"module {what} returns a {type(out).__name__}, expected one tensor of "
            f"({PROBE_ROWS}, {num_classes}) logits for input {shape}: return the logits only"
        )
    if out.ndim != 2 or out.shape != (PROBE_ROWS, num_classes):
        raise ValueError(
            f"module {what} returns shape {tuple(out.shape)} for {PROBE_ROWS} images; "
            f"expected ({PROBE_ROWS}, {num_classes}) {outputs}: one row per image and one "
            "per class name"
        )
    if not bool(torch.isfinite(out).all()):
        raise ValueError(f"module {what} returns non-finite values on input {shape}")
    if outputs == "probs" and not bool(((out >= 0) & (out <= 1)).all()):
        raise ValueError(f"module {what} declares outputs='probs': values outside [0, 1]")
    if outputs == "logits" and _looks_like_probs(out):
        warnings.warn(
            f"module {what} returns rows in [0, 1] that sum to 1 (probabilities?): a "
            "softmax of probabilities squashes every reward; pass outputs='probs' if it "
            "ends in a softmax",
            OutputWarning,
            stacklevel=3,  # the caller of Classifier.from_module
        )
