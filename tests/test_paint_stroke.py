"""The paint env's stroke mode: line rasterisation against a reference, the action semantics,
the defaults and the spatial policy. (Single vs vector trajectories of the stroke mode are in
``test_paint_vector.py``'s differential and property tests, whose configs include it.)"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flatnet_rl.envs import PaintConfig, PaintEnv
from flatnet_rl.envs.paint_config import STROKE_DEFAULTS
from flatnet_rl.envs.paint_strokes import anchor_points, brush_offsets, line_points, rasterize_lines


def reference_line(r0: int, c0: int, r1: int, c1: int) -> list[tuple[int, int]]:
    """Pixel k of a line is start + round(k * delta / n), n = max(|dr|, |dc|), halves rounded
    up, in exact rational arithmetic (a DDA without floating point)."""
    n = max(abs(r1 - r0), abs(c1 - c0))
    if n == 0:
        return [(r0, c0)]

    def round_half_up(x: Fraction) -> int:
        return int((x + Fraction(1, 2)).__floor__())

    return [
        (
            r0 + round_half_up(Fraction(k * (r1 - r0), n)),
            c0 + round_half_up(Fraction(k * (c1 - c0), n)),
        )
        for k in range(n + 1)
    ]


coords = st.integers(-3, 30)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(coords, coords, coords, coords), min_size=1, max_size=6))
def test_line_points_match_the_reference_and_are_digital_lines(lines) -> None:
    array = np.array(lines, dtype=np.int64)
    points, length = line_points(array[:, :2], array[:, 2:])
    for i, (r0, c0, r1, c1) in enumerate(lines):
        expected = reference_line(r0, c0, r1, c1)
        got = [tuple(p) for p in points[i, : length[i]].tolist()]
        assert got == expected
        # Padding repeats the end point; the line is 8-connected and hugs the segment.
        assert (points[i, length[i] :] == (r1, c1)).all()
        steps = np.abs(np.diff(points[i, : length[i]], axis=0))
        assert (steps.max(axis=1, initial=1) == 1).all() if len(steps) else True
        direction = np.array([r1 - r0, c1 - c0], dtype=float)
        if direction.any():
            rel = points[i, : length[i]] - (r0, c0)
            t = np.clip(rel @ direction / (direction @ direction), 0, 1)
            distance = np.abs(rel - t[:, None] * direction).max(axis=1)
            assert (distance <= 0.5 + 1e-9).all()


def test_rasterize_lines_draws_each_envs_line_with_the_brush_and_clips_at_walls() -> None:
    canvas = np.zeros((3, 8, 8), np.uint8)
    start = np.array([[0, 0], [7, 7]])
    end = np.array([[0, 7], [7, 7]])
    rasterize_lines(canvas, np.array([0, 2]), start, end, width=2)
    assert canvas[1].sum() == 0
    assert canvas[0, :2].all() and canvas[0, 2:].sum() == 0  # a 2-px wide horizontal line
    assert canvas[2].sum() == 1 and canvas[2, 7, 7] == 1  # a dot at a corner, clipped


@pytest.mark.parametrize("width,cells", [(1, 1), (2, 4), (3, 9), (5, 21)])
def test_brush_footprints(width: int, cells: int) -> None:
    offsets = brush_offsets(width)
    assert len(offsets) == cells and len({tuple(o) for o in offsets}) == cells


def test_anchor_grid_spans_the_digit_box() -> None:
    assert anchor_points(8, 5)[:, 0].tolist()[::5] == [0, 2, 4, 5, 7]
    rows = sorted(set(anchor_points(28, 7)[:, 0].tolist()))
    assert rows[0] == 4 and rows[-1] == 23 and len(rows) == 7


def test_stroke_actions_move_draw_and_stop() -> None:
    env = PaintEnv(action_mode="stroke", canvas_size=8)
    grid = env.config.grid
    anchors = env.config.anchors
    assert env.action_space.n == 2 * grid * grid + 1 == env.stop_action + 1
    obs, info = env.reset(seed=0)
    assert obs["canvas"].sum() == 0 and tuple(obs["cursor"]) == (4, 4)
    obs, _, term, _, info = env.step(0)  # move to anchor 0 without ink
    assert obs["canvas"].sum() == 0 and tuple(obs["cursor"]) == tuple(anchors[0])
    last = grid * grid - 1
    obs, _, term, _, info = env.step(grid * grid + last)  # draw to the last anchor
    expected = np.zeros((8, 8), np.uint8)
    for r, c in reference_line(*anchors[0], *anchors[last]):
        expected[r, c] = 1
    assert np.array_equal(obs["canvas"], expected) and info["ink"] == expected.sum()
    assert tuple(obs["cursor"]) == tuple(anchors[last]) and not term
    *_, term, trunc, _ = env.step(env.stop_action)
    assert term and not trunc


@pytest.mark.parametrize("action", [-1, 129, 2.0, True, np.bool_(False), "3"])
def test_bad_stroke_actions_are_refused(action) -> None:
    env = PaintEnv(action_mode="stroke")
    env.reset(seed=0)
    with pytest.raises((ValueError, TypeError)):
        env.step(action)


@pytest.mark.parametrize("size", sorted(STROKE_DEFAULTS))
def test_defaults_per_canvas_size_are_the_documented_ones(size: int) -> None:
    grid, brush, steps = STROKE_DEFAULTS[size]
    config = PaintConfig(canvas_size=size, action_mode="stroke")
    assert (config.grid, config.brush, config.horizon) == (grid, brush, steps)
    row = f"| {size}x{size}".ljust(9) + f"| {grid} x {grid}"
    assert row in PaintEnv.__doc__


def test_config_is_frozen_and_rebuilt_with_changes() -> None:
    config = PaintConfig(action_mode="stroke", canvas_size=28)
    with pytest.raises(AttributeError):
        config.canvas_size = 8  # type: ignore[misc]
    env = PaintEnv(config=config, max_steps=3)
    assert env.max_steps == 3 and env.config.canvas_size == 28 and config.max_steps is None


@pytest.mark.parametrize("size,curves", [(8, False), (28, False), (8, True)])
def test_stroke_map_policy_acts_on_every_anchor(size: int, curves: bool) -> None:
    from stable_baselines3 import PPO

    from flatnet_rl.agents.spatial import StrokeMapPolicy

    env = PaintEnv(action_mode="stroke", canvas_size=size, stroke_curves=curves)
    model = PPO(
        StrokeMapPolicy,
        env,
        n_steps=32,
        batch_size=16,
        n_epochs=1,
        seed=0,
        device="cpu",
        policy_kwargs={"channels": 8, "hidden": 16},
    )
    model.learn(64)
    obs, _ = env.reset(seed=1)
    tensor, _ = model.policy.obs_to_tensor(obs)
    dist = model.policy.get_distribution(tensor)
    probs = dist.distribution.probs[0]
    assert probs.shape == (env.action_space.n,)
    assert probs[-1] == 0  # stopping is masked by default
    assert torch.all(probs[:-1] > 0)


def test_stroke_map_policy_refuses_other_action_modes() -> None:
    from stable_baselines3 import PPO

    from flatnet_rl.agents.spatial import StrokeMapPolicy

    with pytest.raises(ValueError, match="stroke mode"):
        PPO(StrokeMapPolicy, PaintEnv(action_mode="pen"), device="cpu")


# -- start="demo": a prefix of a drawing the stroke actions make ----------------------------
def _demos(grid: int = 5) -> tuple[tuple[int, ...], ...]:
    """A different short drawing per class: move somewhere, then draw two lines."""
    n = grid * grid
    return tuple((k, n + (k + 6) % n, n + (k + 12) % n) for k in range(10))


def test_demo_start_is_a_prefix_of_the_drawing_made_by_the_env_itself() -> None:
    demos = _demos()
    env = PaintEnv(action_mode="stroke", start="demo", stroke_demos=demos, target=3)
    seen = set()
    for seed in range(40):
        obs, info = env.reset(seed=seed)
        seen.add((obs["canvas"].tobytes(), tuple(obs["cursor"])))
    # Every reachable prefix (1..3 actions of class 3's drawing), stepped from a blank start.
    stepped = PaintEnv(action_mode="stroke", target=3)
    stepped.reset(seed=0)
    prefixes = set()
    for action in demos[3]:
        obs, *_ = stepped.step(action)
        prefixes.add((obs["canvas"].tobytes(), tuple(obs["cursor"])))
    assert seen == prefixes
    assert env.step(0)[0]["canvas"].shape == (8, 8)  # an ordinary episode from there


def test_demo_starts_agree_in_the_single_and_the_vector_env() -> None:
    from flatnet_rl.envs import PaintVectorEnv

    kwargs = {"action_mode": "stroke", "start": {"blank": 0.5, "demo": 0.5}}
    kwargs["stroke_demos"] = _demos()
    vector = PaintVectorEnv(4, **kwargs)
    obs, _ = vector.reset(seed=7)
    for i in range(4):
        single, _ = PaintEnv(**kwargs).reset(seed=7 + i)
        np.testing.assert_array_equal(obs["canvas"][i], single["canvas"])
        np.testing.assert_array_equal(obs["cursor"][i], single["cursor"])


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"action_mode": "stroke", "start": "demo"}, "pass stroke_demos"),
        ({"action_mode": "pen", "stroke_demos": _demos()}, "for action_mode='stroke'"),
        ({"action_mode": "stroke", "stroke_demos": _demos()[:9]}, "got 9 sequences"),
        ({"action_mode": "stroke", "stroke_demos": ((128,),) * 10}, "no stop"),
        ({"action_mode": "stroke", "stroke_demos": ((),) * 10}, "1 or more"),
        ({"action_mode": "stroke", "stroke_demos": ((True,),) * 10}, "stroke actions"),
        ({"action_mode": "stroke", "stroke_demos": "0123456789"}, "got str"),
    ],
)
def test_bad_stroke_demos_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        PaintConfig(**kwargs)


def test_stroke_demos_from_json_lists_become_tuples() -> None:
    config = PaintConfig(action_mode="stroke", stroke_demos=[list(d) for d in _demos()])
    assert config.stroke_demos == _demos()
    hash(config)  # frozen and hashable, as the start-state cache needs


def test_the_search_finds_a_drawing_the_reward_model_reads_as_each_digit() -> None:
    from flatnet_rl import load_classifier
    from flatnet_rl.agents import search_stroke_demos

    clf = load_classifier("flatnet")
    config = PaintConfig(action_mode="stroke")
    demos, probs = search_stroke_demos(config, clf, beam=2)
    for target, (actions, p) in enumerate(zip(demos, probs, strict=True)):
        env = PaintEnv(action_mode="stroke", target=target)
        env.reset(seed=0)
        for action in actions:
            obs, *_ = env.step(action)
        # The returned probability is the model's own on the replayed drawing.
        replayed = clf.predict_proba(obs["canvas"].astype(bool))[target]
        assert replayed == pytest.approx(p, abs=1e-5)
        assert p > 0.5


# -- curves ---------------------------------------------------------------------------------
def test_a_curve_joins_its_anchors_and_bends_to_the_travellers_side() -> None:
    from flatnet_rl.envs.paint_strokes import stroke_segments

    top, bottom = np.array([[0, 4]]), np.array([[7, 4]])
    for kind, side in ((2, 1), (3, -1)):  # going down: left is east (+col), right west
        strokes, start, end = stroke_segments(top, bottom, np.array([kind]))
        assert (strokes == 0).all() and len(strokes) > 1
        np.testing.assert_array_equal(start[0], [0, 4])
        np.testing.assert_array_equal(end[-1], [7, 4])
        np.testing.assert_array_equal(start[1:], end[:-1])  # one connected curve
        assert np.all(side * (np.concatenate([start, end])[:, 1] - 4) >= 0)
        assert np.max(side * (start[:, 1] - 4)) >= 2  # it bends: 0.4 chords at its widest
    # A line is its own single piece.
    strokes, start, end = stroke_segments(top, bottom, np.array([1]))
    assert len(strokes) == 1 and (start == top).all() and (end == bottom).all()


def test_two_left_curves_draw_a_ring() -> None:
    env = PaintEnv(action_mode="stroke", stroke_grid=5, stroke_curves=True, target=0)
    env.reset(seed=0)
    g2 = 25
    for action in (2, 2 * g2 + 22, 2 * g2 + 2):  # move top; curve left down; curve left up
        obs, *_ = env.step(action)
    canvas = obs["canvas"]
    rows = canvas[1:7]
    assert rows[:, :4].any(axis=1).all() and rows[:, 5:].any(axis=1).all()  # both sides
    assert canvas[3:5, 3:5].sum() == 0  # and a hole in the middle
    assert env.action_space.n == 4 * g2 + 1 and env.unwrapped.stop_action == 4 * g2


def test_curves_are_a_stroke_mode_option() -> None:
    with pytest.raises(ValueError, match="stroke_curves must be True or False"):
        PaintConfig(action_mode="stroke", stroke_curves="yes")
    with pytest.raises(ValueError, match="options of action_mode='stroke'"):
        PaintConfig(action_mode="pen", stroke_curves=True)
    config = PaintConfig(action_mode="stroke", stroke_grid=5, stroke_curves=True)
    with pytest.raises(ValueError, match=r"0\.\.49"):
        PaintConfig(action_mode="stroke", stroke_grid=5, stroke_demos=((99,),) * 10)
    assert PaintConfig(
        action_mode="stroke", stroke_grid=5, stroke_curves=True, stroke_demos=((99,),) * 10
    )
    assert config.n_actions == 101
