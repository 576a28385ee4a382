"""Train Stable-Baselines3 agents on a classifier reward.

>>> from flatnet_rl.agents import AgentConfig, train_agent
>>> run = train_agent(AgentConfig(timesteps=2_000, out="runs/demo"))   # doctest: +SKIP

A run folder holds ``model.zip`` (SB3), ``config.json`` (this config), TensorBoard logs
under ``tb/`` and, after evaluation, ``eval.json`` / ``eval.md`` / ``final_canvases.png``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from flatnet_rl.agents.callbacks import RewardHackingCallback
from flatnet_rl.agents.features import CanvasFeaturesExtractor
from flatnet_rl.agents.presets import ALGORITHMS, CURRICULUM, preset
from flatnet_rl.classifier import load_classifier, resolve_device
from flatnet_rl.envs.paint import parse_start
from flatnet_rl.envs.registration import BARE_ID, PAINT_ID
from flatnet_rl.reward import FlatnetRewardVecEnv
from flatnet_rl.reward.functions import MODES

ALGO_CLASSES: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C, "dqn": DQN}


@dataclass
class AgentConfig:
    """One agent training run. Every field is saved to ``config.json``.

    Attributes:
        env_id: ``FlatnetPaint-v0`` (the painting env, rewarded in batch) or any Gymnasium
            id with image observations (then ``target`` is required).
        algo: ``ppo`` (default), ``a2c`` or ``dqn``.
        reward_model: ``flatnet``, ``baseline`` or a checkpoint path: the proxy reward.
        reward_mode: see :data:`flatnet_rl.reward.MODES`.
        judge: the independent classifier used only to evaluate (never as reward).
        start: training start canvases, a mode or a mixture (default :data:`CURRICULUM`);
            ``eval_start``: evaluation's (the task: a blank canvas).
        env_kwargs: extra keyword arguments for the env (``pixel_op``, ``noise_density`` ...).
        hyperparams: overrides of the algorithm's preset.
    """

    env_id: str = PAINT_ID
    algo: str = "ppo"
    reward_model: str = "flatnet"
    reward_mode: str = "delta"
    action_mode: str = "pixel"
    target: int | None = None
    start: str | dict[str, float] = field(default_factory=lambda: dict(CURRICULUM))
    eval_start: str = "blank"
    max_steps: int | None = None
    timesteps: int = 200_000
    n_envs: int = 8
    seed: int = 0
    out: str = "runs/agent"
    device: str = "auto"
    judge: str = "judge"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algo!r}; expected one of {ALGORITHMS}")
        if self.reward_mode not in MODES:
            raise ValueError(f"unknown reward mode {self.reward_mode!r}; expected one of {MODES}")
        if self.timesteps < 1 or self.n_envs < 1:
            raise ValueError("timesteps and n_envs must be >= 1")
        if self.target is not None and not 0 <= int(self.target) <= 9:
            raise ValueError(f"target must be in [0, 9] or None, got {self.target}")
        if self.reward_model == self.judge:
            raise ValueError("the judge must be independent of the reward model")
        if self.is_paint:
            parse_start(self.start)  # a clear error now, not when the envs are built
            parse_start(self.eval_start)
        if self.env_id != PAINT_ID and self.target is None:
            raise ValueError(f"env {self.env_id!r} has no target in its observation: set target")

    @property
    def is_paint(self) -> bool:
        return self.env_id == PAINT_ID

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AgentConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def make_env(
    config: AgentConfig,
    n_envs: int | None = None,
    seed: int | None = None,
    evaluation: bool = False,
) -> VecEnv:
    """The vectorized env: bare envs, Monitor, then one batched reward wrapper.

    ``evaluation=True`` starts episodes as the task does (``config.eval_start``).
    """
    n_envs = n_envs or config.n_envs
    seed = config.seed if seed is None else seed
    if config.is_paint:
        kwargs = {
            "action_mode": config.action_mode,
            "target": config.target,
            "start": config.eval_start if evaluation else config.start,
            "max_steps": config.max_steps,
            "canvas_size": load_classifier(config.reward_model, device="cpu").canvas_size,
            **config.env_kwargs,
        }
        venv = make_vec_env(
            BARE_ID, n_envs=n_envs, seed=seed, env_kwargs=kwargs, vec_env_cls=DummyVecEnv
        )
        target = None
    else:
        venv = make_vec_env(config.env_id, n_envs=n_envs, seed=seed, env_kwargs=config.env_kwargs)
        target = config.target
    return FlatnetRewardVecEnv(
        venv, config.reward_model, target=target, mode=config.reward_mode, device=config.device
    )


def build_model(config: AgentConfig, env: VecEnv) -> BaseAlgorithm:
    params = preset(config.algo, config.hyperparams)
    extractor = params.pop("features_extractor", "canvas_cnn")
    if extractor not in ("flatten", "canvas_cnn"):
        raise ValueError(f"features_extractor must be 'flatten' or 'canvas_cnn', got {extractor!r}")
    if isinstance(env.observation_space, gym.spaces.Dict):
        policy = "MultiInputPolicy"
        if "canvas" in env.observation_space.spaces and extractor == "canvas_cnn":
            params["policy_kwargs"] = {
                "features_extractor_class": CanvasFeaturesExtractor,
                **params.get("policy_kwargs", {}),
            }
    else:
        policy = "CnnPolicy" if len(env.observation_space.shape) == 3 else "MlpPolicy"
    if config.algo == "dqn" and not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError("dqn needs a discrete action space")
    return ALGO_CLASSES[config.algo](
        policy,
        env,
        seed=config.seed,
        device=resolve_device(config.device),
        tensorboard_log=str(Path(config.out) / "tb"),
        verbose=0,
        **params,
    )


def train_agent(config: AgentConfig, *, progress: bool = True, eval_episodes: int = 0) -> Path:
    """Train, save ``model.zip`` and ``config.json`` in ``config.out``; returns that folder.

    With ``eval_episodes > 0`` the saved agent is evaluated right after (see
    :func:`flatnet_rl.agents.evaluate.evaluate_agent`).
    """
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    env = make_env(config)
    model = build_model(config, env)
    callback = RewardHackingCallback(
        load_classifier(config.reward_model, device="cpu"),
        load_classifier(config.judge, device="cpu"),
    )
    started = time.perf_counter()
    model.learn(config.timesteps, callback=callback, progress_bar=progress, tb_log_name=config.algo)
    seconds = time.perf_counter() - started
    model.save(out / "model.zip")
    env.close()
    record = {
        **config.to_dict(),
        "train_seconds": round(seconds, 1),
        "last_training_metrics": callback.last,
    }
    (out / "config.json").write_text(json.dumps(record, indent=2, default=str) + "\n")
    if eval_episodes:
        from flatnet_rl.agents.evaluate import evaluate_agent

        evaluate_agent(out, episodes=eval_episodes)
    return out


def load_run(run_dir: str | Path, device: str = "auto") -> tuple[AgentConfig, BaseAlgorithm]:
    """The config and the SB3 model saved by :func:`train_agent`."""
    run_dir = Path(run_dir)
    config_path, model_path = run_dir / "config.json", run_dir / "model.zip"
    for path in (config_path, model_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: is {run_dir} a flatnet-rl agent run folder?"
            )
    try:
        config = AgentConfig.from_dict(json.loads(config_path.read_text()))
    except (json.JSONDecodeError, TypeError) as err:
        raise ValueError(f"{config_path} is not a valid agent config: {err}") from err
    model = ALGO_CLASSES[config.algo].load(model_path, device=resolve_device(device))
    return config, model
