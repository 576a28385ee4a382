"""Training-time augmentations of labelled images (random per image, from the trainer's
seeded generator)."""

from __future__ import annotations

import torch


def random_shift(x: torch.Tensor, max_shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``max_shift`` pixels (zero fill): digits drawn by an
    agent are rarely centred like the data set's, and 8x8 data needs the augmentation."""
    if max_shift == 0:
        return x
    n, _, h, w = x.shape
    pad = torch.nn.functional.pad(x, (max_shift,) * 4)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None])[:, :, None]
    cols = (dx[:, None] + torch.arange(w)[None])[:, None, :]
    # Advanced indices around a channel slice put the channels last: move them back.
    return pad[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2).contiguous()


def random_stroke_width(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """With probability ``p/2`` each, thicken a binary canvas's strokes by a pixel (2x2 max
    filter) or thin them (2x2 min filter), the latter only where at least 40% of the ink
    survives (a one-pixel stroke would vanish)."""
    if p == 0:
        return x
    u = torch.rand(len(x), generator=gen)
    thick = torch.nn.functional.max_pool2d(torch.nn.functional.pad(x, (0, 1, 0, 1)), 2, 1)
    thin = -torch.nn.functional.max_pool2d(torch.nn.functional.pad(-x, (0, 1, 0, 1)), 2, 1)
    ink, thin_ink = x.sum((1, 2, 3)), thin.sum((1, 2, 3))
    use_thin = (u >= p / 2) & (u < p) & (thin_ink >= 0.4 * ink)
    shape = (-1, 1, 1, 1)
    out = torch.where((u < p / 2).view(shape), thick, x)
    return torch.where(use_thin.view(shape), thin, out)
