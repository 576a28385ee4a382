"""Tests of the natively vectorized painting envs: step for step the same as ``PaintEnv``.

The references are Gymnasium's ``SyncVectorEnv`` and SB3's ``DummyVecEnv`` of ``PaintEnv``s:
they define both the per-env trajectories and each library's autoreset conventions.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.vector import RecordEpisodeStatistics
from stable_baselines3 import PPO
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecCheckNan,
    VecMonitor,
    VecNormalize,
)

from flatnet_rl.envs.paint import PaintEnv
from flatnet_rl.envs.paint_config import PaintConfig
from flatnet_rl.envs.paint_core import PaintBatch
from flatnet_rl.envs.paint_sb3 import PaintVecEnv
from flatnet_rl.envs.paint_vector import PaintVectorEnv, make_paint_vector_env

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    HAVE_HYPOTHESIS = True
except ImportError:  # pragma: no cover - hypothesis is an optional test dependency
    HAVE_HYPOTHESIS = False

N = 4
MIXTURE = {"blank": 0.25, "partial": 0.75}
# Short horizons and frequent stops give many autoresets (and stops on the last step).
CONFIGS: list[dict[str, Any]] = [
    {"action_mode": "pixel", "max_steps": 6},
    {"action_mode": "pixel", "pixel_op": "toggle", "start": "noise", "noise_density": 0.3},
    {"action_mode": "pixel", "start": MIXTURE, "max_steps": 8},
    {"action_mode": "pixel", "start": "digit", "target": 3, "max_steps": 5},
    {"action_mode": "pen", "start": "partial", "max_steps": 7},
    {"action_mode": "pen", "start": MIXTURE, "max_steps": 5},
    {"action_mode": "pen", "start": {"blank": 0.2, "stroke": 0.8}, "max_steps": 6},
    {"action_mode": "pen", "start": "noise", "canvas_size": 5},
    {"action_mode": "stroke", "start": {"blank": 0.5, "stroke": 0.5}, "max_steps": 5},
    {"action_mode": "stroke", "start": "partial", "canvas_size": 14, "stroke_width": 3},
    {"action_mode": "stroke", "stroke_curves": True, "canvas_size": 28, "max_steps": 6},
]
AUTORESET_MODES = [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP]


def _ids(config: dict[str, Any]) -> str:
    return "-".join(f"{k}={v}" for k, v in config.items())


def _actions(rng: np.random.Generator, stop: int, steps: int, p_stop: float = 0.12) -> np.ndarray:
    """``(steps, N)`` int64 actions: uniform moves, the stop action with probability p_stop."""
    moves = rng.integers(stop, size=(steps, N))
    return np.where(rng.random((steps, N)) < p_stop, stop, moves)


def _sync(config: dict[str, Any], mode: AutoresetMode = AutoresetMode.NEXT_STEP) -> SyncVectorEnv:
    return SyncVectorEnv([lambda: PaintEnv(**config) for _ in range(N)], autoreset_mode=mode)


def _dummy(config: dict[str, Any]) -> DummyVecEnv:
    return DummyVecEnv([lambda: PaintEnv(**config) for _ in range(N)])


def _cursor_array(values: np.ndarray) -> np.ndarray:
    """SyncVectorEnv's object array of cursor tuples (None where masked out) as ``(N, 2)``."""
    rows = [(0, 0) if v is None else v for v in values]
    return np.array(rows, dtype=np.int64).reshape(len(rows), 2)


def assert_same(ours: Any, ref: Any, path: str = "") -> None:
    """Recursive equality of observations/infos, types and dtypes included. The one allowed
    difference: vector infos hold ``cursor`` as an int array, SyncVectorEnv as tuples."""
    if isinstance(ref, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(ref), (path, set(ours) ^ set(ref))
        for key in ref:
            expected = ref[key]
            if key == "cursor" and isinstance(expected, np.ndarray) and expected.dtype == object:
                expected = _cursor_array(expected)
            assert_same(ours[key], expected, f"{path}.{key}")
    elif isinstance(ref, np.ndarray) and ref.dtype == object:
        assert isinstance(ours, np.ndarray) and ours.shape == ref.shape, path
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(ref, np.ndarray):
        assert isinstance(ours, np.ndarray), path
        assert (ours.dtype, ours.shape) == (ref.dtype, ref.shape), path
        assert np.array_equal(ours, ref), path
    elif isinstance(ref, list | tuple):
        assert type(ours) is type(ref) and len(ours) == len(ref), path
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            assert_same(a, b, f"{path}[{i}]")
    else:
        assert type(ours) is type(ref) and ours == ref, (path, ours, ref)


@pytest.fixture
def vec_id() -> Iterator[str]:
    """A temporary registry id with a vector_entry_point (the real one is registered
    elsewhere)."""
    env_id = "TestPaintVec-v0"
    gym.register(
        id=env_id,
        entry_point="flatnet_rl.envs.paint:PaintEnv",
        vector_entry_point="flatnet_rl.envs.paint_vector:make_paint_vector_env",
    )
    try:
        yield env_id
    finally:
        del gym.registry[env_id]


# ------------------------------------------------------------------- same trajectories


@pytest.mark.parametrize("mode", AUTORESET_MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_gymnasium_matches_sync_vector_env(config: dict[str, Any], mode: AutoresetMode) -> None:
    ours = PaintVectorEnv(N, autoreset_mode=mode, **config)
    ref = _sync(config, mode)
    assert ours.metadata["autoreset_mode"] == ref.metadata["autoreset_mode"] == mode
    assert ours.single_observation_space == ref.single_observation_space
    assert ours.single_action_space == ref.single_action_space
    assert ours.observation_space == ref.observation_space
    assert ours.action_space == ref.action_space

    assert_same(ours.reset(seed=7), ref.reset(seed=7))
    ended = 0
    for actions in _actions(np.random.default_rng(0), ours.stop_action, 40):
        out, expected = ours.step(actions), ref.step(actions)
        assert_same(out, expected)
        ended += int(np.sum(out[2] | out[3]))
    assert ended >= 2 * N  # several autoresets per env


@pytest.mark.parametrize("config", CONFIGS, ids=_ids)
def test_sb3_matches_dummy_vec_env(config: dict[str, Any]) -> None:
    ours, ref = PaintVecEnv(N, **config), _dummy(config)
    assert ours.observation_space == ref.observation_space
    assert ours.action_space == ref.action_space
    assert ours.seed(5) == ref.seed(5)
    assert_same(ours.reset(), ref.reset())
    assert_same(ours.reset_infos, ref.reset_infos)
    rng = np.random.default_rng(1)
    for chunk in range(2):
        for actions in _actions(rng, ours.batch.stop_action, 25):
            assert_same(ours.step(actions), ref.step(actions))
            assert_same(ours.reset_infos, ref.reset_infos)
        # Seeds (seed + i) and per-env options are used at the next reset() only.
        options = [{"target": 2}, {}, {"target": 9}, {}]
        for venv in (ours, ref):
            venv.seed(11 + chunk)
            venv.set_options(options)
        assert_same(ours.reset(), ref.reset())
        assert_same(ours.reset_infos, ref.reset_infos)


@pytest.mark.parametrize("config", CONFIGS[::3], ids=_ids)
def test_env_i_is_paint_env_seeded_seed_plus_i(config: dict[str, Any]) -> None:
    """The spec stated directly: env i = PaintEnv reset with seed + i, reset again (no seed)
    whenever its episode ends."""
    venv = PaintVecEnv(N, **config)
    venv.seed(100)
    obs = venv.reset()
    envs = [PaintEnv(**config) for _ in range(N)]
    singles = [env.reset(seed=100 + i)[0] for i, env in enumerate(envs)]
    for actions in _actions(np.random.default_rng(2), venv.batch.stop_action, 30):
        for i in range(N):
            assert_same({k: v[i] for k, v in obs.items()}, dict(singles[i]))
        obs, _, _, _ = venv.step(actions)
        for i, env in enumerate(envs):
            singles[i], _, terminated, truncated, _ = env.step(int(actions[i]))
            if terminated or truncated:
                singles[i], _ = env.reset()


def _property_check(config: dict[str, Any], seed: int, actions: list[list[int]]) -> None:
    """Both adapters and both Gymnasium modes against per-env PaintEnvs on ``actions``."""
    sb3, ref_sb3 = PaintVecEnv(N, **config), _dummy(config)
    sb3.seed(seed)
    ref_sb3.seed(seed)
    assert_same(sb3.reset(), ref_sb3.reset())
    gyms = [
        (PaintVectorEnv(N, autoreset_mode=m, **config), _sync(config, m)) for m in AUTORESET_MODES
    ]
    for ours, ref in gyms:
        assert_same(ours.reset(seed=seed), ref.reset(seed=seed))
    for step in actions:
        batch = np.array(step, dtype=np.int64)
        assert_same(sb3.step(batch), ref_sb3.step(batch))
        for ours, ref in gyms:
            assert_same(ours.step(batch), ref.step(batch))


if HAVE_HYPOTHESIS:

    @settings(
        max_examples=30,
        deadline=None,
        database=None,  # no .hypothesis/ example database in the repository
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(data=st.data())
    def test_property_same_trajectories(data: st.DataObject) -> None:
        config = data.draw(st.sampled_from(CONFIGS), label="config")
        stop = PaintEnv(**config).stop_action
        seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
        # Stop is drawn often so that autoresets happen in short sequences.
        action = st.one_of(st.just(stop), st.integers(0, stop))
        actions = data.draw(
            st.lists(st.lists(action, min_size=N, max_size=N), max_size=20), label="actions"
        )
        _property_check(config, seed, actions)

else:  # pragma: no cover

    @pytest.mark.skip(reason="hypothesis is not installed")
    def test_property_same_trajectories() -> None:
        pass


# --------------------------------------------------------------- autoreset conventions


def test_sb3_time_limit_truncated_and_terminal_observation() -> None:
    venv = PaintVecEnv(2, max_steps=3)
    venv.seed(0)
    venv.reset()
    for pixel in (0, 1):
        _, _, dones, infos = venv.step(np.array([pixel, pixel]))
        assert not dones.any() and [i["TimeLimit.truncated"] for i in infos] == [False, False]
    # Env 0 runs out of time; env 1 stops on its last step (terminated and truncated).
    obs, _, dones, infos = venv.step(np.array([2, venv.batch.stop_action]))
    assert dones.tolist() == [True, True]
    assert [i["TimeLimit.truncated"] for i in infos] == [True, False]
    final = infos[0]["terminal_observation"]
    assert final["canvas"].ravel()[:3].tolist() == [1, 1, 1]
    assert obs["canvas"][0].sum() == 0  # already the next episode's blank canvas
    assert [r["steps"] for r in venv.reset_infos] == [0, 0]


def test_gymnasium_both_flags_on_a_stop_at_the_last_step() -> None:
    envs = PaintVectorEnv(2, max_steps=2, autoreset_mode=AutoresetMode.SAME_STEP)
    envs.reset(seed=0)
    envs.step(np.array([0, 0]))
    obs, _, terminated, truncated, infos = envs.step(np.array([1, envs.stop_action]))
    assert terminated.tolist() == [False, True] and truncated.tolist() == [True, True]
    assert infos["_final_obs"].tolist() == [True, True]
    assert infos["final_info"]["steps"].tolist() == [2, 2]
    assert infos["steps"].tolist() == [0, 0] and infos["_start_label"].tolist() == [True, True]
    assert obs["canvas"].sum() == 0


def test_next_step_ignores_the_action_of_a_resetting_env() -> None:
    envs = PaintVectorEnv(2)
    envs.reset(seed=0)
    envs.step(np.array([envs.stop_action, 5]))
    obs, rewards, terminated, truncated, infos = envs.step(np.array([7, 6]))
    assert obs["canvas"][0].sum() == 0 and obs["canvas"][1].sum() == 2
    assert rewards.tolist() == [0.0, 0.0] and not (terminated | truncated).any()
    assert infos["_start_label"].tolist() == [True, False]
    assert infos["steps"].tolist() == [0, 2]


def test_disabled_mode_and_reset_mask_match_sync_vector_env() -> None:
    config = {"start": MIXTURE, "max_steps": 4}
    mode = AutoresetMode.DISABLED
    ours, ref = PaintVectorEnv(N, autoreset_mode=mode, **config), _sync(config, mode)
    assert_same(ours.reset(seed=3), ref.reset(seed=3))
    rng = np.random.default_rng(3)
    for actions in _actions(rng, ours.stop_action, 20):
        out = ours.step(actions)
        assert_same(out, ref.step(actions))
        done = out[2] | out[3]
        if done.any():
            with pytest.raises(gym.error.ResetNeeded):
                ours.step(actions)
            # SyncVectorEnv pops reset_mask from the options it is given: give it a copy.
            assert_same(
                ours.reset(options={"reset_mask": done}),
                ref.reset(options={"reset_mask": done.copy()}),
            )


# ------------------------------------------------------------------------ reset options


def test_reset_options_per_env_match_paint_env() -> None:
    envs = PaintVectorEnv(N, start=MIXTURE)
    canvas = np.zeros((N, 8, 8), dtype=np.uint8)
    canvas[:, 2, 3] = 1
    options = {
        "target": np.array([1, 2, 3, 4]),
        "_target": np.array([True, False, True, False]),
        "canvas": canvas,
        "_canvas": np.array([False, False, True, True]),
    }
    obs, infos = envs.reset(seed=20, options=options)
    for i in range(N):
        single: dict[str, Any] = {}
        if options["_target"][i]:
            single["target"] = int(options["target"][i])
        if options["_canvas"][i]:
            single["canvas"] = canvas[i]
        expected_obs, expected_info = PaintEnv(start=MIXTURE).reset(
            seed=20 + i, options=single or None
        )
        assert_same({k: v[i] for k, v in obs.items()}, dict(expected_obs))
        assert infos["start_label"][i] == expected_info["start_label"]
    # One value for every env, as SyncVectorEnv passes the same options to each env.
    shared = {"target": 5, "canvas": canvas[0]}
    assert_same(envs.reset(seed=1, options=shared), _sync({}).reset(seed=1, options=shared))


@pytest.mark.parametrize(
    "options",
    [
        {"colour": 1},
        {"target": np.arange(N + 1)},
        {"target": np.full(N, 10)},
        {"target": np.full(N, 1.0)},
        {"target": np.zeros(N, dtype=int), "_target": np.ones(N)},
        {"_canvas": np.ones(N, dtype=bool)},
        {"canvas": np.full((8, 8), 2)},
        {"canvas": np.zeros((N, 7, 7))},
        {"reset_mask": np.zeros(N, dtype=bool)},
        {"reset_mask": [True] * N},
    ],
)
def test_bad_reset_options_raise(options: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        PaintVectorEnv(N).reset(seed=0, options=options)


# -------------------------------------------------------------------- API and checking


@pytest.mark.parametrize("venv_cls", [PaintVectorEnv, PaintVecEnv])
@pytest.mark.parametrize(
    ("actions", "error"),
    [
        (np.zeros(N, dtype=bool), TypeError),
        (np.zeros(N, dtype=np.float32), TypeError),
        (np.zeros((N, 1), dtype=np.int64), ValueError),
        (np.zeros(N + 1, dtype=np.int64), ValueError),
        (np.array([0, 0, -1, 0]), ValueError),
        (np.array([0, 0, 65, 0]), ValueError),
        ([0, 0, 0.5, 0], TypeError),
        (0, ValueError),
    ],
)
def test_bad_actions_raise(venv_cls: type, actions: Any, error: type[Exception]) -> None:
    venv = venv_cls(N)
    venv.reset()
    with pytest.raises(error):
        venv.step(actions)


def test_good_action_types_and_reset_needed() -> None:
    envs = PaintVectorEnv(N, max_steps=50)
    with pytest.raises(gym.error.ResetNeeded):
        envs.step(np.zeros(N, dtype=np.int64))
    envs.reset(seed=0)
    for actions in ([0, 1, 2, 64], np.arange(N, dtype=np.uint8), np.arange(N, dtype=np.int32)):
        envs.step(actions)
    with pytest.raises(gym.error.ResetNeeded):
        PaintVecEnv(N).step(np.zeros(N, dtype=np.int64))


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_observations_are_copies(action_mode: str) -> None:
    envs = PaintVectorEnv(N, action_mode=action_mode, autoreset_mode=AutoresetMode.SAME_STEP)
    obs, _ = envs.reset(seed=0)
    before = {k: v.copy() for k, v in obs.items()}
    for value in obs.values():
        value[...] = 1
    assert_same(envs.batch.observations(), before)
    stop = envs.stop_action
    _, _, _, _, infos = envs.step(np.array([stop, 0, 0, 0]))
    infos["final_obs"][0]["canvas"][...] = 1
    infos["target"][...] = 99
    assert envs.batch.canvas.sum() <= 2 * N and (envs.batch.target < 10).all()
    sb3 = PaintVecEnv(N, action_mode=action_mode)
    obs = sb3.reset()
    obs["canvas"][...] = 1
    assert sb3.batch.canvas.sum() == 0
    _, _, _, infos = sb3.step(np.array([stop, 0, 0, 0]))
    infos[0]["terminal_observation"]["canvas"][...] = 1
    assert sb3.batch.canvas.sum() <= 2 * N


def test_spaces_are_gymnasiums_batches() -> None:
    envs = PaintVectorEnv(3, action_mode="pen", canvas_size=6)
    single = PaintEnv(action_mode="pen", canvas_size=6)
    assert envs.single_observation_space == single.observation_space
    assert envs.observation_space == batch_space(single.observation_space, 3)
    assert envs.action_space == batch_space(single.action_space, 3)
    obs, _ = envs.reset(seed=0)
    assert obs in envs.observation_space
    for _ in range(5):
        obs, *_ = envs.step(envs.action_space.sample())
        assert obs in envs.observation_space


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_envs": 0},
        {"num_envs": True},
        {"render_mode": "human"},
        {"canvas_size": 3},
        {"start": "scribble"},
        {"pixel_op": "toggle", "action_mode": "pen"},
        {"autoreset_mode": "sometimes"},
    ],
)
def test_bad_constructor_arguments_raise(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PaintVectorEnv(**kwargs)


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
@pytest.mark.parametrize("render_scale", [None, 3])
def test_rgb_frames_equal_paint_env_render(action_mode: str, render_scale: int | None) -> None:
    config = {"action_mode": action_mode, "start": "noise", "render_scale": render_scale}
    envs = PaintVectorEnv(N, render_mode="rgb_array", **config)
    singles = [PaintEnv(render_mode="rgb_array", **config) for _ in range(N)]
    envs.reset(seed=4)
    for i, env in enumerate(singles):
        env.reset(seed=4 + i)
    for actions in _actions(np.random.default_rng(4), envs.stop_action, 6, p_stop=0.0):
        envs.step(actions)
        for env, a in zip(singles, actions, strict=True):
            env.step(int(a))
        for frame, env in zip(envs.render(), singles, strict=True):
            assert np.array_equal(frame, env.render())
    sb3 = PaintVecEnv(N, render_mode="rgb_array", **config)
    sb3.reset()
    images = sb3.get_images()
    assert len(images) == N and sb3.render().shape[2] == 3
    assert np.array_equal(sb3.env_method("render", indices=1)[0], images[1])
    with pytest.warns(UserWarning):
        assert PaintVecEnv(N).get_images() == [None] * N


def test_attribute_access() -> None:
    venv = PaintVecEnv(N, action_mode="pen", target=4)
    venv.seed(0)
    venv.reset()
    assert venv.get_attr("target") == [4] * N
    assert venv.get_attr("cursor", indices=[0, 2]) == [(4, 4), (4, 4)]
    assert venv.get_attr("stop_action") == [8] * N
    assert venv.env_is_wrapped(gym.Wrapper) == [False] * N
    with pytest.raises(AttributeError):
        venv.set_attr("canvas", np.ones((8, 8)))
    venv.set_attr("note", "x", indices=1)
    assert venv.get_attr("note", indices=1) == ["x"]
    assert venv.has_attr("canvas_size") and not venv.has_attr("no_such_attribute")
    states = [g.bit_generator.state for g in venv.get_attr("np_random")]
    assert states == [g.bit_generator.state for g in _reset_generators(N)]
    envs = PaintVectorEnv(N)
    envs.reset(seed=9)
    assert envs.np_random_seed == tuple(9 + i for i in range(N))
    assert envs.get_attr("canvas_size") == (8,) * N
    envs.set_attr("note", [1, 2, 3, 4])
    assert envs.call("note") == (1, 2, 3, 4)


def _reset_generators(n: int) -> list[np.random.Generator]:
    """The generators of PaintEnvs after reset(seed=i) (one target draw each)."""
    generators = []
    for i in range(n):
        env = PaintEnv(action_mode="pen", target=4)
        env.reset(seed=i)
        generators.append(env.np_random)
    return generators


def test_pickle_round_trip_continues_identically() -> None:
    envs = PaintVectorEnv(N, start=MIXTURE, autoreset_mode=AutoresetMode.SAME_STEP)
    envs.reset(seed=2)
    copy = pickle.loads(pickle.dumps(envs))
    for actions in _actions(np.random.default_rng(5), envs.stop_action, 15):
        assert_same(copy.step(actions), envs.step(actions))


# ------------------------------------------------------------------ Gymnasium registry


def test_make_vec_uses_the_vector_entry_point(vec_id: str) -> None:
    config = {"action_mode": "pen", "start": MIXTURE, "max_steps": 6}
    ours = gym.make_vec(vec_id, num_envs=N, **config)
    assert isinstance(ours, PaintVectorEnv) and ours.spec is not None
    assert ours.spec.id == vec_id and ours.spec.kwargs["vectorization_mode"] == "vector_entry_point"
    with warnings.catch_warnings():
        # The passive env checker's remarks on PaintEnv are not this test's business.
        warnings.simplefilter("ignore")
        ref = gym.make_vec(vec_id, num_envs=N, vectorization_mode="sync", **config)
        assert_same(ours.reset(seed=8), ref.reset(seed=8))
        for actions in _actions(np.random.default_rng(8), ours.stop_action, 25):
            assert_same(ours.step(actions), ref.step(actions))
    same_step = gym.make_vec(vec_id, num_envs=2, autoreset_mode=AutoresetMode.SAME_STEP)
    assert same_step.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP


def test_max_episode_steps_acts_as_time_limit(vec_id: str) -> None:
    spec = gym.spec(vec_id)
    spec_with_limit = gym.envs.registration.EnvSpec(
        id="TestPaintVecLimit-v0",
        entry_point=spec.entry_point,
        vector_entry_point=spec.vector_entry_point,
        max_episode_steps=3,
    )
    envs = gym.make_vec(spec_with_limit, num_envs=2)
    assert envs.max_steps == 3
    envs.reset(seed=0)
    for _ in range(2):
        envs.step(np.array([0, 1]))
    assert envs.step(np.array([2, 3]))[3].tolist() == [True, True]
    assert make_paint_vector_env(2, max_steps=2, max_episode_steps=5).max_steps == 2
    with pytest.raises(ValueError):
        make_paint_vector_env(2, max_episode_steps=0)


# ------------------------------------------------------------------------- SB3 training


def test_vec_monitor_ppo_and_evaluate_policy() -> None:
    venv = VecMonitor(PaintVecEnv(N, action_mode="pen", start=MIXTURE, max_steps=8))
    model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, n_epochs=1, seed=0)
    model.learn(total_timesteps=64)
    assert len(model.ep_info_buffer) > 0
    assert {"r", "l", "t"} <= set(model.ep_info_buffer[0])
    mean, _ = evaluate_policy(model, venv, n_eval_episodes=4, warn=True)
    assert mean == 0.0  # the bare env's reward


def test_sb3_vec_env_wrappers() -> None:
    venv = VecCheckNan(VecNormalize(VecMonitor(PaintVecEnv(N)), norm_obs_keys=["canvas"]))
    venv.seed(0)
    obs = venv.reset()
    for actions in _actions(np.random.default_rng(6), 64, 10):
        obs, rewards, _, _ = venv.step(actions)
    assert obs["canvas"].dtype == np.float32 and np.all(rewards == 0.0)


@pytest.mark.parametrize("mode", AUTORESET_MODES, ids=lambda m: m.value)
def test_gymnasium_record_episode_statistics(mode: AutoresetMode) -> None:
    envs = RecordEpisodeStatistics(PaintVectorEnv(N, max_steps=5, autoreset_mode=mode))
    envs.reset(seed=0)
    for _ in range(12):
        envs.step(np.arange(N))
    assert list(envs.length_queue) == [5] * 2 * N


def test_batch_core_steps_a_subset() -> None:
    batch = PaintBatch(3, PaintConfig(canvas_size=4))
    batch.reset(range(3), seeds=[0, 1, 2])
    terminated, truncated = batch.step(batch.check_actions([1, 2, 16]), np.array([0, 2]))
    assert terminated.tolist() == [False, False, True] and not truncated.any()
    assert batch.steps.tolist() == [1, 0, 1] and batch.ink.tolist() == [1, 0, 0]
    assert batch.needs_reset.tolist() == [False, False, True]
