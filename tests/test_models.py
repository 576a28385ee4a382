"""Architectures: every one builds for several canvases and maps (N, 1, H, W) to (N, 10)."""

from __future__ import annotations

import pytest
import torch

from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.data.images import MIN_SIDE as MIN_CANVAS
from flatnet_rl.models import ARCHITECTURES
from flatnet_rl.models import build_classifier_net as build_model


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("canvas", [4, 8, 16, 28])
def test_every_architecture_gives_logits(arch, canvas):
    torch.manual_seed(0)
    model = build_model(arch, canvas).eval()
    assert isinstance(model, ARCHITECTURES[arch])
    x = (torch.rand(3, 1, canvas, canvas) < 0.3).float()
    with torch.no_grad():
        out = model(x)
    assert out.shape == (3, NUM_CLASSES)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    with torch.no_grad():
        single = model(x[:1])
    torch.testing.assert_close(single, out[:1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
def test_architecture_trains_one_step(arch):
    torch.manual_seed(0)
    model = build_model(arch, 8).train()
    x = torch.rand(4, 1, 8, 8)
    loss = model(x).logsumexp(-1).mean()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_num_classes_is_configurable():
    model = build_model("flatnet", 8, num_classes=3).eval()
    assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 3)
    with pytest.raises(ValueError, match="num_classes"):
        build_model("flatnet", 8, num_classes=1)


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("size, channels", [((32, 32), 3), ((12, 20), 1), ((28, 28), 3)])
def test_any_size_and_channel_count(arch, size, channels):
    model = build_model(arch, size, num_classes=4, in_channels=channels).eval()
    assert model(torch.zeros(2, channels, *size)).shape == (2, 4)


def test_timm_architectures_by_name():
    pytest.importorskip("timm")
    model = build_model("timm:resnet10t", 32, num_classes=3, in_channels=3).eval()
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="no architecture"):
        build_model("timm:no_such_net", 32)


def test_unknown_architecture():
    with pytest.raises(ValueError, match="unknown architecture 'resnet'") as info:
        build_model("resnet", 8)
    for name in ARCHITECTURES:
        assert name in str(info.value)


@pytest.mark.parametrize("canvas", [0, 1, MIN_CANVAS - 1])
def test_tiny_canvas_rejected(canvas):
    with pytest.raises(ValueError, match="image sides"):
        build_model("flatnet", canvas)


@pytest.mark.parametrize("training", [False, True])
def test_functional_forward_matches_module_calls(training):
    """Forwards call F.* on the modules' parameters for speed; results must be the modules'."""
    from torch import nn

    from flatnet_rl.models import _layers

    layers = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10)
    ).train(training)
    x = torch.rand(5, 1, 8, 8)
    torch.manual_seed(3)
    expected = layers(x)
    torch.manual_seed(3)
    assert torch.equal(_layers(x, layers, training), expected)
    # The conv trunk: its functional forward against the same modules called one by one.
    model = build_model("flatnet", 8).eval()
    trunk = model.trunk
    pool = nn.AdaptiveMaxPool2d(4)
    reference = pool(torch.relu(trunk.conv2(torch.relu(trunk.conv1(x))))).flatten(1)
    with torch.no_grad():
        torch.testing.assert_close(trunk(x), reference, rtol=0, atol=1e-6)
        torch.testing.assert_close(model(x), model.head(reference), rtol=0, atol=1e-6)
