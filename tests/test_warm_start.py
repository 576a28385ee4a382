"""The stroke mode's warm start: demo drawings searched on the reward model, cloned into the
policy before PPO (flatnet_rl.agents.warm_start)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from flatnet_rl.agents import AgentConfig, train_agent
from flatnet_rl.agents.algorithm import build_algorithm
from flatnet_rl.agents.envs import make_env
from flatnet_rl.agents.runs import load_run
from flatnet_rl.agents.stroke_demos import search_stroke_demos
from flatnet_rl.agents.warm_start import (
    DemoAnchorCallback,
    clone_demos,
    demo_steps,
    noop_moves,
)
from flatnet_rl.classifier import load_classifier
from flatnet_rl.envs.paint_config import PaintConfig
from flatnet_rl.envs.paint_core import PaintBatch

FLATNET = load_classifier("flatnet", device="cpu")
PAINT = PaintConfig(canvas_size=8, action_mode="stroke")


@pytest.fixture(scope="module")
def demos():
    return search_stroke_demos(PAINT, FLATNET)[0]


def _blank_batch(n: int) -> PaintBatch:
    batch = PaintBatch(n, PAINT)
    blank = np.zeros((8, 8), np.uint8)
    batch.reset(range(n), seeds=[0] * n, options=[{"target": k, "canvas": blank} for k in range(n)])
    return batch


def test_noop_moves_leave_the_canvas_as_it_is(demos):
    batch = _blank_batch(10)
    for t in range(3):
        batch.step(np.array([d[t] if t < len(d) else 0 for d in demos]))
    before = batch.canvas.copy()
    batch.step(noop_moves(PAINT, batch.cursor))
    assert np.array_equal(batch.canvas, before)


@pytest.mark.parametrize("mode", ["delta", "prob", "final"])
def test_demo_returns_are_the_discounted_learned_rewards(demos, mode):
    steps = demo_steps(PAINT, demos, FLATNET, reward_mode=mode, gamma=0.9)
    horizon = PAINT.horizon
    assert steps.actions.shape == (horizon * 10,) and steps.returns.shape == (horizon * 10,)
    assert steps.obs["canvas"].shape == (horizon * 10, 8, 8)
    # Replayed by hand: p(target) of every canvas of each drawing.
    batch = _blank_batch(10)

    def p_target():
        return FLATNET.predict_proba(batch.canvas.astype(bool), batched=True)[range(10), range(10)]

    probs = [p_target()]
    actions = steps.actions.reshape(horizon, 10)
    for t in range(horizon):
        assert np.array_equal(steps.obs["canvas"].reshape(horizon, 10, 8, 8)[t], batch.canvas)
        batch.step(actions[t])
        probs.append(p_target())
    p = np.array(probs)
    rewards = {
        "delta": p[1:] - p[:-1],
        "prob": p[1:],
        "final": np.where(np.arange(horizon)[:, None] == horizon - 1, p[1:], 0.0),
    }[mode]
    expected = np.zeros((horizon, 10))
    running = np.zeros(10)
    for t in reversed(range(horizon)):
        running = rewards[t] + 0.9 * running
        expected[t] = running
    np.testing.assert_allclose(steps.returns.reshape(horizon, 10), expected, atol=1e-5)
    # The drawings are followed, then held: the last canvas is each drawing's.
    for k, demo in enumerate(demos):
        assert list(actions[: len(demo), k]) == list(demo)


def test_demo_steps_need_a_drawing_per_digit(demos):
    with pytest.raises(ValueError, match="one drawing per digit"):
        demo_steps(PAINT, demos[:3], FLATNET, reward_mode="delta", gamma=0.9)


def test_cloning_makes_the_deterministic_policy_draw_the_demos(demos, tmp_path):
    config = AgentConfig(action_mode="stroke", n_envs=8, out=str(tmp_path / "x"))
    env = make_env(config, FLATNET)
    torch.manual_seed(0)
    model = build_algorithm(config, env)
    steps = demo_steps(PAINT, demos, FLATNET, reward_mode="delta", gamma=model.gamma)
    losses = clone_demos(model, steps)
    assert losses["nll"] < 0.1 and losses["value_mse"] < 0.01
    batch = _blank_batch(10)
    for _ in range(PAINT.horizon):
        actions, _ = model.predict(batch.observations(), deterministic=True)
        batch.step(actions)
    probs = FLATNET.predict_proba(batch.canvas.astype(bool), batched=True)[range(10), range(10)]
    assert probs.min() > 0.8  # every digit drawn as the search drew it


def test_stroke_runs_warm_start_by_default_and_record_it(tmp_path):
    config = AgentConfig(
        action_mode="stroke",
        timesteps=64,
        n_envs=2,
        out=str(tmp_path / "run"),
        hyperparams={"n_steps": 32, "batch_size": 32},
    )
    assert config.warm_start == "demos"
    run = train_agent(config, progress=False)
    record = json.loads((run / "config.json").read_text())
    assert record["warm_start"] == "demos" and len(record["env_kwargs"]["stroke_demos"]) == 10
    assert record["warm_start_record"]["nll"] < 0.1
    loaded, _ = load_run(run, device="cpu")
    assert loaded.warm_start == "demos"


def test_warm_start_defaults_and_refusals():
    assert AgentConfig().warm_start == "none"  # pixel mode
    assert AgentConfig(action_mode="stroke", algo="dqn").warm_start == "none"
    assert AgentConfig(action_mode="stroke", warm_start="none").warm_start == "none"
    with pytest.raises(ValueError, match="needs action_mode='stroke'"):
        AgentConfig(action_mode="pen", warm_start="demos")
    with pytest.raises(ValueError, match="ppo or a2c"):
        AgentConfig(action_mode="stroke", algo="dqn", warm_start="demos")
    with pytest.raises(ValueError, match="warm_start must be one of"):
        AgentConfig(action_mode="stroke", warm_start="bc")


def test_the_anchor_callback_pulls_the_policy_back_to_the_demos(demos, tmp_path):
    config = AgentConfig(action_mode="stroke", n_envs=8, out=str(tmp_path / "x"))
    torch.manual_seed(0)
    model = build_algorithm(config, make_env(config, FLATNET))
    steps = demo_steps(PAINT, demos, FLATNET, reward_mode="delta", gamma=model.gamma)
    anchor = DemoAnchorCallback(steps, updates=20)
    anchor.init_callback(model)

    def nll():
        obs, _ = model.policy.obs_to_tensor(steps.obs)
        with torch.no_grad():
            _, log_prob, _ = model.policy.evaluate_actions(obs, torch.as_tensor(steps.actions))
        return float(-log_prob.mean())

    before = nll()
    anchor.on_rollout_start()
    assert nll() < before - 0.01  # 20 steps at the preset's learning rate (1e-4)
    assert model.policy.optimizer.state  # with the algorithm's own optimizer


def test_a_fixed_target_digit_searches_and_clones_that_digit_only(tmp_path):
    config = AgentConfig(
        action_mode="stroke",
        target=3,
        timesteps=64,
        n_envs=2,
        out=str(tmp_path / "run"),
        hyperparams={"n_steps": 32, "batch_size": 32},
    )
    run = train_agent(config, progress=False)
    demos = json.loads((run / "config.json").read_text())["env_kwargs"]["stroke_demos"]
    assert all(d == demos[3] for d in demos)  # the 3's drawing stands for every digit
    steps = demo_steps(
        PAINT, tuple(map(tuple, demos)), FLATNET, reward_mode="delta", gamma=0.9, digit=3
    )
    assert (steps.obs["target"] == 3).all() and len(steps.actions) == PAINT.horizon


@pytest.mark.slow
def test_a_short_28x28_stroke_training_paints_what_the_judges_read(tmp_path):
    from flatnet_rl.agents.evaluate import evaluate_agent

    def judged(warm_start: str, timesteps: int) -> float:
        config = AgentConfig(
            action_mode="stroke",
            reward_model="flatnet-28",
            warm_start=warm_start,
            timesteps=timesteps,
            out=str(tmp_path / warm_start),
        )
        run = train_agent(config, progress=False)
        return evaluate_agent(run, episodes=40)["overall"]["judge_p_target"]

    untrained = judged("none", 1024)  # one rollout of PPO from a random policy
    trained = judged("demos", 4096)
    assert untrained < 0.4 and trained > 0.8, (untrained, trained)
