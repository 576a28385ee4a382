"""Rollout scoring: one classifier call per rollout gives the rewards of per-step scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from flatnet_rl import load_classifier
from flatnet_rl.agents import AgentConfig, build_algorithm
from flatnet_rl.agents.callbacks import RolloutRewardCallback
from flatnet_rl.agents.envs import make_env
from flatnet_rl.envs import PaintVecEnv
from flatnet_rl.reward import FlatnetRewardVecEnv, RolloutRewardVecEnv
from flatnet_rl.reward.functions import ClassifierRewardModel, distinct_rows

FLATNET = load_classifier("flatnet", device="cpu")
START = {"blank": 0.5, "partial": 0.5}


def _pair(action_mode: str, mode: str, weight: float = 0.0, n: int = 12):
    """The same seeded envs under per-step and under rollout scoring."""
    envs = []
    for _ in range(2):
        venv = PaintVecEnv(n, action_mode=action_mode, max_steps=7, start=START)
        venv.seed(3)
        envs.append(venv)
    options = {"mode": mode, "env_reward_weight": weight}
    return (
        FlatnetRewardVecEnv(envs[0], FLATNET, **options),
        RolloutRewardVecEnv(envs[1], FLATNET, **options),
    )


@pytest.mark.parametrize("action_mode", ["pixel", "pen"])
@pytest.mark.parametrize("mode", ["delta", "delta_log", "prob", "final", "entropy"])
def test_rollout_scoring_equals_per_step_scoring(action_mode, mode):
    per_step, rollout = _pair(action_mode, mode)
    per_step.reset()
    rollout.reset()
    rng = np.random.default_rng(0)
    rewards, episodes, scored = [], [], []
    for t in range(23):  # several episodes of 7 steps, and a rollout cut in two
        actions = rng.integers(0, per_step.action_space.n, per_step.num_envs)
        _, reward, _, infos = per_step.step(actions)
        _, pending, _, rollout_infos = rollout.step(actions)
        assert not pending.any() and "flatnet" not in rollout_infos[0]
        rewards.append(reward)
        episodes += [
            (t, i, info["flatnet_episode"])
            for i, info in enumerate(infos)
            if "flatnet_episode" in info
        ]
        if t in (9, 22):
            scored.append(rollout.score_rollout())
    np.testing.assert_allclose(
        np.concatenate([s.rewards for s in scored]), np.array(rewards), atol=1e-6
    )
    later = [(t + 10 * k, i, r) for k, s in enumerate(scored) for t, i, r in s.episodes]
    assert [(t, i) for t, i, _ in later] == [(t, i) for t, i, _ in episodes]
    for (_, _, a), (_, _, b) in zip(later, episodes, strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key], b[key], atol=1e-6, err_msg=key)
    assert rollout.pending_steps == 0
    assert rollout.score_rollout().rewards.shape == (0, per_step.num_envs)


def test_monitor_entries_are_the_optimised_return():
    per_step, rollout = _pair("pixel", "delta", weight=0.5)
    per_step = VecMonitor(per_step)
    per_step.reset()
    rollout.reset()
    rng = np.random.default_rng(1)
    monitored = []
    for _ in range(14):
        actions = rng.integers(0, 64, per_step.num_envs)
        *_, infos = per_step.step(actions)
        rollout.step(actions)
        monitored += [info["episode"] for info in infos if "episode" in info]
    scored = rollout.score_rollout()
    assert len(scored.monitor) == len(monitored) == 2 * per_step.num_envs
    for ours, sb3 in zip(scored.monitor, monitored, strict=True):
        assert ours["l"] == sb3["l"]
        assert ours["r"] == pytest.approx(sb3["r"], abs=1e-5)


def test_ppo_rollout_buffer_holds_the_per_step_rewards_and_advantages(tmp_path):
    """One PPO rollout under each scoring: the same buffer, episodes and ep_rew_mean."""
    buffers = {}
    for scoring in ("step", "rollout"):
        config = AgentConfig(
            timesteps=128,
            n_envs=8,
            max_steps=5,
            device="cpu",
            out=str(tmp_path / scoring),
            reward_scoring=scoring,
            hyperparams={"n_steps": 16, "batch_size": 64, "n_epochs": 1},
        )
        env = make_env(config, FLATNET)
        assert isinstance(env, RolloutRewardVecEnv) == (scoring == "rollout")
        model = build_algorithm(config, env)
        model.tensorboard_log = None
        callbacks = [RolloutRewardCallback(env)] if scoring == "rollout" else []
        torch.manual_seed(0)
        model.learn(128, callback=callbacks)
        buffers[scoring] = (model.rollout_buffer, list(model.ep_info_buffer))
    (step_buffer, step_eps), (roll_buffer, roll_eps) = buffers["step"], buffers["rollout"]
    for name in ("rewards", "returns", "advantages", "values"):
        np.testing.assert_allclose(
            getattr(roll_buffer, name), getattr(step_buffer, name), atol=1e-5, err_msg=name
        )
    assert [e["l"] for e in roll_eps] == [e["l"] for e in step_eps]
    np.testing.assert_allclose([e["r"] for e in roll_eps], [e["r"] for e in step_eps], atol=1e-5)


def test_callback_refuses_an_env_that_is_not_the_models():
    other = RolloutRewardVecEnv(PaintVecEnv(3), FLATNET)
    other.reset()
    env = RolloutRewardVecEnv(PaintVecEnv(4), FLATNET)
    model = PPO("MultiInputPolicy", env, n_steps=8, batch_size=32, device="cpu")
    with pytest.raises(RuntimeError, match="not the model's env"):
        model.learn(32, callback=RolloutRewardCallback(other))


def test_reward_scoring_defaults_and_validation():
    assert AgentConfig().reward_scoring == "rollout"
    assert AgentConfig(algo="a2c").reward_scoring == "rollout"
    assert AgentConfig(algo="dqn").reward_scoring == "step"
    with pytest.raises(ValueError, match="on-policy"):
        AgentConfig(algo="dqn", reward_scoring="rollout")
    with pytest.raises(ValueError, match="reward_scoring must be one of"):
        AgentConfig(reward_scoring="episode")
    # Evaluation scores every step: it reads info["flatnet_episode"] as episodes end.
    config = AgentConfig(n_envs=2, device="cpu")
    assert isinstance(make_env(config, FLATNET, evaluation=True), VecMonitor)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=1, max_size=30),
    st.sampled_from([torch.float32, torch.uint8]),
)
def test_distinct_rows_maps_every_item_to_an_equal_one(picks, dtype):
    pool = torch.rand(4, 1, 3, 3).mul(255).to(dtype)
    batch = pool[picks]
    first, inverse = distinct_rows(batch)
    assert len(first) == len(set(picks))
    assert torch.equal(batch[torch.from_numpy(first)][torch.from_numpy(inverse)], batch)


def test_distinct_scoring_gives_the_same_scores():
    model = ClassifierRewardModel(FLATNET, "prob", device="cpu")
    canvases = np.random.default_rng(0).random((6, 8, 8)) < 0.3
    batch, _ = FLATNET.prepare(canvases[[0, 1, 0, 2, 1, 3, 4, 5, 5]], batched=True)
    targets = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8])
    plain = model.score_input(batch, targets)
    distinct = model.score_input(batch, targets, distinct=True)
    np.testing.assert_allclose(distinct.probs, plain.probs, atol=1e-6)
    np.testing.assert_array_equal(distinct.targets, targets)
    np.testing.assert_array_equal(distinct.probs[0], distinct.probs[2])


def test_training_without_the_scoring_callback_is_refused():
    env = RolloutRewardVecEnv(PaintVecEnv(2), FLATNET)
    env.max_pending_steps = 40
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=32, device="cpu")
    with pytest.raises(RuntimeError, match="RolloutRewardCallback"):
        model.learn(160)  # no callback: the learned reward would never reach the buffer


def test_scoring_in_chunks_gives_the_same_rollout(monkeypatch):
    import flatnet_rl.reward.rollout as rollout_module

    results = []
    for chunk in (10_000, 7):
        monkeypatch.setattr(rollout_module, "CHUNK_IMAGES", chunk)
        _, rollout = _pair("pen", "delta")
        rollout.reset()
        rng = np.random.default_rng(2)
        for _ in range(15):
            rollout.step(rng.integers(0, 9, rollout.num_envs))
        results.append(rollout.score_rollout())
    np.testing.assert_allclose(results[0].rewards, results[1].rewards, atol=1e-6)
    assert [(t, i) for t, i, _ in results[0].episodes] == [
        (t, i) for t, i, _ in results[1].episodes
    ]


def test_a_constant_input_is_reported_after_as_many_steps_as_per_step_scoring():
    import warnings

    from flatnet_rl.reward import ImageWarning

    env = RolloutRewardVecEnv(PaintVecEnv(2, action_mode="pen", max_steps=500), FLATNET)
    env.reset()
    pen_up = np.zeros(2, dtype=int)  # moves with the pen up: the canvas stays blank
    with warnings.catch_warnings():
        warnings.simplefilter("error", ImageWarning)
        for _ in range(40):
            env.step(pen_up)
        env.score_rollout()  # 41 steps watched (with the reset): no warning yet
    with pytest.warns(ImageWarning, match="first 81 steps"):
        for _ in range(40):
            env.step(pen_up)
        env.score_rollout()


def test_episodes_of_a_rollout_cut_short_are_reported():
    """A callback stops training 5 steps into a rollout; training resumes. Every episode
    that ended is reported, as under per-step scoring (same seeds, same episodes)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StopAfter(BaseCallback):
        def __init__(self, steps: int) -> None:
            super().__init__()
            self.steps = steps

        def _on_step(self) -> bool:
            return self.num_timesteps < self.steps

    lengths = {}
    for scoring in ("step", "rollout"):
        venv = PaintVecEnv(4, max_steps=3)
        venv.seed(0)
        if scoring == "step":
            env, extra = VecMonitor(FlatnetRewardVecEnv(venv, FLATNET)), []
        else:
            env = RolloutRewardVecEnv(venv, FLATNET)
            extra = [RolloutRewardCallback(env)]
        model = PPO(
            "MultiInputPolicy", env, n_steps=8, batch_size=32, n_epochs=1, device="cpu", seed=0
        )
        model.learn(64, callback=[*extra, StopAfter(32 + 5 * 4)])  # a rollout and 5 steps
        model.learn(32, callback=extra, reset_num_timesteps=False)
        lengths[scoring] = [e["l"] for e in model.ep_info_buffer]
    assert len(lengths["step"]) > 16
    assert lengths["rollout"] == lengths["step"]
