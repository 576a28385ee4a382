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

import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from flatnet_rl.agents.algorithm import build_algorithm
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
from flatnet_rl.agents.evaluate import EVAL_SEED_OFFSET, evaluate_model
from flatnet_rl.agents.runs import (
    RUN_FILES,
    check_outputs,
    model_sha256,
    publish_run,
    staged_run,
)
from flatnet_rl.agents.stroke_demos import with_stroke_demos
from flatnet_rl.agents.warm_start import warm_start_from_demos
from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.reward import RolloutRewardVecEnv
from flatnet_rl.training.model_specs import spec_fingerprint
from flatnet_rl.util.jsonio import write_json
from flatnet_rl.util.threads import ensure_thread_policy

#: Evaluation episodes of the overoptimization curve use seeds of their own.
CURVE_SEED_OFFSET = 2 * EVAL_SEED_OFFSET


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
    ensure_thread_policy()
    out = Path(config.out)
    check_outputs(out, (*RUN_FILES, "curve.json"), overwrite=overwrite)
    torch.manual_seed(config.seed)
    proxy = reward if reward is not None else reward_classifier(config)
    reward_fingerprint = spec_fingerprint(config.reward_model) if reward is None else None
    target_class = None
    if config.target is not None:  # a name is that class, a number naming none an index
        target_class = proxy.class_names[proxy.class_index(config.target)]
        if progress:
            print(f"rewarding class {target_class!r} of {proxy.name!r} (target {config.target!r})")
    canvas = canvas_of(config, proxy)
    search_started = time.perf_counter()
    config = with_stroke_demos(config, proxy, canvas, progress)
    search_seconds = time.perf_counter() - search_started
    judge_names = judges_of(config, canvas, proxy)
    judges = [load_classifier(name, device="cpu") for name in judge_names]
    env = make_env(config, proxy)
    model = build_algorithm(config, env)
    warm_start, anchor = None, None
    if config.warm_start == "demos":
        warm_start, anchor = warm_start_from_demos(
            model,
            config.paint_config(canvas),
            config.env_kwargs["stroke_demos"],
            proxy,
            reward_mode=config.reward_mode,
            digit=config.target,  # the paint env's target: a digit or None
            device=config.device,
        )
        if progress:
            print(
                f"warm start: cloned the demo drawings into the policy (NLL "
                f"{warm_start['nll']:.3f} nats, {warm_start['seconds']:.0f} s)"
            )
    hacking = RewardHackingCallback(proxy, judges, value_range_of(env))
    callbacks: list[BaseCallback] = [hacking]
    if isinstance(env, RolloutRewardVecEnv):  # first: the others then see the rewards
        callbacks.insert(0, RolloutRewardCallback(env, hacking.add_episodes))
    if anchor is not None:
        callbacks.append(anchor)
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
    with staged_run(out) as staging:
        if hasattr(model, "tensorboard_log"):  # this run's logs only: staged, published
            model.tensorboard_log = str(staging / "tb")
        started = time.perf_counter()
        model.learn(
            config.timesteps, callback=callbacks, progress_bar=progress, tb_log_name=config.algo
        )
        # The demo search and the warm start are training too.
        before = search_seconds + (warm_start["seconds"] if warm_start else 0.0)
        wall = time.perf_counter() - started + before
        check_finite(model)
        # Training time without the curve's evaluation episodes (a measurement, not training).
        seconds = wall
        if curve is not None and curve.points:
            seconds = curve.points[-1]["seconds"] + before
        model.save(staging / "model.zip")
        env.close()
        record: dict[str, Any] = {
            **config.to_dict(),
            "train_seconds": round(seconds, 1),
            "wall_seconds": round(wall, 1),
            "last_training_metrics": hacking.last,
            "warm_start_record": warm_start,
            "target_class": target_class,
            # The reward model by content: a resumed grid retrains when it has changed.
            "reward_fingerprint": None if reward is not None else reward_fingerprint,
            # The judges too: a judge retrained at the same path changes every judge score.
            "judge_fingerprints": {name: spec_fingerprint(name) for name in judge_names},
            "model_sha256": model_sha256(staging / "model.zip"),
        }
        (staging / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
        if curve is not None:
            write_json(
                staging / "curve.json",
                {"judges": [j.name for j in judges], "points": curve.points},
            )
        # One rename: an overwritten run keeps no log or result of the agent it replaces.
        publish_run(staging, out)
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
