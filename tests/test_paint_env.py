"""Tests of the bare painting environment (no classifier, reward always 0)."""

from __future__ import annotations

import doctest
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.utils.passive_env_checker import env_render_passive_checker
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from flatnet_rl.data import DataSpec, load_dataset
from flatnet_rl.envs import paint
from flatnet_rl.envs.paint import PaintEnv

CONFIGS = [
    {"action_mode": "pixel"},
    {"action_mode": "pixel", "pixel_op": "toggle", "start": "noise"},
    {"action_mode": "pixel", "start": "digit", "canvas_size": 12},
    {"action_mode": "pen"},
    {"action_mode": "pen", "start": "noise", "noise_density": 0.3},
    {"action_mode": "pen", "start": "digit", "target": 3},
    {"action_mode": "stroke"},
    {"action_mode": "stroke", "start": "stroke", "canvas_size": 14},
]


def _ids(config: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in config.items())


# ------------------------------------------------------------------------- API checkers


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_gymnasium_check_env(config: dict) -> None:
    env = PaintEnv(**config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # No spec (not made with gym.make), so the alternative render modes are checked below.
        gym_check_env(env.unwrapped, skip_render_check=True)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_sb3_check_env(config: dict) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(PaintEnv(**config), warn=True, skip_render_check=True)
    # The (H, W) canvas is deliberately 2-D (the spec keeps it that way); SB3's
    # MultiInputPolicy flattens it, so its "unconventional shape" hint is the one allowed.
    messages = [str(w.message) for w in caught]
    assert [m for m in messages if "unconventional shape" not in m] == []


@pytest.mark.parametrize("action_mode", ["pixel", "pen", "stroke"])
@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi"])
def test_render_passive_checker(action_mode: str, render_mode: str) -> None:
    env = PaintEnv(action_mode=action_mode, render_mode=render_mode)
    env.reset(seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env_render_passive_checker(env)
    assert [str(w.message) for w in caught] == []


def test_spaces() -> None:
    env = PaintEnv(canvas_size=6)
    assert env.action_space == gym.spaces.Discrete(37)
    assert env.stop_action == 36
    assert set(env.observation_space.spaces) == {"canvas", "target"}
    canvas_space = env.observation_space["canvas"]
    assert canvas_space.shape == (6, 6)
    assert canvas_space.dtype == np.uint8
    assert canvas_space.low.max() == 0 and canvas_space.high.min() == 1
    assert env.observation_space["target"] == gym.spaces.Discrete(10)

    pen = PaintEnv(canvas_size=6, action_mode="pen")
    assert pen.action_space == gym.spaces.Discrete(9)
    assert pen.stop_action == 8
    assert pen.observation_space["cursor"] == gym.spaces.MultiDiscrete([6, 6])
    obs, info = pen.reset(seed=0)
    assert obs["cursor"].dtype == np.int64
    assert tuple(obs["cursor"]) == (3, 3) == info["cursor"]
    assert pen.canvas_size == 6 and pen.action_mode == "pen"


def test_docstring_example_runs() -> None:
    result = doctest.testmod(paint, verbose=False)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------ determinism


@pytest.mark.parametrize("start", ["blank", "noise", "digit"])
@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_seeded_resets_are_deterministic(start: str, action_mode: str) -> None:
    def episodes(seed: int) -> list[tuple[int, np.ndarray]]:
        env = PaintEnv(start=start, action_mode=action_mode)
        out = []
        for i in range(6):
            obs, info = env.reset(seed=seed if i == 0 else None)
            assert int(obs["target"]) == info["target"] == env.target
            out.append((info["target"], obs["canvas"]))
        return out

    first, second = episodes(7), episodes(7)
    for (t1, c1), (t2, c2) in zip(first, second, strict=True):
        assert t1 == t2
        np.testing.assert_array_equal(c1, c2)
    targets = {t for t, _ in first}
    assert len(targets) > 1, "a random target should vary between resets"
    if start != "blank":
        assert not all(np.array_equal(first[0][1], c) for _, c in first[1:])


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_seeded_trajectories_are_deterministic(action_mode: str) -> None:
    def rollout() -> list[np.ndarray]:
        env = PaintEnv(action_mode=action_mode, start="noise")
        env.action_space.seed(3)
        obs, _ = env.reset(seed=3)
        canvases = [obs["canvas"]]
        for _ in range(40):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            canvases.append(obs["canvas"])
            if terminated or truncated:
                obs, _ = env.reset()
                canvases.append(obs["canvas"])
        return canvases

    for a, b in zip(rollout(), rollout(), strict=True):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------- pixel actions


def test_pixel_action_paints_that_pixel() -> None:
    env = PaintEnv(canvas_size=5, target=2)
    env.reset(seed=0)
    row, col = 3, 1
    obs, reward, terminated, truncated, info = env.step(row * 5 + col)
    expected = np.zeros((5, 5), dtype=np.uint8)
    expected[row, col] = 1
    np.testing.assert_array_equal(obs["canvas"], expected)
    assert reward == 0.0 and not terminated and not truncated
    assert info == {"target": 2, "steps": 1, "ink": 1}
    # Painting an inked pixel again leaves it inked.
    obs, *_, info = env.step(row * 5 + col)
    np.testing.assert_array_equal(obs["canvas"], expected)
    assert info["ink"] == 1 and info["steps"] == 2


def test_toggle_flips_back() -> None:
    env = PaintEnv(canvas_size=4, pixel_op="toggle")
    env.reset(seed=0)
    obs, *_, info = env.step(6)
    assert obs["canvas"][1, 2] == 1 and info["ink"] == 1
    obs, *_, info = env.step(6)
    assert obs["canvas"].sum() == 0 and info["ink"] == 0


def test_ink_counts_start_canvas() -> None:
    env = PaintEnv(start="noise", noise_density=0.5, pixel_op="toggle")
    obs, info = env.reset(seed=1)
    assert info["ink"] == int(obs["canvas"].sum()) > 0
    for action in range(0, 64, 5):
        obs, *_, info = env.step(action)
        assert info["ink"] == int(obs["canvas"].sum())


# ------------------------------------------------------------------------- pen actions


def test_pen_up_moves_without_painting() -> None:
    env = PaintEnv(canvas_size=8, action_mode="pen")
    obs, info = env.reset(seed=0)
    assert info["cursor"] == (4, 4)
    for action, cursor in [(0, (3, 4)), (1, (4, 4)), (2, (4, 3)), (3, (4, 4))]:
        obs, _, _, _, info = env.step(action)
        assert info["cursor"] == cursor == tuple(obs["cursor"])
    assert obs["canvas"].sum() == 0 and info["ink"] == 0


def test_pen_down_paints_cell_left_and_entered() -> None:
    env = PaintEnv(canvas_size=8, action_mode="pen")
    env.reset(seed=0)
    obs, *_, info = env.step(7)  # right, pen down
    assert info["cursor"] == (4, 5)
    assert obs["canvas"][4, 4] == 1 and obs["canvas"][4, 5] == 1
    assert obs["canvas"].sum() == 2 == info["ink"]
    obs, *_, info = env.step(5)  # down, pen down
    assert info["cursor"] == (5, 5)
    assert obs["canvas"][5, 5] == 1 and obs["canvas"].sum() == 3 == info["ink"]


def test_pen_walls() -> None:
    env = PaintEnv(canvas_size=4, action_mode="pen")
    env.reset(seed=0)
    for _ in range(5):  # pen-up moves up past the wall: the cursor stops at row 0
        *_, info = env.step(0)
    assert info["cursor"] == (0, 2) and info["ink"] == 0
    obs, *_, info = env.step(4)  # pen-down into the wall: stays, paints the current cell
    assert info["cursor"] == (0, 2)
    assert obs["canvas"][0, 2] == 1 and obs["canvas"].sum() == 1 == info["ink"]
    for _ in range(3):
        obs, *_, info = env.step(7)  # right along the top wall, then into the corner
    assert info["cursor"] == (0, 3)
    np.testing.assert_array_equal(obs["canvas"][0], [0, 0, 1, 1])


def test_pen_render_marks_cursor() -> None:
    env = PaintEnv(canvas_size=4, action_mode="pen", render_mode="ansi")
    env.reset(seed=0, options={"target": 6})
    assert env.render() == "....\n....\n..@.\n....\ntarget: 6  step: 0"
    env.step(6)  # left, pen down
    assert env.render() == "....\n....\n.%#.\n....\ntarget: 6  step: 1"


# --------------------------------------------------------------------- episode ending


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_stop_terminates(action_mode: str) -> None:
    env = PaintEnv(action_mode=action_mode)
    env.reset(seed=0)
    env.step(0)
    obs, reward, terminated, truncated, info = env.step(env.stop_action)
    assert terminated and not truncated and reward == 0.0
    assert info["steps"] == 2
    assert env.observation_space.contains(obs)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"canvas_size": 6}, 18),
        ({"canvas_size": 6, "action_mode": "pen"}, 48),
        ({"canvas_size": 8, "action_mode": "pen"}, 64),
        ({"canvas_size": 14, "action_mode": "pen"}, 112),
        ({"canvas_size": 6, "max_steps": 3}, 3),
        ({"canvas_size": 6, "action_mode": "pen", "max_steps": 1}, 1),
    ],
)
def test_max_steps_truncates(kwargs: dict, expected: int) -> None:
    env = PaintEnv(**kwargs)
    assert env.max_steps == expected
    env.reset(seed=0)
    for step in range(1, expected + 1):
        _, _, terminated, truncated, info = env.step(0)
        assert not terminated
        assert truncated == (step == expected)
        assert info["steps"] == step


def test_step_before_reset_and_bad_actions() -> None:
    env = PaintEnv(canvas_size=4)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="0..16"):
        env.step(17)
    with pytest.raises(ValueError):
        env.step(-1)
    with pytest.raises(TypeError):
        env.step(1.5)
    env.step(np.int64(3))  # what vectorised SB3 passes
    env.step(np.array(4))


# ---------------------------------------------------------------------- start canvases


@pytest.mark.parametrize(("canvas_size", "source"), [(8, "digits"), (16, "mnist5k")])
def test_digit_start_is_a_digit_of_another_class(canvas_size: int, source: str) -> None:
    # Canvases above 8x8 start from real MNIST digits, the data of the larger shipped models.
    split = load_dataset(DataSpec(source=source, canvas=canvas_size))
    env = PaintEnv(canvas_size=canvas_size, start="digit")
    labels = set()
    for seed in range(20):
        obs, info = env.reset(seed=seed)
        label = info["start_label"]
        assert label != info["target"]
        labels.add(label)
        matches = np.all(split.x_train == obs["canvas"], axis=(1, 2))
        assert matches.any(), "start canvas must be an embedded training digit"
        assert label in set(split.y_train[matches].tolist())
    assert len(labels) > 3


def test_digit_start_with_fixed_and_overridden_target() -> None:
    env = PaintEnv(start="digit", target=4)
    for seed in range(10):
        _, info = env.reset(seed=seed)
        assert info["target"] == 4 and info["start_label"] != 4
        _, info = env.reset(options={"target": 0})
        assert info["target"] == 0 and info["start_label"] != 0


def test_start_label_is_minus_one_without_digit() -> None:
    assert PaintEnv(start="noise").reset(seed=0)[1]["start_label"] == -1
    env = PaintEnv(start="digit")
    _, info = env.reset(seed=0, options={"canvas": np.zeros((8, 8))})
    assert info["start_label"] == -1


def test_noise_density() -> None:
    env = PaintEnv(canvas_size=32, start="noise", noise_density=0.25)
    obs, _ = env.reset(seed=0)
    assert 0.18 < obs["canvas"].mean() < 0.32
    assert PaintEnv(start="noise", noise_density=0.0).reset(seed=0)[0]["canvas"].sum() == 0
    assert PaintEnv(start="noise", noise_density=1.0).reset(seed=0)[0]["canvas"].min() == 1


# ------------------------------------------------------------------------ reset options


def test_reset_options_override_for_one_episode() -> None:
    env = PaintEnv(canvas_size=4, target=1, start="noise", noise_density=0.5)
    canvas = np.eye(4, dtype=bool)
    obs, info = env.reset(seed=0, options={"target": 9, "canvas": canvas})
    assert info["target"] == 9 == env.target == int(obs["target"])
    np.testing.assert_array_equal(obs["canvas"], np.eye(4, dtype=np.uint8))
    assert obs["canvas"].dtype == np.uint8 and info["ink"] == 4
    canvas[0, 1] = True  # the caller's array is not the environment's buffer
    assert env.canvas[0, 1] == 0
    obs, info = env.reset()
    assert info["target"] == 1
    obs, info = env.reset(options={})
    assert info["target"] == 1


@pytest.mark.parametrize(
    "options",
    [
        {"target": 10},
        {"target": -1},
        {"target": "3"},
        {"target": 2.0},
        {"target": True},
        {"canvas": np.zeros((4, 5))},
        {"canvas": np.zeros(16)},
        {"canvas": np.full((4, 4), 2)},
        {"canvas": np.full((4, 4), 0.5)},
        {"canvas": [["a"] * 4] * 4},
        {"targt": 3},
    ],
    ids=repr,
)
def test_reset_rejects_bad_options(options: dict) -> None:
    env = PaintEnv(canvas_size=4)
    with pytest.raises(ValueError):
        env.reset(seed=0, options=options)


# ----------------------------------------------------------------------------- render


@pytest.mark.parametrize(
    ("canvas_size", "render_scale", "side"),
    [(8, None, 256), (5, None, 255), (8, 3, 24), (64, None, 256)],
)
def test_render_rgb_array(canvas_size: int, render_scale: int | None, side: int) -> None:
    env = PaintEnv(canvas_size=canvas_size, render_mode="rgb_array", render_scale=render_scale)
    env.reset(seed=0)
    env.step(0)
    frame = env.render()
    assert frame.shape == (side, side, 3) and frame.dtype == np.uint8
    scale = side // canvas_size
    assert (frame[:scale, :scale] == 255).all()  # the painted top-left pixel is white
    assert (frame[scale:, scale:] == 0).all()  # everything else black


def test_render_rgb_array_pen_cursor_border() -> None:
    env = PaintEnv(canvas_size=8, action_mode="pen", render_mode="rgb_array", render_scale=10)
    env.reset(seed=0)
    frame = env.render()
    cell = frame[40:50, 40:50]
    red = np.array([255, 0, 0], dtype=np.uint8)
    for edge in (cell[0], cell[-1], cell[:, 0], cell[:, -1]):
        assert (edge == red).all()
    assert (cell[1:-1, 1:-1] == 0).all()  # a 1-pixel border; the blank cell stays black
    assert (frame[:40] == 0).all()


def test_render_ansi() -> None:
    env = PaintEnv(canvas_size=4, render_mode="ansi")
    env.reset(seed=0, options={"target": 7})
    env.step(1)
    env.step(15)
    text = env.render()
    assert text.splitlines() == [".#..", "....", "....", "...#", "target: 7  step: 2"]


def test_render_without_mode_returns_none() -> None:
    env = PaintEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render_mode"):
        assert env.render() is None


def test_render_human_uses_matplotlib() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    env = PaintEnv(canvas_size=4, action_mode="pen", render_mode="human")
    env.metadata = {**env.metadata, "render_fps": 1000}  # keep plt.pause short
    env.reset(seed=0)  # human mode draws on reset and step by itself
    assert env._fig is not None
    env.step(7)
    assert env.render() is None
    clone = pickle.loads(pickle.dumps(env))  # the figure is not pickled...
    assert clone._fig is None
    env.close()
    assert env._fig is None
    env.close()  # closing twice is fine


# ----------------------------------------------------------------------------- misc


def test_observations_are_copies() -> None:
    env = PaintEnv(canvas_size=4, action_mode="pen")
    obs, _ = env.reset(seed=0)
    obs["canvas"][:] = 1
    obs["cursor"][:] = 0
    assert env.canvas.sum() == 0
    env.canvas[:] = 1
    assert env.canvas.sum() == 0
    obs2, *_ = env.step(0)
    assert obs2["canvas"].sum() == 0 and tuple(obs2["cursor"]) == (1, 2)
    assert not np.shares_memory(obs2["canvas"], env.step(1)[0]["canvas"])


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_stepping_a_finished_episode_raises(action_mode: str) -> None:
    """As Gymnasium's OrderEnforcing would: after termination or truncation, reset first."""
    env = PaintEnv(action_mode=action_mode, max_steps=3)
    env.reset(seed=0)
    env.step(env.stop_action)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    env.reset()
    for _ in range(3):
        *_, truncated, _ = env.step(0)
    assert truncated
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)


@pytest.mark.parametrize("action", [True, False, np.bool_(True)])
def test_bool_actions_are_refused(action) -> None:
    env = PaintEnv()
    env.reset(seed=0)
    with pytest.raises(TypeError, match="bool"):
        env.step(action)


def test_start_weights_that_overflow_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="start mixture"):
        PaintEnv(start={"blank": 1e308, "partial": 1e308})


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_pickle_round_trip(action_mode: str) -> None:
    env = PaintEnv(action_mode=action_mode, start="digit", render_mode="rgb_array")
    env.reset(seed=5)
    env.step(4)
    env.render()
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.canvas, env.canvas)
    assert clone.target == env.target
    for action in (1, 5, 6, 2):
        expected = env.step(action)
        got = clone.step(action)
        np.testing.assert_array_equal(got[0]["canvas"], expected[0]["canvas"])
        assert got[1:] == expected[1:]
    # The random generator travels too: the next episodes match.
    for _ in range(3):
        a, b = env.reset()[0], clone.reset()[0]
        np.testing.assert_array_equal(a["canvas"], b["canvas"])
        assert a["target"] == b["target"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"canvas_size": 3},
        {"canvas_size": 65},
        {"canvas_size": 8.0},
        {"canvas_size": True},
        {"action_mode": "brush"},
        {"target": 10},
        {"target": -1},
        {"target": "3"},
        {"start": "zeros"},
        {"start": {"blank": "1"}},
        {"start": {"blank": True}},
        {"start": {"blank": float("nan")}},
        {"max_steps": 0},
        {"max_steps": 2.5},
        {"noise_density": -0.1},
        {"noise_density": 1.5},
        {"noise_density": "0.1"},
        {"pixel_op": "erase"},
        {"pixel_op": "toggle", "action_mode": "pen"},
        {"render_mode": "rgb"},
        {"render_scale": 0},
        {"render_scale": 2.0},
        {"stroke_grid": 1, "action_mode": "stroke"},
        {"stroke_grid": 5, "action_mode": "pen"},
        {"stroke_width": 0, "action_mode": "stroke"},
        {"stroke_width": True, "action_mode": "stroke"},
        {"action_mode": "brush"},
    ],
    ids=repr,
)
def test_invalid_constructor_arguments(kwargs: dict) -> None:
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        PaintEnv(**kwargs)


@pytest.mark.parametrize("action_mode", ["pixel", "pen", "stroke"])
def test_ppo_smoke(action_mode: str) -> None:
    from stable_baselines3 import PPO

    env = PaintEnv(canvas_size=6, action_mode=action_mode, start="digit")
    model = PPO(
        "MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0, device="cpu"
    )
    model.learn(128)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))


def test_stroke_start_is_a_connected_piece_of_a_target_digit_with_the_pen_on_its_end():
    from scipy.ndimage import label

    env = PaintEnv(action_mode="pen", start="stroke", target=0)
    pieces = []
    for seed in range(40):
        obs, info = env.reset(seed=seed)
        canvas, (row, col) = obs["canvas"], obs["cursor"]
        assert info["start_label"] == 0
        if canvas.any():
            assert canvas[row, col] == 1  # the pen is where the stroke stopped
            _, components = label(canvas, structure=np.ones((3, 3)))
            assert components == 1
        else:
            assert (row, col) == (4, 4)
        pieces.append(int(canvas.sum()))
    assert min(pieces) < 5 and max(pieces) > 12  # lengths from nearly blank to nearly whole
