"""FlatnetReward, the vectorized wrappers and FlatnetPaint-v0 (issue: reward plug-in)."""

from __future__ import annotations

import pickle
import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv

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
from flatnet_rl.cli import build_parser
from flatnet_rl.data import CanvasError, DataSpec, load_embedded_digits
from flatnet_rl.envs.paint_sb3 import PaintVecEnv
from flatnet_rl.envs.paint_vector import PaintVectorEnv
from flatnet_rl.reward import (
    EPISODE_FIELDS,
    EPISODE_KEY,
    MODES,
    ClassifierRewardModel,
    ObservationReader,
    RewardSpec,
    RolloutRewardVecEnv,
)

FLATNET = load_classifier("flatnet", device="cpu")


@pytest.fixture(scope="module")
def flatnet():
    return flatnet_rl.load_classifier("flatnet", device="cpu")


class DigitPictureEnv(gym.Env):
    """An env written for this test: it shows a 32x32 RGB picture, either a real digit
    (dark ink on a light background, upscaled from the embedded data) or random noise."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, show: str = "digit", target: int = 3, render_mode: str | None = "rgb_array"):
        self.observation_space = spaces.Box(0, 255, (32, 32, 3), np.uint8)
        self.action_space = spaces.Discrete(2)
        self.render_mode = render_mode
        self.show, self.target = show, target
        data = load_embedded_digits(DataSpec(canvas=8))
        self.digits = data.x_test[data.y_test == target]

    def _picture(self) -> np.ndarray:
        if self.show == "digit":
            canvas = self.digits[self.np_random.integers(len(self.digits))]
        else:
            canvas = (self.np_random.random((8, 8)) < 0.3).astype(np.uint8)
        big = np.kron(canvas, np.ones((4, 4), np.uint8))
        gray = (255 - 255 * big).astype(np.uint8)  # dark ink on white paper
        return np.repeat(gray[:, :, None], 3, axis=2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._frame = self._picture()
        return self._frame.copy(), {}

    def step(self, action):
        self._frame = self._picture()
        return self._frame.copy(), 1.0, False, False, {}

    def render(self):
        return self._frame.copy()


# -- the wrapper on a foreign image env -----------------------------------------------------
@pytest.mark.parametrize("image", ["obs", "render"])
def test_wrapper_rewards_target_digits_above_random_images(flatnet, image):
    def mean_prob(show: str) -> float:
        env = FlatnetReward(DigitPictureEnv(show), flatnet, target=3, mode="prob", image=image)
        env.reset(seed=0)
        rewards = [env.step(0)[1] for _ in range(30)]
        return float(np.mean(rewards))

    digit, noise = mean_prob("digit"), mean_prob("noise")
    assert digit > 0.6, digit
    assert noise < 0.3, noise
    assert digit > noise + 0.4


def test_wrapper_keeps_env_reward_and_adds_weighted(flatnet):
    env = FlatnetReward(DigitPictureEnv(), flatnet, target=3, mode="prob", env_reward_weight=0.5)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(0)
    assert info["env_reward"] == 1.0
    assert reward == pytest.approx(info["flatnet"]["p_target"] + 0.5)
    assert set(info["flatnet"]) >= {"p_target", "probs", "entropy", "predicted", "target"}
    assert info["flatnet"]["probs"].shape == (10,)


# -- modes ----------------------------------------------------------------------------------
def _rollout(env: gym.Env, actions, seed=0):
    obs, info = env.reset(seed=seed)
    out = [(0.0, info)]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        out.append((r, info))
        if term or trunc:
            break
    return out


@pytest.mark.parametrize("target", range(10))
def test_delta_return_equals_final_minus_initial(flatnet, target):
    env = FlatnetReward(PaintEnv(target=target), flatnet, mode="delta")
    rng = np.random.default_rng(target)
    steps = _rollout(env, list(rng.integers(0, 64, size=40)) + [64])
    total = sum(r for r, _ in steps)
    p0, pT = steps[0][1]["flatnet"]["p_target"], steps[-1][1]["flatnet"]["p_target"]
    assert total == pytest.approx(pT - p0, abs=1e-9)
    assert steps[-1][1]["flatnet_episode"]["return"] == pytest.approx(total)


def test_delta_log_return_equals_log_ratio(flatnet):
    env = FlatnetReward(PaintEnv(target=4), flatnet, mode="delta_log")
    steps = _rollout(env, [10, 11, 18, 26, 34, 35, 36, 42, 50, 64])
    total = sum(r for r, _ in steps)
    p0, pT = steps[0][1]["flatnet"]["p_target"], steps[-1][1]["flatnet"]["p_target"]
    assert total == pytest.approx(np.log(pT) - np.log(p0), abs=1e-6)


def test_modes_relate_as_documented(flatnet):
    actions = [19, 20, 21, 27, 35, 43, 64]
    res = {m: _rollout(FlatnetReward(PaintEnv(target=7), flatnet, mode=m), actions) for m in MODES}
    p = np.array([info["flatnet"]["p_target"] for _, info in res["prob"][1:]])
    h = np.array([info["flatnet"]["entropy"] for _, info in res["prob"][1:]])
    reward = {m: np.array([r for r, _ in steps[1:]]) for m, steps in res.items()}
    np.testing.assert_allclose(reward["prob"], p)
    np.testing.assert_allclose(reward["log_prob"], np.log(p), rtol=1e-6)
    np.testing.assert_allclose(reward["pmi"], np.log(p) + np.log(10), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(reward["entropy"], -h, rtol=1e-6)
    assert np.all(reward["final"][:-1] == 0) and reward["final"][-1] == pytest.approx(p[-1])


class ZeroLogits(torch.nn.Module):
    """A perfectly flat classifier: every class gets logit 0."""

    def __init__(self, k: int = 10) -> None:
        super().__init__()
        self.k = k

    def forward(self, x):
        return torch.zeros(len(x), self.k)


def test_pmi_is_zero_for_a_flat_output():
    flat = Classifier.from_module(
        ZeroLogits(),
        image_size=8,
        class_names=[str(k) for k in range(10)],
        preprocess=InputSpec.binary(8),
    )
    model = ClassifierRewardModel(flat, "pmi")
    rewards = model.value(model.score(np.zeros((3, 8, 8), bool), np.array([0, 4, 9])))
    np.testing.assert_allclose(rewards, 0, atol=1e-7)


# -- FlatnetPaint-v0 --------------------------------------------------------------------------
@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
def test_registered_env_passes_checkers(action_mode):
    env = gym.make("FlatnetPaint-v0", action_mode=action_mode)
    gym_check_env(env.unwrapped)  # the bare env
    gym_check_env(env, skip_render_check=True)
    sb3_check_env(gym.make("FlatnetPaint-v0", action_mode=action_mode), warn=False)
    sb3_check_env(gym.make("FlatnetPaintBare-v0", action_mode=action_mode), warn=False)


def test_make_with_module_prefix_and_reimport_is_idempotent():
    import importlib

    importlib.reload(flatnet_rl)  # registering twice must not warn or fail
    env = gym.make(
        "flatnet_rl:FlatnetPaint-v0", classifier="baseline", reward_mode="prob", target=2
    )
    _, info = env.reset(seed=1)
    assert info["flatnet"]["target"] == 2


def test_seeded_rollouts_are_deterministic_and_pickle():
    def run(env):
        out = _rollout(env, [5, 9, 13, 30, 64], seed=123)
        return [(r, i["flatnet"]["p_target"], i["target"]) for r, i in out]

    env = gym.make("FlatnetPaint-v0", start="noise")
    assert run(env) == run(gym.make("FlatnetPaint-v0", start="noise"))
    clone = pickle.loads(pickle.dumps(env))
    assert run(clone) == run(env)


def test_make_vec_works():
    envs = gym.make_vec("FlatnetPaint-v0", num_envs=3, vectorization_mode="sync")
    obs, _ = envs.reset(seed=0)
    _, rewards, *_ = envs.step(np.array([1, 2, 3]))
    assert obs["canvas"].shape == (3, 8, 8) and rewards.shape == (3,)


# -- vectorized == per-env ------------------------------------------------------------------
def _actions(n_envs: int, steps: int, seed: int = 0) -> np.ndarray:
    # Mostly painting, sometimes stopping, so episodes end at different steps.
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 64, size=(steps, n_envs))
    a[rng.random((steps, n_envs)) < 0.08] = 64
    return a


def _single_rewards(n_envs, steps, mode, seeds, make):
    acts = _actions(n_envs, steps)
    out = np.zeros((steps, n_envs))
    for i in range(n_envs):
        env = FlatnetReward(make(), "flatnet", mode=mode)
        env.reset(seed=seeds[i])
        for t in range(steps):
            _, r, term, trunc, _ = env.step(int(acts[t, i]))
            out[t, i] = r
            if term or trunc:
                env.reset()
    return acts, out


@pytest.mark.parametrize("mode", ["delta", "final", "prob"])
def test_sb3_vec_wrapper_matches_single_env(mode):
    n, steps = 4, 60
    make = lambda: PaintEnv(start="noise", max_steps=12)  # noqa: E731
    acts, single = _single_rewards(n, steps, mode, [100 + i for i in range(n)], make)
    venv = make_vec_env(make, n_envs=n, seed=100)
    venv = FlatnetRewardVecEnv(venv, "flatnet", mode=mode)
    venv.reset()
    batched = np.stack([venv.step(acts[t])[1] for t in range(steps)])
    np.testing.assert_allclose(batched, single, atol=1e-6)


@pytest.mark.parametrize("autoreset", ["next_step", "same_step"])
def test_gymnasium_vector_wrapper_matches_single_env(autoreset):
    n, steps = 3, 50
    make = lambda: PaintEnv(start="noise", max_steps=10)  # noqa: E731
    acts = _actions(n, steps)
    modes = gym.vector.AutoresetMode
    mode = {"next_step": modes.NEXT_STEP, "same_step": modes.SAME_STEP}[autoreset]
    envs = FlatnetRewardVector(
        gym.vector.SyncVectorEnv([make] * n, autoreset_mode=mode), "flatnet", mode="delta"
    )
    envs.reset(seed=[7, 8, 9])
    singles = [FlatnetReward(make(), "flatnet", mode="delta") for _ in range(n)]
    for i, env in enumerate(singles):
        env.reset(seed=7 + i)
    pending_reset = np.zeros(n, dtype=bool)
    for t in range(steps):
        _, rewards, term, trunc, _ = envs.step(acts[t])
        for i, env in enumerate(singles):
            if pending_reset[i]:  # next_step: this step only resets env i
                env.reset()
                assert rewards[i] == 0.0
                pending_reset[i] = False
                continue
            _, r, s_term, s_trunc, _ = env.step(int(acts[t, i]))
            assert rewards[i] == pytest.approx(r, abs=1e-6)
            if s_term or s_trunc:
                if autoreset == "next_step":
                    pending_reset[i] = True
                else:
                    env.reset()


class BarEnv(gym.Env):
    """A 32x32 grey frame with a vertical bar the agent moves left or right: light ink on
    dark paper, or dark ink on light paper (``dark_ink``); truncated after ``max_steps``."""

    metadata = {"render_modes": []}

    def __init__(self, dark_ink: bool = False, max_steps: int = 4):
        self.observation_space = spaces.Box(0, 255, (32, 32), np.uint8)
        self.action_space = spaces.Discrete(3)
        self.dark_ink, self.max_steps = dark_ink, max_steps

    def _frame(self) -> np.ndarray:
        img = np.zeros((32, 32), np.uint8)
        img[4:28, self.column : self.column + 8] = 255
        return 255 - img if self.dark_ink else img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.column, self.t = 12, 0
        return self._frame(), {}

    def step(self, action):
        self.column = int(np.clip(self.column + 4 * (int(action) - 1), 0, 24))
        self.t += 1
        return self._frame(), 0.0, False, self.t >= self.max_steps, {}


def _bar_rewards_per_env(dark_ink: list[bool], acts: np.ndarray, next_step: bool) -> np.ndarray:
    out = np.zeros(acts.shape)
    for i, dark in enumerate(dark_ink):
        env = FlatnetReward(BarEnv(dark), "flatnet", target=1, mode="prob")
        env.reset(seed=i)
        pending = False
        for t in range(len(acts)):
            if pending:  # gymnasium next_step autoreset: this step only resets env i
                env.reset()
                pending = False
                continue
            _, out[t, i], term, trunc, _ = env.step(int(acts[t, i]))
            if term or trunc:
                if next_step:
                    pending = True
                else:
                    env.reset()
    return out


MIXED_INK = [False, True, True, False]


@pytest.mark.parametrize("wrapper", ["sb3", "rollout", "next_step", "same_step"])
def test_vectorized_equals_per_env_with_mixed_ink_polarity(wrapper):
    """Light ink on dark in some envs, dark ink on light in others: every env's polarity is
    its own (decided at its first image), as its own wrapper decides it, not env 0's."""
    acts = np.random.default_rng(0).integers(0, 3, size=(11, len(MIXED_INK)))
    makers = [lambda dark=dark: BarEnv(dark) for dark in MIXED_INK]
    options = {"target": 1, "mode": "prob"}
    if wrapper == "sb3":
        venv = FlatnetRewardVecEnv(DummyVecEnv(makers), "flatnet", **options)
        venv.reset()
        batched = np.stack([venv.step(a)[1] for a in acts])
    elif wrapper == "rollout":  # one classifier call on all steps, terminal images included
        venv = RolloutRewardVecEnv(DummyVecEnv(makers), "flatnet", **options)
        venv.reset()
        for a in acts:
            venv.step(a)
        batched = venv.score_rollout().rewards
    else:
        modes = gym.vector.AutoresetMode
        mode = modes.NEXT_STEP if wrapper == "next_step" else modes.SAME_STEP
        envs = FlatnetRewardVector(
            gym.vector.SyncVectorEnv(makers, autoreset_mode=mode), "flatnet", **options
        )
        envs.reset(seed=list(range(len(MIXED_INK))))
        batched = np.stack([envs.step(a)[1] for a in acts])
    single = _bar_rewards_per_env(MIXED_INK, acts, next_step=wrapper == "next_step")
    np.testing.assert_allclose(batched, single, atol=1e-6)
    assert single.mean() > 0.5  # the bar reads as a 1 in both polarities


def test_each_row_takes_its_envs_ink_polarity(flatnet):
    """Rows named by ``envs=`` (e.g. a terminal observation appended to a batch) take their
    env's polarity, even when the image itself is mostly of the other brightness."""
    venv = FlatnetRewardVecEnv(
        DummyVecEnv([lambda: BarEnv(False), lambda: BarEnv(True)]), flatnet, target=1
    )
    venv.reset()
    reader = venv.batch.reader
    light_ink, dark_ink = BarEnv(False), BarEnv(True)
    light_ink.reset()
    dark_ink.reset()
    flooded = np.full((32, 32), 255, np.uint8)  # env 0 (light ink) painted all over
    batch = np.stack([dark_ink._frame(), light_ink._frame(), flooded])
    x = reader.prepare(batch, batched=True, envs=[1, 0, 0])
    bar = reader.prepare(light_ink._frame(), batched=False)[0]
    torch.testing.assert_close(x[0], bar)
    torch.testing.assert_close(x[1], bar)
    assert bool(x[2].all())  # all ink, not inverted into an empty canvas


def _reference_row_inverts(memory: dict, images: np.ndarray, envs) -> np.ndarray:
    """The rule of ``ObservationReader._row_inverts`` written row by row: an env's first image
    decides its polarity (mostly light: invert); rows past the first call's envs take the
    decided envs' common polarity, or their own image's when the envs differ."""
    light = images.reshape(len(images), -1).mean(axis=1) / 255.0 > 0.5
    if envs is None:
        memory.setdefault("n", len(images))
        envs = [i if i < memory["n"] else None for i in range(len(images))]
    decided = memory.setdefault("envs", {})
    out = np.empty(len(images), dtype=bool)
    for row, env in enumerate(envs):
        if env is not None:
            out[row] = decided.setdefault(env, bool(light[row]))
    common = set(decided.values())
    for row, env in enumerate(envs):
        if env is None:
            out[row] = common.pop() if len(common) == 1 else light[row]
            common = set(decided.values())
    return out


@settings(max_examples=40, deadline=None)
@given(
    calls=st.lists(
        st.tuples(
            st.lists(st.integers(0, 255), min_size=1, max_size=7),  # brightness per row
            st.one_of(st.none(), st.integers(0, 2**16)),  # None: rows are envs; else a seed
        ),
        min_size=1,
        max_size=6,
    )
)
def test_row_polarity_follows_each_envs_first_image(flatnet, calls):
    """Property: over any sequence of calls (plain batches, batches naming their envs, in
    any order and with repeats), each row's polarity is the one the row-by-row rule gives."""
    space = spaces.Box(0, 255, (8, 8), np.uint8)
    reader = ObservationReader(space, flatnet, RewardSpec(target=1))
    memory: dict = {}
    for levels, seed in calls:
        images = np.stack([np.full((8, 8), v, np.uint8) for v in levels])
        envs = None
        if seed is not None:
            envs = np.random.default_rng(seed).integers(0, 5, len(levels)).tolist()
        expected = _reference_row_inverts(memory, images, envs)
        got = reader._row_inverts(images, True, envs)
        np.testing.assert_array_equal(got, expected)


# -- bad input --------------------------------------------------------------------------------
class BadImageEnv(DigitPictureEnv):
    def __init__(self, frame: np.ndarray):
        super().__init__()
        self.bad = frame
        self.observation_space = spaces.Box(-np.inf, np.inf, frame.shape, np.float32)

    def reset(self, *, seed=None, options=None):
        return self.bad.copy(), {}


@pytest.mark.parametrize(
    "frame, message",
    [
        (np.full((32, 32), np.nan, np.float32), "NaN"),
        (np.zeros((2, 3, 32, 32), np.float32), "shape"),
        (np.full((32, 32), 3.0, np.float32), "[0, 1]"),
    ],
)
def test_unconvertible_images_fail_loudly(flatnet, frame, message):
    if frame.ndim == 4:  # no image layout fits: refused when the wrapper is built
        with pytest.raises(ValueError, match="image"):
            FlatnetReward(BadImageEnv(frame), flatnet, target=1)
        return
    # An unbounded float Box declares no value range: refused until one is given.
    with pytest.raises(ValueError, match="value_range"):
        FlatnetReward(BadImageEnv(frame), flatnet, target=1, image="obs")
    env = FlatnetReward(BadImageEnv(frame), flatnet, target=1, image="obs", value_range=(0, 1))
    with pytest.raises(CanvasError, match=re.escape(message)):
        env.reset()


@pytest.mark.parametrize("target", [10, -1, 3.5, "three", True])
def test_bad_target_is_rejected(flatnet, target):
    with pytest.raises(ValueError, match="target"):
        FlatnetReward(DigitPictureEnv(), flatnet, target=target)


@pytest.mark.parametrize("weight", [float("nan"), float("inf"), True, "0.5", None])
def test_bad_env_reward_weight_is_rejected_by_every_wrapper(flatnet, weight):
    # A NaN weight would make every reward NaN: refused at construction, by all three wrappers.
    with pytest.raises(ValueError, match="env_reward_weight"):
        FlatnetReward(PaintEnv(), flatnet, env_reward_weight=weight)
    with pytest.raises(ValueError, match="env_reward_weight"):
        FlatnetRewardVecEnv(make_vec_env(PaintEnv, n_envs=2), flatnet, env_reward_weight=weight)
    envs = gym.make_vec("FlatnetPaintBare-v0", num_envs=2)
    with pytest.raises(ValueError, match="env_reward_weight"):
        FlatnetRewardVector(envs, flatnet, env_reward_weight=weight)


def test_target_from_callable_out_of_range_fails_at_first_step(flatnet):
    env = FlatnetReward(DigitPictureEnv(), flatnet, target=lambda obs: 12)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        env.reset()


def test_missing_target_and_unknown_names_are_rejected(flatnet):
    with pytest.raises(ValueError, match="no target"):
        FlatnetReward(DigitPictureEnv(), flatnet)
    with pytest.raises(ValueError, match="unknown classifier"):
        FlatnetReward(PaintEnv(), "no-such-model")
    with pytest.raises(ValueError, match="unknown reward mode"):
        FlatnetReward(PaintEnv(), flatnet, mode="bogus")
    with pytest.raises(ValueError, match="render_mode"):
        FlatnetReward(DigitPictureEnv(render_mode=None), flatnet, target=1, image="render")


def test_canvas_mismatch_is_an_error(flatnet):
    with pytest.raises(ValueError, match="canvas_size=16"):
        gym.make("FlatnetPaint-v0", canvas_size=16)
    # A 16x16 env canvas is an image to resize, not silently scored as an 8x8 canvas.
    env = FlatnetReward(PaintEnv(canvas_size=16, target=1), flatnet)
    _, info = env.reset(seed=0)
    assert 0.0 <= info["flatnet"]["p_target"] <= 1.0


def test_full_canvas_is_not_inverted(flatnet):
    # An agent must not turn a filled canvas into a blank one through auto-inversion.
    env = FlatnetReward(PaintEnv(target=1), flatnet, mode="prob")
    env.reset(options={"canvas": np.ones((8, 8), np.uint8)})
    full = env.reader.prepare(np.ones((8, 8), np.uint8), batched=False)
    assert full.sum() == 64


def test_evaluate_policy_reports_the_learned_return_through_make_vec_envs_monitor():
    """make_vec_env puts a Monitor in each env: its episode record held the env's own
    return (0 for the paint env), which SB3's evaluate_policy reads."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    from flatnet_rl.envs import PaintEnv
    from flatnet_rl.reward import FlatnetRewardVecEnv
    from flatnet_rl.reward.episodes import EPISODE_KEY

    class RandomPolicy:
        def __init__(self, n: int) -> None:
            self.rng = np.random.default_rng(0)
            self.n = n

        def predict(self, obs, state=None, episode_start=None, deterministic=False):
            return self.rng.integers(0, 64, size=self.n), None

    venv = make_vec_env(PaintEnv, n_envs=2, seed=0, env_kwargs={"max_steps": 6})
    env = FlatnetRewardVecEnv(venv, "flatnet", mode="prob")
    returns, _ = evaluate_policy(
        RandomPolicy(2), env, n_eval_episodes=4, return_episode_rewards=True
    )
    assert all(r > 0 for r in returns)  # p_target summed over 6 steps, not the env's 0

    env.reset()
    for _ in range(6):
        _, rewards, dones, infos = env.step(np.zeros(2, dtype=int))
    assert dones.all()
    for info in infos:
        assert info["episode"]["r"] == pytest.approx(info[EPISODE_KEY]["return"], abs=1e-5)
        assert info["episode"]["env_r"] == 0.0


def _episode_records_single() -> dict:
    env = FlatnetReward(PaintEnv(target=3, max_steps=4), FLATNET)
    env.reset(seed=0)
    for _ in range(4):
        *_, info = env.step(10)
    return info[EPISODE_KEY]


def _episode_records_sb3() -> dict:
    venv = FlatnetRewardVecEnv(PaintVecEnv(2, target=3, max_steps=4), FLATNET)
    venv.seed(0)
    venv.reset()
    for _ in range(4):
        *_, infos = venv.step(np.array([10, 11]))
    return infos[0][EPISODE_KEY]


@pytest.mark.parametrize("autoreset", ["next_step", "same_step"])
def test_one_episode_schema_for_all_three_wrappers(autoreset):
    single, sb3 = _episode_records_single(), _episode_records_sb3()
    assert set(single) == set(sb3) == set(EPISODE_FIELDS)
    assert single["length"] == sb3["length"] == 4 and single["target"] == 3
    assert single["return"] == pytest.approx(single["p_target_final"] - single["p_target_initial"])
    assert single["image"].shape == (8, 8)
    mode = {
        "next_step": gym.vector.AutoresetMode.NEXT_STEP,
        "same_step": gym.vector.AutoresetMode.SAME_STEP,
    }[autoreset]
    envs = FlatnetRewardVector(
        PaintVectorEnv(3, target=3, max_steps=4, autoreset_mode=mode), FLATNET
    )
    envs.reset(seed=0)
    for _ in range(4):
        *_, infos = envs.step(np.array([10, 11, 12]))
    assert infos[f"_{EPISODE_KEY}"].all() and infos["_flatnet"].all()
    record = infos[EPISODE_KEY]
    assert set(record) == set(EPISODE_FIELDS)
    assert record["length"].tolist() == [4, 4, 4] and record["image"].shape == (3, 8, 8)
    np.testing.assert_allclose(
        record["return"], record["p_target_final"] - record["p_target_initial"], atol=1e-9
    )
    # The next step: no episode ended, so no record (its mask would say so).
    *_, infos = envs.step(np.array([1, 2, 3]))
    assert EPISODE_KEY not in infos or not infos[f"_{EPISODE_KEY}"].any()


def test_fixed_target_must_agree_with_the_observation():
    """The old quick start rewarded 7 while the observation asked for 8."""
    env = FlatnetReward(gym.make("FlatnetPaintBare-v0"), "flatnet", target=7)
    with pytest.raises(ValueError, match="observation asks for"):
        for seed in range(20):  # some seed draws a target other than 7
            env.reset(seed=seed)
    agreeing = FlatnetReward(gym.make("FlatnetPaintBare-v0", target=7), "flatnet", target=7)
    _, info = agreeing.reset(seed=0)
    assert info["flatnet"]["target"] == 7


def test_stepping_a_finished_episode_raises():
    env = FlatnetReward(PaintEnv(target=1), FLATNET)
    env.reset(seed=0)
    env.step(64)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(3)


def test_a_judge_is_never_a_reward():
    for make in (
        lambda: gym.make("FlatnetPaint-v0", classifier="judge"),
        lambda: ClassifierRewardModel("judge"),
        lambda: FlatnetReward(PaintEnv(), "judge"),
    ):
        with pytest.raises(ValueError, match="judge"):
            make()


def test_non_finite_probabilities_never_become_a_reward(monkeypatch):
    env = FlatnetReward(PaintEnv(target=1), load_classifier("flatnet", device="cpu"))
    env.reset(seed=0)
    real = env.classifier.forward

    def nan_forward(batch):
        out = real(batch)
        return out * float("nan")

    monkeypatch.setattr(env.classifier, "probs_of_input", lambda b: nan_forward(b).softmax(-1))
    with pytest.raises(FloatingPointError, match="non-finite"):
        env.step(3)


_SETTINGS = settings(max_examples=25, deadline=None, database=None)
_action_lists = st.lists(st.integers(0, 64), min_size=1, max_size=40)


@_SETTINGS
@given(actions=_action_lists, target=st.integers(0, 9), seed=st.integers(0, 1000))
def test_delta_telescopes(actions, target, seed):
    env = FlatnetReward(PaintEnv(target=target, start="noise"), FLATNET, mode="delta")
    _, info = env.reset(seed=seed)
    start, total = info["flatnet"]["p_target"], 0.0
    for a in actions:
        _, r, term, trunc, info = env.step(a)
        total += r
        if term or trunc:
            break
    assert total == pytest.approx(info["flatnet"]["p_target"] - start, abs=1e-6)


@_SETTINGS
@given(actions=_action_lists, target=st.integers(0, 9), seed=st.integers(0, 1000))
def test_prob_reward_equals_predict_proba(actions, target, seed):
    env = FlatnetReward(PaintEnv(target=target, start="noise"), FLATNET, mode="prob")
    env.reset(seed=seed)
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        expected = FLATNET.predict_proba(obs["canvas"], value_range=(0, 1))[target]
        assert r == pytest.approx(float(expected), abs=1e-6)
        if term or trunc:
            break


@_SETTINGS
@given(
    n=st.integers(1, 5),
    steps=st.integers(1, 25),
    seed=st.integers(0, 1000),
    mode=st.sampled_from(["delta", "prob", "final", "log_prob"]),
)
def test_vectorized_equals_per_env(n, steps, seed, mode):
    """The native vector env under the SB3 wrapper gives each env the reward the per-env
    wrapper gives it, whatever the other envs do (batch invariance)."""
    rng = np.random.default_rng(seed)
    actions = rng.integers(0, 65, size=(steps, n))
    venv = FlatnetRewardVecEnv(PaintVecEnv(n, start="noise", max_steps=7), FLATNET, mode=mode)
    venv.seed(seed)
    venv.reset()
    batched = np.stack([venv.step(a)[1] for a in actions])
    for i in range(n):
        env = FlatnetReward(PaintEnv(start="noise", max_steps=7), FLATNET, mode=mode)
        env.reset(seed=seed + i)
        for t in range(steps):
            _, r, term, trunc, _ = env.step(int(actions[t, i]))
            assert batched[t, i] == pytest.approx(r, abs=1e-5)
            if term or trunc:
                env.reset()


def test_dummy_vec_env_stack_matches_native(tmp_path):
    """SB3's own DummyVecEnv of PaintEnv under the same wrapper gives the same rewards."""
    native = FlatnetRewardVecEnv(PaintVecEnv(3, start="noise", max_steps=6), FLATNET)
    native.seed(4)
    dummy = FlatnetRewardVecEnv(
        DummyVecEnv([lambda: PaintEnv(start="noise", max_steps=6)] * 3), FLATNET
    )
    dummy.seed(4)
    native.reset()
    dummy.reset()
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 65, 3)
        np.testing.assert_allclose(native.step(a)[1], dummy.step(a)[1], atol=1e-6)


@pytest.mark.parametrize("canvas_size", [3, 65, 200, "x", "8", True, 8.0])
def test_paint_canvas_size_is_the_envs_before_any_model_is_looked_up(canvas_size):
    """A size the env cannot paint says so, and never suggests training a model for it."""
    for make in (gym.make, lambda *a, **k: gym.make_vec(*a, num_envs=2, **k)):
        with pytest.raises(ValueError, match=r"canvas_size must be an int in 4\.\.64") as info:
            make("FlatnetPaint-v0", canvas_size=canvas_size)
        assert "train-classifier" not in str(info.value)


@pytest.mark.parametrize("canvas_size", [4, 5, 64])
def test_paint_suggests_training_only_sizes_the_trainer_accepts(canvas_size, tmp_path):
    from flatnet_rl.data.images import MAX_SIDE, MIN_SIDE
    from flatnet_rl.envs.paint import MAX_CANVAS, MIN_CANVAS

    # Every size the env paints is one the trainer takes, so every suggestion can run.
    assert MIN_SIDE <= MIN_CANVAS and MAX_CANVAS <= MAX_SIDE
    with pytest.raises(ValueError, match="no shipped flatnet model") as info:
        gym.make("FlatnetPaint-v0", canvas_size=canvas_size)
    suggested = str(info.value).split("`")[1].split()
    assert suggested[:2] == ["flatnet-rl", "train-classifier"] and suggested[-1] == "..."
    out = str(tmp_path / "m.safetensors")
    args = build_parser().parse_args([*suggested[1:-1], "--out", out])  # exits if refused
    assert args.canvas == canvas_size
