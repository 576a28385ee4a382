"""Classifier architectures: canvases ``(N, 1, H, W)`` in [0, 1] -> logits ``(N, 10)``.

``FlatNet`` and ``FlatNetLite`` follow flatnet's CNNs (two 3x3 convolutions, max pooling,
dropout, two or three fully connected layers) with adaptive pooling instead of a fixed
pool, so one definition serves any canvas size. ``DropMaxNet`` adds DropMax's two
retain-probability heads (Lee et al. 2018). ``MLPNet`` is a deliberately different
architecture, used for the independent judge.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from flatnet_rl.data import NUM_CLASSES

MIN_CANVAS = 4
_POOLED = 4  # side of the feature map after adaptive pooling


def _layers(x: torch.Tensor, layers: nn.Sequential, training: bool) -> torch.Tensor:
    """Run ``Linear``/``ReLU``/``Dropout``/``Flatten`` layers as plain functions.

    Same parameters, state dict and results as ``layers(x)``, bit for bit, without the
    per-module call overhead, which is a fifth of a small batch's forward on CPU (the reward
    wrappers score 8 canvases per call; measured in benchmarks/bench_reward.py's setting).
    """
    for layer in layers:
        if isinstance(layer, nn.Linear):
            x = F.linear(x, layer.weight, layer.bias)
        elif isinstance(layer, nn.ReLU):
            x = F.relu(x)
        elif isinstance(layer, nn.Dropout):
            if training:
                x = F.dropout(x, layer.p)
        elif isinstance(layer, nn.Flatten):
            x = torch.flatten(x, layer.start_dim, layer.end_dim)
        else:
            x = layer(x)
    return x


class _ConvTrunk(nn.Module):
    """flatnet's feature extractor: conv3x3(32) -> ReLU -> conv3x3(64) -> ReLU -> max pool."""

    def __init__(self, canvas_size: int) -> None:
        super().__init__()
        # flatnet's convolutions are unpadded on 224 px images; on small canvases that
        # would discard the border strokes, so pad up to 16 px.
        self.padding = 1 if canvas_size <= 16 else 0
        self.conv1 = nn.Conv2d(1, 32, 3, padding=self.padding)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=self.padding)
        self.dropout = nn.Dropout(0.25)
        self.out_features = 64 * _POOLED * _POOLED

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Functional calls on the modules' parameters: see _layers for why.
        c1, c2 = self.conv1, self.conv2
        x = F.conv2d(x, c1.weight, c1.bias, padding=self.padding)
        x = F.relu(x, inplace=True)  # conv1's backward needs its input, not output
        x = F.conv2d(x, c2.weight, c2.bias, padding=self.padding)
        side = x.shape[-1]
        # Max pooling commutes with ReLU, so pool first: the ReLU then runs on a 4x smaller
        # map. A plain max_pool2d equals the adaptive pool when the side divides evenly and is
        # several times faster on CPU (measured in benchmarks/bench_reward.py's setting).
        if x.shape[-2] == side and side % _POOLED == 0:
            x = F.max_pool2d(x, side // _POOLED)
        else:
            x = F.adaptive_max_pool2d(x, _POOLED)
        x = F.relu(x)
        if self.training:
            x = F.dropout(x, self.dropout.p)
        return torch.flatten(x, 1)


class FlatNet(nn.Module):
    """flatnet's ``FlatNet``: conv trunk, then FC 256 -> 128 -> 10 with dropout 0.5."""

    def __init__(self, canvas_size: int = 8, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.trunk = _ConvTrunk(canvas_size)
        self.head = nn.Sequential(
            nn.Linear(self.trunk.out_features, 256),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _layers(self.trunk(x), self.head, self.training)


class FlatNetLite(nn.Module):
    """flatnet's ``FlatNetLite``: conv trunk, then FC 128 -> 10 with dropout 0.5."""

    def __init__(self, canvas_size: int = 8, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.trunk = _ConvTrunk(canvas_size)
        self.head = nn.Sequential(
            nn.Linear(self.trunk.out_features, 128),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(128, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _layers(self.trunk(x), self.head, self.training)


class DropMaxNet(nn.Module):
    """FlatNetLite features with DropMax's three heads: logits ``o``, ``ph`` and ``rh``.

    ``forward`` returns test-time logits ``o + log(sigmoid(ph) + 1e-20)``, so softmax of the
    output is DropMax's test-time probability; training uses :meth:`heads`.
    """

    def __init__(self, canvas_size: int = 8, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.trunk = _ConvTrunk(canvas_size)
        self.features = nn.Sequential(
            nn.Linear(self.trunk.out_features, 128), nn.ReLU(), nn.Dropout(0.5)
        )
        self.o = nn.Linear(128, num_classes)
        self.ph = nn.Linear(128, num_classes)
        self.rh = nn.Linear(128, num_classes)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = _layers(self.trunk(x), self.features, self.training)
        return (
            F.linear(h, self.o.weight, self.o.bias),
            F.linear(h, self.ph.weight, self.ph.bias),
            F.linear(h, self.rh.weight, self.rh.bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        o, ph, _ = self.heads(x)
        return o + torch.log(torch.sigmoid(ph) + 1e-20)


class MLPNet(nn.Module):
    """A plain MLP on the flattened canvas (512 -> 256 -> 10): the judge's architecture."""

    def __init__(self, canvas_size: int = 8, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(canvas_size * canvas_size, 512),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(512, 256),
            nn.ReLU(),
            nn.Dropout(0.3),
            nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _layers(x, self.net, self.training)


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "flatnet": FlatNet,
    "flatnet_lite": FlatNetLite,
    "dropmax": DropMaxNet,
    "mlp": MLPNet,
}


def build_model(arch: str, canvas_size: int, num_classes: int = NUM_CLASSES) -> nn.Module:
    """Instantiate an architecture by name for a canvas size."""
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    if canvas_size < MIN_CANVAS:
        raise ValueError(f"canvas_size must be >= {MIN_CANVAS}, got {canvas_size}")
    return ARCHITECTURES[arch](canvas_size=canvas_size, num_classes=num_classes)
