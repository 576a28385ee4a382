"""The SB3 algorithm of a run, built from its config: for training, and for loading a saved
run's policy weights into the same network (nothing of a run folder is unpickled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv

from flatnet_rl.agents.config import AgentConfig
from flatnet_rl.agents.features import (
    CanvasFeaturesExtractor,
    SmallImageDictExtractor,
    too_small_for_cnn,
)
from flatnet_rl.agents.policy_names import POLICIES
from flatnet_rl.agents.presets import algorithm_class, preset, schedule
from flatnet_rl.util.devices import resolve_device

#: The smallest image side SB3's NatureCNN (CnnPolicy, MultiInputPolicy's image branch) takes:
#: its 8/4, 4/2 and 3/1 convolutions leave nothing of a smaller image.
NATURE_CNN_MIN_SIDE = 36


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
        return "CnnPolicy" if len(space.shape) == 3 else "MlpPolicy"
    if "canvas" in space.spaces and extractor == "canvas_cnn":
        params["policy_kwargs"] = {"features_extractor_class": CanvasFeaturesExtractor, **kwargs}
    elif any(too_small_for_cnn(sub) for sub in space.spaces.values()):
        # MiniGrid's 7x7x3 view in a Dict: NatureCNN needs 36x36; flattened instead.
        params["policy_kwargs"] = {"features_extractor_class": SmallImageDictExtractor, **kwargs}
    return "MultiInputPolicy"


def _check_nature_cnn_sides(policy: Any, space: gym.spaces.Space) -> None:
    """SB3's own image policies on images under 36 px fail deep in torch: say so first."""
    if policy not in ("CnnPolicy", "MultiInputPolicy"):
        return
    from stable_baselines3.common.preprocessing import (
        is_image_space,
        is_image_space_channels_first,
    )

    boxes = space.spaces.items() if isinstance(space, gym.spaces.Dict) else [("obs", space)]
    for key, box in boxes:
        if not is_image_space(box):
            continue
        first = is_image_space_channels_first(box)
        sides = box.shape[1:] if first else box.shape[:2]
        if min(sides) < NATURE_CNN_MIN_SIDE:
            raise ValueError(
                f"observation {key!r} holds {sides[0]}x{sides[1]} images: SB3's {policy} "
                f"(NatureCNN) needs images of at least {NATURE_CNN_MIN_SIDE}x"
                f"{NATURE_CNN_MIN_SIDE}; wrap the env in a ResizeObservation wrapper"
            )


def build_algorithm(
    config: AgentConfig, env: VecEnv, *, tensorboard_log: str | Path | None = None
) -> BaseAlgorithm:
    """The SB3 algorithm of a run, with its preset (and overrides) and policy."""
    params = preset(config.algo, config.hyperparams, config.action_mode)
    policy = _policy(config, env, params)
    if "features_extractor_class" not in params.get("policy_kwargs", {}):
        _check_nature_cnn_sides(policy, env.observation_space)
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
            tensorboard_log=str(tensorboard_log or Path(config.out) / "tb"),
            verbose=0,
            **params,
        )
    except TypeError as err:  # e.g. a policy_kwargs key the policy does not take
        raise ValueError(f"{config.algo} refused the hyperparameters: {err}") from None
