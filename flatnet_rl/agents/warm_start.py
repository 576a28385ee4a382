"""Warm start: the policy imitates drawings searched on the reward model, then RL fine-tunes.

From a blank canvas the flat reward pays nothing until most of a digit is drawn (by design: it
is flat on scribbles), so PPO alone explores the stroke mode's 2 G² + 1 actions a step for a
long time and, at 8x8 to 28x28, left round digits undrawn on most seeds. Planning on the
reward model finds them at once: a beam search (:mod:`flatnet_rl.agents.stroke_demos`) gives
one drawing per digit with p(digit) 0.98-1.00 at 28x28 in about 16 s. The warm start clones
those drawings into the policy (behaviour cloning: the actor's negative log-likelihood of the
drawing's actions; the critic regresses their discounted learned returns, so PPO's first
advantages are not noise), and PPO fine-tunes it on the reward (expert iteration, as in
AlphaGo's supervised start; "search, then distil, then improve"). During PPO one cloning step
per rollout (:class:`DemoAnchorCallback`, as DAPG's demo-augmented policy gradient) keeps the
policy on the drawings where PPO's noisy first advantages would otherwise pull it off (in
trial runs without it, 25k-100k PPO steps took a cloned 8x8 agent off its drawings).

Nothing but the reward model goes into the drawings: a reward that can be fooled hands the
agent its fooling drawings, as PPO would find them, so the comparison of rewards stays fair.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.policies import ActorCriticPolicy

from flatnet_rl.classifier import Classifier
from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.envs.paint import paint_spaces
from flatnet_rl.envs.paint_config import PaintConfig, anchor_points
from flatnet_rl.envs.paint_core import PaintBatch
from flatnet_rl.reward.batched import BatchedReward
from flatnet_rl.reward.spec import RewardSpec

#: Full-batch Adam steps and learning rate of the cloning: the demos are 10 episodes of at
#: most ``horizon`` steps; 300 steps take the actor's NLL below 0.03 nats at 8x8 to 28x28.
CLONE_STEPS = 300
CLONE_LR = 1e-3


@dataclass(frozen=True)
class DemoSteps:
    """Every step of the demo episodes: observations (batched as the vector env's), the
    actions taken and the discounted learned return from each step."""

    obs: dict[str, np.ndarray]
    actions: np.ndarray
    returns: np.ndarray


def noop_moves(config: PaintConfig, cursor: np.ndarray) -> np.ndarray:
    """Per env, the action that moves the pen to the anchor nearest it: the canvas stays as
    it is (a drawing shorter than the episode is held to the step limit with these)."""
    anchors = anchor_points(config.canvas_size, config.grid)
    distances = ((cursor[:, None, :] - anchors[None]) ** 2).sum(-1)
    return distances.argmin(1)  # move actions come first, one per anchor


def demo_steps(
    config: PaintConfig,
    demos: tuple[tuple[int, ...], ...],
    classifier: Classifier,
    *,
    reward_mode: str,
    gamma: float,
    digit: int | None = None,
    device: str = "cpu",
) -> DemoSteps:
    """Replay the drawing of each digit (``digit``: of that one only, the env's fixed target)
    from a blank canvas for ``config.horizon`` steps (no-op moves after a drawing ends),
    rewarded as training rewards them (``reward_mode``, the reward of the env's digit)."""
    if len(demos) != NUM_CLASSES:
        raise ValueError(f"need one drawing per digit ({NUM_CLASSES}), got {len(demos)}")
    digits = list(range(NUM_CLASSES)) if digit is None else [int(digit)]
    n, horizon = len(digits), config.horizon
    batch = PaintBatch(n, config)
    blank = np.zeros((config.canvas_size,) * 2, np.uint8)
    batch.reset(range(n), seeds=[0] * n, options=[{"target": k, "canvas": blank} for k in digits])
    spec = RewardSpec(mode=reward_mode, device=device)
    reward = BatchedReward(paint_spaces(config)[0], n, classifier, spec)
    reward.reset(batch.observations(), n)
    observations, actions, rewards = [], [], []
    for t in range(horizon):
        action = noop_moves(config, batch.cursor)
        for row, k in enumerate(digits):
            if t < len(demos[k]):
                action[row] = demos[k][t]
        observations.append(batch.observations())
        actions.append(action)
        batch.step(action)
        scores, _ = reward.score(batch.observations(), n)
        rewards.append(reward.rewards(scores, np.full(n, t == horizon - 1), scores))
    returns = np.zeros((horizon, n))
    running = np.zeros(n)
    for t in reversed(range(horizon)):
        running = rewards[t] + gamma * running
        returns[t] = running
    return DemoSteps(
        obs={key: np.concatenate([o[key] for o in observations]) for key in observations[0]},
        actions=np.concatenate(actions),
        returns=returns.reshape(-1),
    )


def _tensors(policy: ActorCriticPolicy, steps: DemoSteps) -> tuple[Any, torch.Tensor, torch.Tensor]:
    obs, _ = policy.obs_to_tensor(steps.obs)
    actions = torch.as_tensor(steps.actions, device=policy.device)
    returns = torch.as_tensor(steps.returns, dtype=torch.float32, device=policy.device)
    return obs, actions, returns


def _cloning_step(
    policy: ActorCriticPolicy,
    optimizer: torch.optim.Optimizer,
    tensors: tuple[Any, torch.Tensor, torch.Tensor],
    value_weight: float,
) -> None:
    obs, actions, returns = tensors
    policy.set_training_mode(True)
    values, log_prob, _ = policy.evaluate_actions(obs, actions)
    loss = -log_prob.mean()
    if value_weight:
        loss = loss + value_weight * ((values.flatten() - returns) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    policy.set_training_mode(False)


def _actor_critic(model: BaseAlgorithm) -> ActorCriticPolicy:
    if not isinstance(model.policy, ActorCriticPolicy):
        raise ValueError(
            "a warm start clones into an actor-critic policy (ppo, a2c), not "
            f"{type(model.policy).__name__}"
        )
    return model.policy


def clone_demos(
    model: BaseAlgorithm, steps: DemoSteps, *, updates: int = CLONE_STEPS, lr: float = CLONE_LR
) -> dict[str, float]:
    """Behaviour cloning of ``steps`` into ``model``'s actor-critic policy (full-batch Adam;
    deterministic on CPU). Returns the final actor NLL, policy entropy and critic MSE."""
    policy = _actor_critic(model)
    tensors = _tensors(policy, steps)
    optimizer = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(updates):
        _cloning_step(policy, optimizer, tensors, value_weight=0.5)
    obs, actions, returns = tensors
    with torch.no_grad():
        values, log_prob, entropy = policy.evaluate_actions(obs, actions)
    return {
        "nll": float(-log_prob.mean()),
        "entropy": float(entropy.mean()),
        "value_mse": float(((values.flatten() - returns) ** 2).mean()),
    }


class DemoAnchorCallback(BaseCallback):
    """One behaviour-cloning step on the demos (the actor only) with the algorithm's own
    optimizer before each rollout: the demos stay the policy's choice where it has them."""

    def __init__(self, steps: DemoSteps, updates: int = 1) -> None:
        super().__init__()
        self.steps, self.updates = steps, updates
        self._tensors: tuple[Any, torch.Tensor, torch.Tensor] | None = None

    def _on_rollout_start(self) -> None:
        policy = _actor_critic(self.model)
        if self._tensors is None:
            self._tensors = _tensors(policy, self.steps)
        for _ in range(self.updates):
            _cloning_step(policy, policy.optimizer, self._tensors, value_weight=0.0)

    def _on_step(self) -> bool:
        return True


def warm_start_from_demos(
    model: BaseAlgorithm,
    config: PaintConfig,
    demos: tuple[tuple[int, ...], ...],
    classifier: Classifier,
    *,
    reward_mode: str,
    digit: int | None = None,
    device: str = "cpu",
) -> tuple[dict[str, Any], DemoAnchorCallback]:
    """Clone ``demos`` (one stroke drawing per digit; ``digit``: that one's only) into
    ``model``. Returns the record of it
    for the run's ``config.json`` (the cloning's losses and seconds) and the callback that
    keeps the policy on the demos during RL."""
    started = time.perf_counter()
    steps = demo_steps(
        config,
        demos,
        classifier,
        reward_mode=reward_mode,
        gamma=model.gamma,
        digit=digit,
        device=device,
    )
    losses = clone_demos(model, steps)
    return {**losses, "seconds": round(time.perf_counter() - started, 1)}, DemoAnchorCallback(steps)
