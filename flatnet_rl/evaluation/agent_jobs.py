"""The agent grid as jobs: reward models x seeds, one run each, and the resume rule.

A job trains and evaluates one run, or reads it back when its folder already holds the same
run, finished: the same config, the same reward model and judges by their bytes (a
checkpoint retrained at the same path is another model), and an evaluation of the asked
number of stochastic episodes. Jobs are picklable: worker processes or Ray run them
(:mod:`~flatnet_rl.evaluation.engines`); :mod:`~flatnet_rl.evaluation.agent_comparison`
aggregates what they return.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flatnet_rl.agents.config import MAX_ENVS, MAX_TIMESTEPS, AgentConfig
from flatnet_rl.agents.presets import ACTION_MODES, ALGORITHMS, default_timesteps
from flatnet_rl.envs.registration import PAINT_ID
from flatnet_rl.reward.spec import MODES
from flatnet_rl.shipped import zoo_manifest
from flatnet_rl.training.model_specs import spec_fingerprint
from flatnet_rl.util.checks import check_fields, choice_field, int_field
from flatnet_rl.util.devices import resolve_device


@dataclass(frozen=True)
class AgentGrid:
    """Reward models x seeds, with the settings every run shares.

    Attributes:
        reward_models: reward model specs; the first is the one compared against the others.
        seeds: training seeds 0..N-1.
        action_mode: the paint env's action mode (its preset is used).
        timesteps: steps per run (``None``: the preset's).
        eval_episodes: stochastic evaluation episodes per run from the task's start (the
            paint env: a blank canvas).
        eval_every: the overoptimization curve's interval in steps (``None``: a tenth of
            the run).
        hyperparams: preset overrides for every run, as a JSON object.
        n_envs: envs stepped together in one numpy operation (``None``: the preset's).
        cache_dir: where reward models named by specs are cached.
        algo: every run's Stable-Baselines3 algorithm.
        reward_mode: what the reward pays (``delta``: the change of the target's
            probability, potential-based shaping; the methods page defines each).
        device: where every run trains (``cpu``: parallel runs share the cores; ``auto`` or
            ``cuda[:N]`` puts each worker's run on the GPU).
        env_id, env_kwargs, image, target, max_steps, judges: the env every run trains on
            and what is rewarded, as :class:`~flatnet_rl.agents.AgentConfig` takes them
            (default: the paint env with its shipped judge panel; another env needs judges,
            classifiers trained independently of the reward models, and a target).
    """

    reward_models: tuple[str, ...]
    seeds: int = int_field(5, 1, 1000)
    action_mode: str = choice_field("pixel", ACTION_MODES)
    timesteps: int | None = int_field(None, 1, MAX_TIMESTEPS)
    eval_episodes: int = int_field(100, 1, 10**6)
    eval_every: int | None = int_field(None, 0, MAX_TIMESTEPS)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    n_envs: int | None = int_field(None, 1, MAX_ENVS)
    cache_dir: str = "runs/cache"
    algo: str = choice_field("ppo", ALGORITHMS)
    reward_mode: str = choice_field("delta", MODES)
    device: str = "cpu"
    env_id: str = PAINT_ID
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    image: str = "auto"
    target: int | str | None = None
    max_steps: int | None = None
    judges: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.reward_models:
            raise ValueError("need at least one reward model")
        if len(set(self.reward_models)) != len(self.reward_models):
            raise ValueError(f"reward models repeated: {list(self.reward_models)}")
        check_fields(self)
        resolve_device(self.device)  # an unknown device or absent CUDA, before any job starts
        if self.env_id not in (PAINT_ID, f"flatnet_rl:{PAINT_ID}") and not self.judges:
            # Without judges a run reports its reward model alone: nothing to compare.
            raise ValueError(
                f"comparing agents on {self.env_id!r} needs judges (--judges): classifiers "
                "trained independently of the reward models, to score every run alike"
            )

    @property
    def steps(self) -> int:
        # The first reward model's canvas (zoo models know theirs) picks a stroke budget.
        canvas = zoo_manifest().get(self.reward_models[0], {}).get("canvas")
        return self.timesteps or default_timesteps(self.action_mode, canvas)

    @property
    def every(self) -> int:
        return self.eval_every if self.eval_every is not None else max(1, self.steps // 10)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+=-]+", "_", text).strip("_") or "model"


@dataclass(frozen=True)
class AgentJob:
    """One run of the grid (picklable: a Ray task or a worker process runs it)."""

    config: dict[str, Any]
    eval_episodes: int
    fresh: bool = False  # train and evaluate even when the run folder holds this run

    @property
    def out(self) -> Path:
        return Path(self.config["out"])


def make_jobs(grid: AgentGrid, out: str | Path, *, fresh: bool = False) -> list[AgentJob]:
    """The grid as jobs, reward model major, with every config checked now; ``fresh``: every
    run trains anew (``--overwrite``)."""
    jobs = []
    for reward_model in grid.reward_models:
        for seed in range(grid.seeds):
            config = AgentConfig(
                reward_model=reward_model,
                action_mode=grid.action_mode,
                timesteps=grid.steps,
                seed=seed,
                out=str(Path(out) / "runs" / slug(reward_model) / f"seed{seed}"),
                algo=grid.algo,
                reward_mode=grid.reward_mode,
                device=grid.device,
                hyperparams=dict(grid.hyperparams),
                n_envs=grid.n_envs,
                eval_every=grid.every,
                cache_dir=grid.cache_dir,
                env_id=grid.env_id,
                env_kwargs=dict(grid.env_kwargs),
                image=grid.image,
                target=grid.target,
                max_steps=grid.max_steps,
                judges=list(grid.judges),
            )
            jobs.append(AgentJob(config.to_dict(), grid.eval_episodes, fresh))
    return jobs


def _as_asked(stored: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
    """A run's stored config without what the run added itself: the stroke drawings it
    searched on the reward model (``env_kwargs["stroke_demos"]``) when the job brought none."""
    kwargs = stored.get("env_kwargs")
    if not isinstance(kwargs, dict) or "stroke_demos" in asked.get("env_kwargs", {}):
        return stored
    return {**stored, "env_kwargs": {k: v for k, v in kwargs.items() if k != "stroke_demos"}}


def _same_judges(recorded: Any) -> bool:
    """Whether every judge a run recorded still has the bytes (or spec) it was scored by."""
    if not isinstance(recorded, dict):  # a run from before judges were recorded: rerun it
        return False
    try:
        return all(spec_fingerprint(name) == value for name, value in recorded.items())
    except (OSError, ValueError):  # a judge gone or no longer a model
        return False


def _trained(job: AgentJob) -> dict[str, Any] | None:
    """The stored config and curve of a job whose run folder holds the same trained run."""
    try:
        stored = json.loads((job.out / "config.json").read_text())
        curve = json.loads((job.out / "curve.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    same = all(_as_asked(stored, job.config).get(k) == v for k, v in job.config.items())
    # The same name is not the same reward model: a checkpoint replaced at the same path.
    same = same and stored.get("reward_fingerprint") == spec_fingerprint(job.config["reward_model"])
    same = same and _same_judges(stored.get("judge_fingerprints"))
    return {"config": stored, "curve": curve} if same else None


def _evaluated(job: AgentJob) -> dict[str, Any] | None:
    """The run folder's evaluation if it is the asked one: as many stochastic episodes."""
    try:
        evaluation = json.loads((job.out / "eval.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    done = evaluation.get("overall", {}).get("episodes") == job.eval_episodes
    return evaluation if done and not evaluation.get("deterministic", True) else None


def _result(trained: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any]:
    seconds = trained["config"].get("train_seconds")
    return {"eval": evaluation, "curve": trained["curve"], "train_seconds": seconds}


def _finished(job: AgentJob) -> dict[str, Any] | None:
    """The stored result of a job whose run folder holds the same run, evaluated as asked."""
    trained = _trained(job)
    evaluation = None if trained is None else _evaluated(job)
    return None if evaluation is None else _result(trained, evaluation)


def run_agent_job(job: AgentJob) -> dict[str, Any]:
    """Train and evaluate one run, or read it back when it is already finished (a trained run
    asked for another number of evaluation episodes is evaluated again, not retrained)."""
    from flatnet_rl.agents.evaluate import evaluate_agent
    from flatnet_rl.agents.train import train_agent

    trained = None if job.fresh else _trained(job)
    if trained is None:  # publishing the new run moves the old one's evaluation away
        train_agent(AgentConfig.from_dict(job.config), progress=False, overwrite=True)
        trained = _trained(job)
    evaluation = _evaluated(job)
    if evaluation is None:
        evaluate_agent(job.out, episodes=job.eval_episodes, deterministic=False, overwrite=True)
        evaluation = _evaluated(job)
    if trained is None or evaluation is None:
        raise RuntimeError(f"run {job.out} did not leave a readable training and evaluation")
    return {
        "reward_model": job.config["reward_model"],
        "seed": job.config["seed"],
        **_result(trained, evaluation),
    }
