"""Train Stable-Baselines3 agents on a classifier reward.

>>> from flatnet_rl.agents import AgentConfig, train_agent
>>> run = train_agent(AgentConfig(timesteps=2_000, out="runs/demo"))   # doctest: +SKIP

Writes a run folder (:mod:`flatnet_rl.agents.runs`); evaluate it with
:func:`flatnet_rl.agents.evaluate.evaluate_agent`.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import VecEnv

from flatnet_rl.agents.callbacks import (
    OveroptimizationCallback,
    RewardHackingCallback,
    RolloutRewardCallback,
)
from flatnet_rl.agents.config import AgentConfig
from flatnet_rl.agents.envs import (
    canvas_of,
    judges_of,
    make_env,
    reward_classifier,
    value_range_of,
)
from flatnet_rl.agents.evaluate import EVAL_FILES, EVAL_SEED_OFFSET, evaluate_model
from flatnet_rl.agents.features import (
    CanvasFeaturesExtractor,
    SmallImageDictExtractor,
    too_small_for_cnn,
)
from flatnet_rl.agents.policy_names import POLICIES
from flatnet_rl.agents.presets import algorithm_class, preset, schedule
from flatnet_rl.agents.runs import RUN_FILES, check_outputs
from flatnet_rl.classifier import Classifier, load_classifier, resolve_device
from flatnet_rl.reward import RolloutRewardVecEnv
from flatnet_rl.util.jsonio import write_json

#: Evaluation episodes of the overoptimization curve use seeds of their own.
CURVE_SEED_OFFSET = 2 * EVAL_SEED_OFFSET


def _policy(config: AgentConfig, env: VecEnv, params: dict[str, Any]) -> Any:
    """The policy (class or SB3 name) of a run; adjusts ``policy_kwargs`` to it."""
    extractor = params.pop("features_extractor", "flatten")
    name = params.pop("policy", None)
    if name is not None and config.is_paint:
        return POLICIES[name]
    # SB3's own policies take net_arch, not the extra keywords of our paint-env policies.
    kwargs = {k: v for k, v in params.get("policy_kwargs", {}).items() if k == "net_arch"}
    params["policy_kwargs"] = kwargs
    space = env.observation_space
    if not isinstance(space, gym.spaces.Dict):
        if is_image_space(space, check_channels=False) and not too_small_for_cnn(space):
            return "CnnPolicy"
        return "MlpPolicy"
    if "canvas" in space.spaces and extractor == "canvas_cnn":
        params["policy_kwargs"] = {"features_extractor_class": CanvasFeaturesExtractor, **kwargs}
    elif any(too_small_for_cnn(sub) for sub in space.spaces.values()):
        # MiniGrid's 7x7x3 view: NatureCNN needs 36x36; flattened instead.
        params["policy_kwargs"] = {"features_extractor_class": SmallImageDictExtractor, **kwargs}
    return "MultiInputPolicy"


def build_algorithm(config: AgentConfig, env: VecEnv) -> BaseAlgorithm:
    """The SB3 algorithm of a run, with its preset (and overrides) and policy."""
    params = preset(config.algo, config.hyperparams, config.action_mode)
    policy = _policy(config, env, params)
    if "learning_rate" in params:
        params["learning_rate"] = schedule(params["learning_rate"])
    if config.algo == "dqn" and not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError("dqn needs a discrete action space")
    try:
        return algorithm_class(config.algo)(
            policy,
            env,
            seed=config.seed,
            device=resolve_device(config.device),
            tensorboard_log=str(Path(config.out) / "tb"),
            verbose=0,
            **params,
        )
    except TypeError as err:  # e.g. a policy_kwargs key the policy does not take
        raise ValueError(f"{config.algo} refused the hyperparameters: {err}") from None


def check_finite(model: BaseAlgorithm) -> None:
    """The trained policy's parameters are finite (hyperparameters can make PPO diverge).

    Raises:
        FloatingPointError: naming the first non-finite parameter; nothing is saved.
    """
    for name, param in model.policy.state_dict().items():
        if param.is_floating_point() and not bool(torch.isfinite(param).all()):
            raise FloatingPointError(
                f"training diverged: the policy's {name} is not finite (NaN or inf); nothing "
                "was saved. Lower the learning rate or the loss coefficients"
            )


def train_agent(
    config: AgentConfig,
    *,
    progress: bool = True,
    overwrite: bool = False,
    reward: Classifier | None = None,
    stop_at_judge: float | None = None,
    max_train_seconds: float | None = None,
) -> Path:
    """Train, save ``model.zip``, ``config.json`` (and ``curve.json``) in ``config.out``.

    ``reward``: a classifier object to use instead of resolving ``config.reward_model`` (e.g.
    :meth:`Classifier.from_module`); the config records its name. Evaluate such a run with
    ``evaluate_agent(run, reward=...)``. With ``config.eval_every``, training stops early
    when the judges reach ``stop_at_judge`` or after ``max_train_seconds``.

    Raises:
        RunExistsError: ``config.out`` already holds a run and ``overwrite`` is off (checked
            before training).
    """
    out = Path(config.out)
    check_outputs(out, (*RUN_FILES, "curve.json"), overwrite=overwrite)
    torch.manual_seed(config.seed)
    proxy = reward if reward is not None else reward_classifier(config)
    canvas = canvas_of(config, proxy)
    judges = [load_classifier(name, device="cpu") for name in judges_of(config, canvas, proxy)]
    env = make_env(config, proxy)
    model = build_algorithm(config, env)
    hacking = RewardHackingCallback(proxy, judges, value_range_of(env))
    callbacks: list[BaseCallback] = [hacking]
    if isinstance(env, RolloutRewardVecEnv):  # first: the others then see the rewards
        callbacks.insert(0, RolloutRewardCallback(env, hacking.add_episodes))
    curve = None
    if config.eval_every:
        evaluate = partial(_curve_scores, config=config, proxy=proxy, judges=judges)
        curve = OveroptimizationCallback(
            evaluate,
            config.eval_every,
            stop_at_judge=stop_at_judge,
            max_seconds=max_train_seconds,
        )
        callbacks.append(curve)
    started = time.perf_counter()
    model.learn(
        config.timesteps, callback=callbacks, progress_bar=progress, tb_log_name=config.algo
    )
    wall = time.perf_counter() - started
    check_finite(model)
    # Training time without the curve's evaluation episodes (a measurement, not training).
    seconds = curve.points[-1]["seconds"] if curve is not None and curve.points else wall
    out.mkdir(parents=True, exist_ok=True)
    # An overwritten run keeps no result of the agent it replaces.
    for name in (*EVAL_FILES, "curve.json"):
        (out / name).unlink(missing_ok=True)
    model.save(out / "model.zip")
    env.close()
    record: dict[str, Any] = {
        **config.to_dict(),
        "train_seconds": round(seconds, 1),
        "wall_seconds": round(wall, 1),
        "last_training_metrics": hacking.last,
    }
    (out / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    if curve is not None:
        write_json(out / "curve.json", {"judges": [j.name for j in judges], "points": curve.points})
    return out


def _curve_scores(
    model: BaseAlgorithm, *, config: AgentConfig, proxy: Classifier, judges: list[Classifier]
) -> dict:
    scores, _ = evaluate_model(
        config,
        model,
        proxy,
        judges,
        episodes=config.curve_episodes,
        deterministic=False,
        seed=config.seed + CURVE_SEED_OFFSET,
    )
    return scores
