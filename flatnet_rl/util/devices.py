"""Where a model runs: the device a name stands for, and the CPU threads of one forward pass."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

#: Batches up to this size run on one CPU thread: a small forward pass gains nothing from
#: more, and on a busy machine extra threads wait for each other (one call on 8 canvases:
#: 4.7 ms on one thread vs 32 ms on two, measured on a loaded 2-core machine).
SMALL_BATCH = 256


@contextmanager
def inference_threads(batch_size: int, device: torch.device) -> Iterator[None]:
    """One intra-op thread for small CPU batches, restored afterwards (the policy that keeps
    per-step reward calls from oversubscribing the cores; ``set_num_threads`` costs ~0.1 us)."""
    before = torch.get_num_threads()
    if device.type != "cpu" or batch_size > SMALL_BATCH or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else CPU; anything else goes to ``torch.device``."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return resolved
