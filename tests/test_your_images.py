"""Beyond 8x8 digits: MNIST 5k, your image folders and .npz, your nn.Module, class names,
colour frames, and frames that cannot mean anything to the classifier."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.env_util import make_vec_env
from torch import nn

import flatnet_rl
from flatnet_rl import (
    Classifier,
    FlatnetReward,
    FlatnetRewardVecEnv,
    FlatnetRewardVector,
    InputSpec,
    PaintEnv,
    load_classifier,
)
from flatnet_rl.cli import main as cli_main
from flatnet_rl.data import CanvasError, DatasetNotFoundError, DataSpec, load_dataset
from flatnet_rl.data.folders import save_image_folder
from flatnet_rl.data.frames import collect_frames, space_value_range
from flatnet_rl.data.outliers import IMAGE_FAMILIES, make_family, make_outliers
from flatnet_rl.data.shapes import SHAPE_CLASSES, make_shape_images, shape_cells
from flatnet_rl.envs.shapes import ShapesEnv
from flatnet_rl.evaluation.compare import evaluate_models
from flatnet_rl.reward import ImageWarning

NAMES = ["circle", "square", "cross"]


class TinyRGBNet(nn.Module):
    """Any module mapping float (N, 3, H, W) to logits (N, K)."""

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, k)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class RedChannel(nn.Module):
    """A "classifier" that scores class 0 by the mean red minus blue: colour matters."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        red = x[:, 0].mean(dim=(1, 2)) - x[:, 2].mean(dim=(1, 2))
        return torch.stack([40 * red, torch.zeros_like(red), -40 * red], dim=1)


class FrameEnv(gym.Env):
    """Shows fixed RGB frames (64x64) in turn; reward 0."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.observation_space = spaces.Box(0, 255, frames[0].shape, np.uint8)
        self.action_space = spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.frames[0].copy(), {}

    def step(self, action):
        self.t += 1
        return self.frames[self.t % len(self.frames)].copy(), 0.0, False, self.t >= 200, {}


def bar(colour: tuple[int, int, int]) -> np.ndarray:
    frame = np.zeros((64, 64, 3), np.uint8)
    frame[8:56, 26:38] = colour
    return frame


# -------------------------------------------------------------------------------- data


def test_mnist5k_is_real_offline_mnist():
    split = load_dataset(DataSpec(source="mnist5k", canvas=28))
    assert split.x_train.shape == (3750, 28, 28) and split.x_test.shape == (1250, 28, 28)
    assert set(np.unique(split.x_train).tolist()) == {0, 1}
    assert np.bincount(split.y_test).tolist() == [125] * 10  # stratified
    small = load_dataset(DataSpec(source="mnist5k", canvas=14))
    assert small.x_train.shape == (3750, 14, 14)
    np.testing.assert_array_equal(small.y_test, split.y_test)  # same split at every size
    assert DataSpec(source="mnist5k").canvas == 28  # native size by default


def test_image_folder_and_npz(tmp_path):
    images, labels, names = make_shape_images(6, 32, seed=0)
    root = save_image_folder(images, labels, names, tmp_path / "pics")
    split = load_dataset(DataSpec(source="images", path=str(root)))
    assert split.class_names == SHAPE_CLASSES
    assert split.x_train.shape[1:] == (32, 32, 3) and split.value_range == (0, 255)
    assert split.input_spec() == InputSpec.image(32, channels=3)
    grey = load_dataset(DataSpec(source="images", path=str(root), canvas=16, grey=True))
    assert grey.x_train.shape[1:] == (16, 16, 1) and grey.channels == 1
    np.savez(
        tmp_path / "d.npz", x=images.astype(np.float32) / 255, y=labels, class_names=np.array(NAMES)
    )
    npz = load_dataset(DataSpec(source="images", path=str(tmp_path / "d.npz")))
    assert npz.class_names == tuple(NAMES) and npz.x_train.dtype == np.float32
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset(DataSpec(source="images", path=str(tmp_path / "none")))
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(ValueError, match="at least 2"):
        load_dataset(DataSpec(source="images", path=str(tmp_path / "one")))
    np.savez(tmp_path / "bad.npz", x=images, y=labels.astype(np.float32))
    with pytest.raises(ValueError, match="integer labels"):
        load_dataset(DataSpec(source="images", path=str(tmp_path / "bad.npz")))


@pytest.mark.parametrize("family", IMAGE_FAMILIES)
def test_image_outlier_families(family):
    examples = make_shape_images(3, 16, seed=0)[0]
    shape = (16, 16, 3)
    a = make_family(family, 7, shape, np.random.default_rng(1), examples=examples)
    b = make_family(family, 7, shape, np.random.default_rng(1), examples=examples)
    assert a.shape == (7, 16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    pool = make_outliers(20, (16, 16, 1), seed=0, examples=examples[..., :1])
    assert pool.shape == (20, 16, 16, 1)


def test_collect_frames_from_an_env():
    frames, value_range = collect_frames("FlatnetShapes-v0", 10, seed=0, image="render")
    assert frames.shape == (10, 64, 64, 3) and value_range == (0.0, 255.0)
    canvases, canvas_range = collect_frames("FlatnetPaintBare-v0", 5, seed=0)
    assert canvases.shape == (5, 8, 8) and canvas_range == (0.0, 1.0)
    with pytest.raises(ValueError, match="Bogus-v0"):
        collect_frames("Bogus-v0", 1, seed=0)
    with pytest.raises(ValueError, match="value range"):
        space_value_range(spaces.Box(-np.inf, np.inf, (4, 4)))


def test_shapes_env():
    env = ShapesEnv(target="slash", render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs["canvas"].sum() == 0 and env.render().shape == (64, 64, 3)
    assert info["target"] == SHAPE_CLASSES.index("slash")
    cells = shape_cells("slash", np.random.default_rng(0))
    for a in np.flatnonzero(cells.ravel()):
        obs, *_ = env.step(int(a))
    assert obs["canvas"].sum() == cells.sum()
    assert (env.render() < 200).any()  # ink on paper
    partial = ShapesEnv(target="ring", partial_starts=1.0)
    starts = [partial.reset(seed=s)[0]["canvas"].sum() for s in range(20)]
    assert max(starts) > 0
    with pytest.raises(ValueError, match="target"):
        ShapesEnv(target="hexagon")


# ------------------------------------------------------------------ your own classifier


def test_from_module_everywhere(tmp_path):
    clf = Classifier.from_module(TinyRGBNet(), image_size=32, channels=3, class_names=NAMES)
    assert clf.class_names == tuple(NAMES) and clf.num_classes == 3
    probs = clf.predict_proba(np.zeros((5, 48, 40, 3), np.uint8))  # any size: resized
    assert probs.shape == (5, 3)
    assert clf.class_index("square") == 1
    with pytest.raises(ValueError, match="unknown target class 'hexagon'"):
        clf.class_index("hexagon")
    env = FlatnetReward(FrameEnv([bar((200, 0, 0))]), clf, target="cross", mode="prob")
    _, info = env.reset(seed=0)
    assert info["flatnet"]["target"] == 2 and 0 <= info["flatnet"]["p_target"] <= 1
    venv = FlatnetRewardVecEnv(
        make_vec_env(lambda: FrameEnv([bar((200, 0, 0))]), n_envs=2), clf, target="circle"
    )
    venv.reset()
    assert venv.step(np.zeros(2, int))[1].shape == (2,)
    vector = FlatnetRewardVector(
        gym.vector.SyncVectorEnv([lambda: FrameEnv([bar((0, 0, 200))])] * 2), clf, target=0
    )
    vector.reset(seed=0)
    assert vector.step(np.zeros(2, int))[1].shape == (2,)
    images, labels, names = make_shape_images(8, 32, seed=0)
    root = save_image_folder(images, labels, names, tmp_path / "pics")
    (report,) = evaluate_models(
        [clf], data=DataSpec(source="images", path=str(root)), n_outliers=20, n_paths=3
    )
    assert set(report.families) == set(IMAGE_FAMILIES) and report.num_classes == 3


def test_from_module_checks_its_output():
    with pytest.raises(ValueError, match="one per class name"):
        Classifier.from_module(TinyRGBNet(k=4), image_size=32, class_names=NAMES)
    with pytest.raises(TypeError, match="nn.Module"):
        Classifier.from_module(lambda x: x, image_size=32, class_names=NAMES)
    with pytest.raises(ValueError, match="class_names"):
        Classifier.from_module(TinyRGBNet(), image_size=32, class_names=["a", "a", "b"])


def test_from_module_checkpoint_needs_the_module(tmp_path):
    clf = Classifier.from_module(TinyRGBNet(), image_size=32, class_names=NAMES, name="tiny")
    path = clf.save(tmp_path / "mine.safetensors")
    with pytest.raises(flatnet_rl.checkpoint.CheckpointError, match="pass module="):
        Classifier.load(path)
    again = Classifier.load(path, module=TinyRGBNet())
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    np.testing.assert_array_equal(again.predict_proba(x), clf.predict_proba(x))


def test_paint_env_takes_a_module_classifier():
    flat = Classifier.from_module(
        nn.Sequential(nn.Flatten(), nn.Linear(64, 10)),
        image_size=8,
        channels=1,
        class_names=[str(k) for k in range(10)],
        preprocess=InputSpec.binary(8),
    )
    env = gym.make("FlatnetPaint-v0", classifier=flat, target=3)
    _, info = env.reset(seed=0)
    assert 0 <= info["flatnet"]["p_target"] <= 1


class InkCounter(nn.Module):
    """Logits from the ink of a grey canvas; records the largest input value it was given."""

    def __init__(self, k: int = 10, channels: int = 1) -> None:
        super().__init__()
        self.weights = nn.Linear(64 * channels, k)
        self.seen = 0.0

    def forward(self, x):
        self.seen = max(self.seen, float(x.max()))
        return self.weights(x.flatten(1))


def test_paint_env_takes_any_grey_square_module():
    """The README's "any module works": a grey 8x8 module with the default image spec (no
    threshold) scores the 0/1 canvas as 0/1 floats, in the env and in its vector version."""
    net = InkCounter()
    digits = [str(k) for k in range(10)]
    clf = Classifier.from_module(net, image_size=8, channels=1, class_names=digits)
    env = gym.make("FlatnetPaint-v0", classifier=clf, target=3, reward_mode="prob")
    obs, _ = env.reset(seed=0)
    obs, reward, *_ = env.step(27)
    expected = clf.predict_proba(obs["canvas"].astype(np.float32))[3]
    assert reward == pytest.approx(float(expected), abs=1e-6)
    assert net.seen == 1.0  # 0/1 canvas, declared 0..1: not read as 0..255 (1/255)
    envs = gym.make_vec("FlatnetPaint-v0", num_envs=2, classifier=clf, reward_mode="prob")
    envs.reset(seed=0)
    assert envs.step(np.array([1, 2]))[1].shape == (2,)


def test_paint_env_refuses_a_classifier_without_ten_classes():
    # A binary digit-canvas spec used to pass make() and fail at reset on the target.
    three = Classifier.from_module(
        InkCounter(k=3),
        image_size=8,
        channels=1,
        class_names=["a", "b", "c"],
        preprocess=InputSpec.binary(8),
    )
    with pytest.raises(ValueError, match="digits 0..9.*3 classes"):
        gym.make("FlatnetPaint-v0", classifier=three)
    with pytest.raises(ValueError, match="digits 0..9"):
        gym.make_vec("FlatnetPaint-v0", num_envs=2, classifier=three)
    rgb = Classifier.from_module(
        InkCounter(channels=3), image_size=8, channels=3, class_names=list("0123456789")
    )
    with pytest.raises(ValueError, match="grey square"):
        gym.make("FlatnetPaint-v0", classifier=rgb)


def test_colour_matters_only_to_a_colour_model():
    """A grey digit model cannot tell a red bar from a blue one (a one-time warning says so);
    an RGB model can."""
    red, blue = bar((220, 0, 0)), bar((0, 0, 220))
    rgb = Classifier.from_module(RedChannel(), image_size=32, class_names=NAMES)
    env = FlatnetReward(FrameEnv([red, blue]), rgb, target=0, mode="prob")
    _, info = env.reset(seed=0)
    p_red = info["flatnet"]["p_target"]
    _, _, _, _, info = env.step(0)
    assert p_red > 0.8 > 0.2 > info["flatnet"]["p_target"]
    with pytest.warns(ImageWarning, match="colour"):
        digit = FlatnetReward(FrameEnv([red, blue]), "flatnet", target=1, mode="prob")
        digit.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageWarning)
        digit.step(0)  # once only


def test_constant_input_warns_once_instead_of_a_silent_constant_reward():
    black = np.zeros((64, 64, 3), np.uint8)
    # A dark grey patch: pixels (values 0/1 would be codes, refused), too faint for ink.
    black[10:20, 10:20] = 40
    env = FlatnetReward(FrameEnv([black]), "flatnet", target=3, mode="prob")
    env.reset(seed=0)
    with pytest.warns(ImageWarning, match="empty canvas"):
        for _ in range(70):
            env.step(0)
    painting = FlatnetReward(PaintEnv(target=3), "flatnet")
    painting.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageWarning)
        for action in range(30):
            painting.step(action)


def test_channel_counts_the_model_does_not_take_are_errors():
    rgb = Classifier.from_module(TinyRGBNet(), image_size=32, class_names=NAMES)
    grey_frames = FrameEnv([np.zeros((64, 64, 1), np.uint8)])
    env = FlatnetReward(grey_frames, rgb, target=0)
    with pytest.raises(CanvasError, match="3-channel"):
        env.reset(seed=0)


# ------------------------------------------------------------- train on your pictures


@pytest.fixture(scope="module")
def shape_models(tmp_path_factory):
    """Flat and plain-CE 3-class classifiers trained through the CLI on a generated RGB image
    folder (32x32), the flat one with random-policy frames of the shapes env as outliers."""
    root = tmp_path_factory.mktemp("shapes")
    images, labels, names = make_shape_images(200, 32, seed=0)
    save_image_folder(images, labels, names, root / "pictures")
    common = [
        "--data",
        str(root / "pictures"),
        "--image-size",
        "16",
        "--arch",
        "flatnet_lite",
        "--epochs",
        "20",
        "--batch-size",
        "32",
        "--quiet",
    ]
    assert (
        cli_main(
            [
                "train-classifier",
                *common,
                "--outliers",
                "800",
                "--outliers-from-env",
                "FlatnetShapes-v0",
                "--env-image",
                "render",
                "--env-outlier-frames",
                "400",
                "--out",
                str(root / "flat.safetensors"),
            ]
        )
        == 0
    )
    assert (
        cli_main(
            [
                "train-classifier",
                *common,
                "--loss",
                "ce",
                "--outliers",
                "0",
                "--out",
                str(root / "plain.safetensors"),
            ]
        )
        == 0
    )
    return {n: load_classifier(root / f"{n}.safetensors", device="cpu") for n in ("flat", "plain")}


def test_trained_on_pictures_accurate_flat_and_rewarding_the_target(shape_models):
    held_out, held_labels, _ = make_shape_images(60, 32, seed=99)
    noise = make_family("noise", 300, (64, 64, 3), np.random.default_rng(0))
    scribbles = make_family("scribble", 300, (64, 64, 3), np.random.default_rng(1))
    max_prob = {}
    for name, clf in shape_models.items():
        assert clf.class_names == SHAPE_CLASSES  # the folder names
        accuracy = (clf.predict(held_out) == held_labels).mean()
        assert accuracy >= 0.95, (name, accuracy)
        max_prob[name] = np.mean([clf.predict_proba(x).max(-1).mean() for x in (noise, scribbles)])
    assert max_prob["flat"] < max_prob["plain"] - 0.15, max_prob
    rng = np.random.default_rng(3)
    for name, clf in shape_models.items():
        env = FlatnetReward(
            ShapesEnv(target="ring", max_steps=64, render_mode="rgb_array"),
            clf,
            target="ring",
            mode="prob",
            image="render",
        )
        p = {}
        for kind in SHAPE_CLASSES:
            values = []
            for episode in range(10):
                env.reset(seed=episode)
                for a in np.flatnonzero(shape_cells(kind, rng).ravel()):
                    *_, info = env.step(int(a))
                values.append(info["flatnet"]["p_target"])
            p[kind] = float(np.mean(values))
        assert p["ring"] > 0.6 and p["ring"] > 3 * max(p["cross"], p["slash"]), (name, p)
