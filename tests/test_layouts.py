"""Channel layouts are declared, never guessed: frame stacks, RGBA, channel-first images whose
width is 1, 3 or 4, and ``.npz`` arrays of either layout."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.wrappers import FrameStackObservation
from stable_baselines3.common.vec_env import DummyVecEnv, VecFrameStack
from torch import nn

from flatnet_rl import Classifier, FlatnetReward, FlatnetRewardVecEnv, InputSpec
from flatnet_rl.data import CanvasError, DataSpec, load_dataset


class Brightness(nn.Module):
    """Class 0 for bright images, class 1 for dark ones (any channel count)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.mean(dim=(1, 2, 3))
        return torch.stack([20 * (m - 0.5), -20 * (m - 0.5)], dim=1)


def grey_clf() -> Classifier:
    return Classifier.from_module(Brightness(), image_size=16, channels=1, class_names=["b", "d"])


class Blinking(gym.Env):
    """Grey 16x16 frames: dark at reset, then bright, dark, bright ... (the newest matters)."""

    def __init__(self, shape=(16, 16, 1)) -> None:
        self.observation_space = spaces.Box(0, 255, shape, np.uint8)
        self.action_space = spaces.Discrete(2)
        self.t = 0

    def _frame(self) -> np.ndarray:
        return np.full(self.observation_space.shape, 230 if self.t % 2 else 40, np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._frame(), {}

    def step(self, action):
        self.t += 1
        return self._frame(), 0.0, False, self.t >= 50, {}


@pytest.mark.parametrize(("shape", "order"), [((16, 16, 1), "last"), ((1, 16, 16), "first")])
def test_vec_frame_stack_of_grey_frames_is_read_as_its_newest_frame(shape, order):
    stacked = VecFrameStack(DummyVecEnv([lambda: Blinking(shape)] * 2), 4, channels_order=order)
    assert 4 in stacked.observation_space.shape  # (16, 16, 4) or (4, 16, 16): not RGBA
    venv = FlatnetRewardVecEnv(stacked, grey_clf(), target="b", mode="prob")
    venv.reset()
    for t in range(1, 5):
        _, rewards, _, infos = venv.step(np.zeros(2, dtype=int))
        newest_bright = t % 2 == 1
        assert (rewards > 0.99).all() if newest_bright else (rewards < 0.01).all(), (t, rewards)


def test_gymnasium_frame_stack_is_read_as_its_newest_frame():
    env = FlatnetReward(
        FrameStackObservation(Blinking((16, 16)), 4), grey_clf(), target="b", mode="prob"
    )
    env.reset(seed=0)
    for t in range(1, 4):
        _, reward, *_ = env.step(0)
        assert reward > 0.99 if t % 2 else reward < 0.01


def test_four_channels_are_refused_at_wrap_time_unless_rgba_is_declared():
    venv = DummyVecEnv([lambda: Blinking((16, 16, 4))])
    with pytest.raises(ValueError, match="4 channels"):
        FlatnetRewardVecEnv(venv, grey_clf(), target="b")
    FlatnetRewardVecEnv(venv, grey_clf(), target="b", alpha=True)  # declared RGBA: read
    with pytest.raises(ValueError, match="alpha"):
        FlatnetRewardVecEnv(venv, grey_clf(), target="b", alpha="yes")


def test_channel_first_rgb_of_width_1_3_or_4_is_read_right():
    spec = InputSpec.image((16, 4), channels=3)
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (16, 4, 3), dtype=np.uint8)
    chw = hwc.transpose(2, 0, 1).copy()  # (3, 16, 4): its width looks like 4 channels
    expected, _ = spec.prepare(hwc, batched=False)
    got, _ = spec.prepare(chw, batched=False)
    torch.testing.assert_close(got, expected)
    for width in (1, 3):
        spec = InputSpec.image(16, channels=3)  # any input size, resized
        hwc = rng.integers(0, 256, (16, width, 3), dtype=np.uint8)
        chw = hwc.transpose(2, 0, 1).copy()
        with pytest.raises(CanvasError, match="ambiguous"):
            spec.prepare(chw, batched=False)
        got, _ = spec.prepare(chw, batched=False, layout="CHW")
        torch.testing.assert_close(got, spec.prepare(hwc, batched=False, layout="HWC")[0])


def test_rgba_only_when_declared():
    spec = InputSpec.image(8, channels=3)
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 200
    with pytest.raises(CanvasError, match="alpha=True"):
        spec.prepare(rgba, batched=False)
    x, _ = spec.prepare(rgba, batched=False, alpha=True)
    assert x.shape == (1, 3, 8, 8) and float(x[0, 0].mean()) == pytest.approx(200 / 255)


def test_npz_of_channel_first_images_is_read_right(tmp_path):
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (12, 16, 4, 3), dtype=np.uint8)
    y = np.repeat([0, 1], 6)
    np.savez(tmp_path / "chw.npz", x=hwc.transpose(0, 3, 1, 2), y=y)
    np.savez(tmp_path / "hwc.npz", x=hwc, y=y)
    a = load_dataset(DataSpec(source="images", path=str(tmp_path / "chw.npz")))
    b = load_dataset(DataSpec(source="images", path=str(tmp_path / "hwc.npz")))
    # 16x4 images, read as such, are then squashed to the default square side (16).
    assert a.x_train.shape[1:] == (16, 16, 3) and any("16x4" in n for n in a.notes)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    # Ambiguous shapes must be declared in the file.
    square = rng.integers(0, 256, (12, 3, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "amb.npz", x=square, y=y)
    with pytest.raises(ValueError, match="ambiguous"):
        load_dataset(DataSpec(source="images", path=str(tmp_path / "amb.npz")))
    np.savez(tmp_path / "decl.npz", x=square, y=y, layout="CHW")
    got = load_dataset(DataSpec(source="images", path=str(tmp_path / "decl.npz")))
    # Read as 16x3 images (not 3x16), then squashed to the default square side.
    assert got.x_train.shape[1:] == (16, 16, 3) and any("16x3" in n for n in got.notes)


class NewestMinusOldest(nn.Module):
    """Class 0 when the newest frame (last channel) is brighter than the oldest (first)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1] == 4
        d = x[:, -1].mean(dim=(1, 2)) - x[:, 0].mean(dim=(1, 2))
        return torch.stack([20 * d, -20 * d], dim=1)


@pytest.mark.parametrize("order", ["last", "first"])
def test_all_frames_as_channels_for_a_model_that_takes_them(order):
    clf = Classifier.from_module(
        NewestMinusOldest(), image_size=16, channels=4, class_names=["up", "down"]
    )
    shape = (16, 16, 1) if order == "last" else (1, 16, 16)
    stacked = VecFrameStack(DummyVecEnv([lambda: Blinking(shape)]), 4, channels_order=order)
    venv = FlatnetRewardVecEnv(stacked, clf, target="up", mode="prob", frames="all")
    venv.reset()
    for t in range(1, 6):  # the stack holds frames t-3..t: newest bright when t is odd
        _, rewards, _, _ = venv.step(np.zeros(1, dtype=int))
        if t >= 3:
            assert rewards[0] > 0.99 if t % 2 else rewards[0] < 0.01, (t, rewards)
    grey = grey_clf()
    with pytest.raises(ValueError, match="takes 1"):
        FlatnetRewardVecEnv(stacked, grey, target="b", frames="all")
    with pytest.raises(ValueError, match="has none"):
        FlatnetRewardVecEnv(DummyVecEnv([lambda: Blinking()]), clf, target="up", frames="all")
    env = FlatnetReward(
        FrameStackObservation(Blinking((16, 16)), 4), clf, target="up", mode="prob", frames="all"
    )
    env.reset(seed=0)
    rewards = [env.step(0)[1] for _ in range(5)]
    assert rewards[2] > 0.99 and rewards[3] < 0.01


def test_stacks_of_colour_frames_are_found_and_read_as_their_newest_frame():
    class Colours(Blinking):
        """RGB frames: blue at reset, then red, blue, red ..."""

        def __init__(self) -> None:
            super().__init__((16, 16, 3))

        def _frame(self) -> np.ndarray:
            frame = np.zeros((16, 16, 3), np.uint8)
            frame[..., 0 if self.t % 2 else 2] = 255
            return frame

    class Red(nn.Module):
        def forward(self, x):
            d = x[:, 0].mean(dim=(1, 2)) - x[:, 2].mean(dim=(1, 2))
            return torch.stack([20 * d, -20 * d], dim=1)

    clf = Classifier.from_module(Red(), image_size=16, class_names=["red", "blue"])
    venv = VecFrameStack(DummyVecEnv([Colours]), 2)  # (16, 16, 6): not an image box by itself
    wrapped = FlatnetRewardVecEnv(venv, clf, target="red", mode="prob")
    wrapped.reset()
    rewards = [wrapped.step(np.zeros(1, dtype=int))[1][0] for _ in range(3)]
    assert rewards[0] > 0.99 and rewards[1] < 0.01 and rewards[2] > 0.99
    env = FlatnetReward(FrameStackObservation(Colours(), 4), clf, target="red", mode="prob")
    env.reset(seed=0)
    rewards = [env.step(0)[1] for _ in range(3)]
    assert rewards[0] > 0.99 and rewards[1] < 0.01 and rewards[2] > 0.99
