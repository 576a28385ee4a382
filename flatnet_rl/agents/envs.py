"""The vectorized, rewarded environment an agent trains and is evaluated on.

Stack (bottom to top): the envs (the paint env natively vectorized: all canvases stepped in
one numpy operation), one batched reward wrapper (one classifier call per vector step),
then ``VecMonitor``: above the learned reward, so ``rollout/ep_rew_mean``,
``evaluate_policy`` and ``EvalCallback`` report the reward being optimised; the env's own
return stays in each episode record (``env_return``) and ``info["env_reward"]``.

On-policy training scores the reward once per rollout instead (``reward_scoring="rollout"``,
the default for PPO and A2C): the stack is the envs under
:class:`~flatnet_rl.reward.rollout.RolloutRewardVecEnv`, with no ``VecMonitor``;
:class:`~flatnet_rl.agents.callbacks.RolloutRewardCallback` writes the rewards into the
rollout buffer and the episodes into ``rollout/ep_rew_mean``.
"""

from __future__ import annotations

from functools import partial

import gymnasium as gym
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor

from flatnet_rl.agents.config import AgentConfig, judge_panel
from flatnet_rl.checkpoint import read_metadata
from flatnet_rl.classifier import Classifier
from flatnet_rl.data.env_ids import make_env as make_gym_env
from flatnet_rl.envs.paint_sb3 import PaintVecEnv
from flatnet_rl.reward import FlatnetRewardVecEnv, RolloutRewardVecEnv, with_render_frames
from flatnet_rl.shipped import checkpoint_path
from flatnet_rl.training.model_specs import resolve_model_spec


def reward_classifier(
    config: AgentConfig, device: str | None = None, *, train: bool = True
) -> Classifier:
    """The proxy reward model of a run (trained and cached first if named by a spec;
    ``train=False``: only read from the cache, for runs read back)."""
    return resolve_model_spec(
        config.reward_model, config.cache_dir, device=device or config.device, train=train
    )


def canvas_of(config: AgentConfig, proxy: Classifier) -> int | None:
    """The paint env's canvas: the config's, else the reward model's (None: not the paint
    env)."""
    if not config.is_paint:
        return None
    side = proxy.input_spec.square_side
    if proxy.input_spec.canvas_ink is not None:
        # A model that draws canvases at its own size (CLIP) reads any canvas: the run's, else
        # the paint env's default (as FlatnetPaint-v0 does).
        return 8 if config.canvas_size is None else config.canvas_size
    if config.canvas_size is not None:
        if side is not None and config.canvas_size != side:
            raise ValueError(
                f"canvas_size={config.canvas_size} but the reward model {proxy.name!r} takes "
                f"{side}x{side} canvases"
            )
        return config.canvas_size
    if side is None:
        raise ValueError(f"the reward model {proxy.name!r} takes non-square images")
    return side


def judges_of(config: AgentConfig, canvas: int | None, proxy: Classifier) -> list[str]:
    """The run's judges: its own list, else (the paint env) the shipped panel for the canvas
    size, which only judges a reward model of the same classes (the digits). Another env
    without judges is evaluated by its reward model alone (no fooling rate)."""
    if config.judges:
        return list(config.judges)
    if canvas is None:
        return []
    judges = list(judge_panel(canvas))
    if not judges:
        raise ValueError(
            f"no shipped judge for {canvas}x{canvas} canvases: pass judges (--judges on the "
            "command line): classifiers trained independently of the reward model"
        )
    # A judge of other classes would score every episode against the wrong class: refused.
    for name in judges:
        classes = tuple(read_metadata(checkpoint_path(name))["class_names"])
        if classes != tuple(proxy.class_names):
            raise ValueError(
                f"the shipped judge {name!r} has classes {list(classes)} but the reward model "
                f"{proxy.name!r} has {list(proxy.class_names)}: pass judges=[...] (--judges on "
                "the command line): classifiers of the same classes, trained independently "
                "of the reward model"
            )
    return judges


def make_env(
    config: AgentConfig,
    proxy: Classifier,
    n_envs: int | None = None,
    seed: int | None = None,
    evaluation: bool = False,
) -> VecEnv:
    """The rewarded, monitored vector env of a run (see the module docstring).

    ``evaluation=True`` starts episodes as the task does (``config.eval_start``).
    """
    n_envs = n_envs or config.n_envs
    seed = config.seed if seed is None else seed
    if config.is_paint:
        venv: VecEnv = PaintVecEnv(
            n_envs,
            canvas_size=canvas_of(config, proxy),
            action_mode=config.action_mode,
            target=config.target,
            start=config.eval_start if evaluation else config.start,
            max_steps=config.max_steps,
            **config.env_kwargs,
        )
        venv.seed(seed)
        target = None
    else:
        # No per-env Monitor: VecMonitor above the reward does the bookkeeping.
        venv = DummyVecEnv([partial(_one_env, config) for _ in range(n_envs)])
        venv.seed(seed)
        target = config.target
    options = {
        "target": target,
        "mode": config.reward_mode,
        "device": config.device,
        "image": config.image,
    }
    if config.reward_scoring == "rollout" and not evaluation:
        return RolloutRewardVecEnv(venv, proxy, **options)
    return VecMonitor(FlatnetRewardVecEnv(venv, proxy, **options))


def _one_env(config: AgentConfig) -> gym.Env:
    """One env of a run that is not the paint env (frames in its observations when the
    reward reads ``render()``: see :mod:`flatnet_rl.reward.render`)."""
    render = config.image == "render"
    env = make_gym_env(config.env_id, config.env_kwargs, render=render, max_steps=config.max_steps)
    return with_render_frames(env) if render else env


def value_range_of(venv: VecEnv) -> tuple[float, float]:
    """The value range of the images in the episode records of a rewarded env stack."""
    env: VecEnv | None = venv
    while env is not None:
        if isinstance(env, FlatnetRewardVecEnv | RolloutRewardVecEnv):
            return env.batch.reader.value_range
        env = getattr(env, "venv", None)
    raise ValueError("the env stack has no reward wrapper")
