"""Classifier architectures: images ``(N, C, H, W)`` (preprocessed) -> logits ``(N, K)``.

``FlatNet`` and ``FlatNetLite`` follow flatnet's CNNs (two 3x3 convolutions, max pooling,
dropout, two or three fully connected layers) with adaptive pooling instead of a fixed
pool, so one definition serves any image size and channel count. ``DropMaxNet`` adds
DropMax's two retain-probability heads (Lee et al. 2018). ``MLPNet`` is a deliberately
different architecture, used for independent judges. ``timm:<name>`` builds any
architecture of the optional ``timm`` package (random initialisation: nothing is
downloaded).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.data.images import MIN_SIDE
from flatnet_rl.util.checks import is_plain_int

Size = int | tuple[int, int]
TIMM_PREFIX = "timm:"
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


def _hw(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


class _ConvTrunk(nn.Module):
    """flatnet's feature extractor: conv3x3(32) -> ReLU -> conv3x3(64) -> ReLU -> max pool."""

    def __init__(self, canvas_size: Size, in_channels: int = 1) -> None:
        super().__init__()
        # flatnet's convolutions are unpadded on 224 px images; on small canvases that
        # would discard the border strokes, so pad up to 16 px.
        self.padding = 1 if max(_hw(canvas_size)) <= 16 else 0
        self.conv1 = nn.Conv2d(in_channels, 32, 3, padding=self.padding)
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


def _dense(widths: tuple[int, ...], num_classes: int, dropout: float) -> nn.Sequential:
    """``Linear -> ReLU -> Dropout`` per hidden width, then the output layer."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths, widths[1:], strict=False):
        layers += [nn.Linear(n_in, n_out), nn.ReLU(), nn.Dropout(dropout)]
    layers.append(nn.Linear(widths[-1], num_classes))
    return nn.Sequential(*layers)


class FlatNet(nn.Module):
    """flatnet's ``FlatNet``: conv trunk, then FC 256 -> 128 -> K with dropout 0.5."""

    hidden: tuple[int, ...] = (256, 128)

    def __init__(
        self, canvas_size: Size = 8, num_classes: int = NUM_CLASSES, in_channels: int = 1
    ) -> None:
        super().__init__()
        self.trunk = _ConvTrunk(canvas_size, in_channels)
        self.head = _dense((self.trunk.out_features, *self.hidden), num_classes, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _layers(self.trunk(x), self.head, self.training)


class FlatNetLite(FlatNet):
    """flatnet's ``FlatNetLite``: conv trunk, then FC 128 -> K with dropout 0.5."""

    hidden = (128,)


class DropMaxNet(nn.Module):
    """FlatNetLite features with DropMax's three heads: logits ``o``, ``ph`` and ``rh``.

    ``forward`` returns test-time logits ``o + log(sigmoid(ph) + 1e-20)``, so softmax of the
    output is DropMax's test-time probability; training uses :meth:`heads`.
    """

    def __init__(
        self, canvas_size: Size = 8, num_classes: int = NUM_CLASSES, in_channels: int = 1
    ) -> None:
        super().__init__()
        self.trunk = _ConvTrunk(canvas_size, in_channels)
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
    """A plain MLP on the flattened image (512 -> 256 -> K): the judge's architecture."""

    def __init__(
        self, canvas_size: Size = 8, num_classes: int = NUM_CLASSES, in_channels: int = 1
    ) -> None:
        super().__init__()
        height, width = _hw(canvas_size)
        dense = _dense((in_channels * height * width, 512, 256), num_classes, 0.3)
        self.net = nn.Sequential(nn.Flatten(), *dense)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _layers(x, self.net, self.training)


class LeNet(nn.Module):
    """A LeNet-5-class net (LeCun et al. 1998): conv5x5(6) -> pool -> conv5x5(16) -> pool ->
    FC 120 -> 84 -> K, ReLU. About 0.8 MFLOP a 28x28 image against FlatNet's 22: the cheap
    reward model for PPO at MNIST scale (``benchmarks/bench_scaling.py`` compares them)."""

    def __init__(
        self, canvas_size: Size = 28, num_classes: int = NUM_CLASSES, in_channels: int = 1
    ) -> None:
        super().__init__()
        height, width = _hw(canvas_size)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2 if min(height, width) < 20 else 0),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            features = self.net(torch.zeros(1, in_channels, height, width)).shape[1]
        self.head = _dense((features, 120, 84), num_classes, 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x))


ARCHITECTURES: dict[str, type[nn.Module]] = {
    "flatnet": FlatNet,
    "lenet": LeNet,
    "flatnet_lite": FlatNetLite,
    "dropmax": DropMaxNet,
    "mlp": MLPNet,
}


def _timm_model(name: str, num_classes: int, in_channels: int) -> nn.Module:
    try:
        import timm
    except ImportError as err:
        raise ValueError(
            f"architecture {TIMM_PREFIX}{name} needs the optional timm package: "
            'pip install "flatnet-rl[timm]"'
        ) from err
    if not timm.is_model(name):
        raise ValueError(f"timm has no architecture {name!r} (see timm.list_models())")
    return timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_channels)


def check_arch(arch: str) -> str:
    """``arch`` if it names a known architecture (``timm:<name>`` is checked when built)."""
    if not isinstance(arch, str) or not (arch in ARCHITECTURES or arch.startswith(TIMM_PREFIX)):
        raise ValueError(
            f"unknown architecture {arch!r}; expected one of {sorted(ARCHITECTURES)} or "
            f"{TIMM_PREFIX}<name> (optional timm package)"
        )
    return arch


def build_classifier_net(
    arch: str, size: Size, num_classes: int = NUM_CLASSES, in_channels: int = 1
) -> nn.Module:
    """Instantiate an architecture by name for an input size and channel count."""
    check_arch(arch)
    height, width = _hw(size)
    if min(height, width) < MIN_SIDE:
        raise ValueError(f"image sides must be >= {MIN_SIDE}, got {size}")
    if not is_plain_int(num_classes) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    if arch.startswith(TIMM_PREFIX):
        return _timm_model(arch[len(TIMM_PREFIX) :], num_classes, in_channels)
    size = height if height == width else (height, width)
    return ARCHITECTURES[arch](canvas_size=size, num_classes=num_classes, in_channels=in_channels)
