"""Gymnasium env ids as ``gymnasium.make`` takes them, for every command that names an env.

``"CartPole-v1"``, ``"module:EnvId"`` (``"minigrid:MiniGrid-Empty-8x8-v0"``: the module is
imported first, which registers its envs) and plain ids of packages that register their envs
on import (``"MiniGrid-Empty-8x8-v0"``, ``"ALE/Pong-v5"``: the known package is imported when
the id is not registered yet). Observation parts Stable-Baselines3 cannot batch (MiniGrid's
text ``mission``) are dropped from Dict observations with a one-line notice.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import gymnasium as gym
from gymnasium import spaces

#: Packages that register envs when imported, by the prefix of their env ids.
KNOWN_PACKAGES: dict[str, str] = {
    "MiniGrid-": "minigrid",
    "BabyAI-": "minigrid",
    "ALE/": "ale_py",
    "Flatnet": "flatnet_rl",
}
#: The pip package of a module, for the install hint.
PIP_NAMES = {"minigrid": "minigrid", "ale_py": "ale-py"}
#: Observation spaces SB3's vector envs and policies take.
SB3_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class EnvNotice(UserWarning):
    """Something about an env the user should know once (a dropped observation part)."""


def _import(module: str, env_id: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as err:
        pip = PIP_NAMES.get(module, module)
        raise ValueError(
            f"env {env_id!r} needs the module {module!r}, which cannot be imported ({err}): "
            f"pip install {pip} (or pip install 'flatnet-rl[envs]')"
        ) from None


def resolve_env_id(env_id: str) -> str:
    """The registered id of ``env_id`` after importing what registers it.

    Raises:
        ValueError: an empty id, a module that cannot be imported, or an id nothing
            registers (the message says to name its package as ``module:EnvId``).
    """
    if not isinstance(env_id, str) or not env_id.strip():
        raise ValueError(f"env id must be a non-empty string, got {env_id!r}")
    name = env_id
    if ":" in env_id:
        module, name = env_id.split(":", 1)
        _import(module, env_id)
    else:
        try:
            gym.spec(name)
            return name
        except gym.error.Error:
            for prefix, module in KNOWN_PACKAGES.items():
                if name.startswith(prefix):
                    _import(module, env_id)
                    break
    try:
        gym.spec(name)
    except gym.error.Error as err:
        raise ValueError(
            f"unknown env id {env_id!r} ({err}); an env of another package is named as "
            "module:EnvId, e.g. minigrid:MiniGrid-Empty-8x8-v0 or ale_py:ALE/Pong-v5"
        ) from None
    return name


def sb3_compatible_keys(space: spaces.Space) -> list[str] | None:
    """The Dict keys Stable-Baselines3 can batch; ``None``: keep the observation as it is."""
    if not isinstance(space, spaces.Dict):
        return None
    keep = [key for key, sub in space.spaces.items() if isinstance(sub, SB3_SPACES)]
    return None if len(keep) == len(space.spaces) else keep


def make_env(
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    *,
    render: bool = False,
    max_steps: int | None = None,
    sb3: bool = True,
) -> gym.Env:
    """``gymnasium.make`` of ``env_id`` (see :func:`resolve_env_id`).

    ``render``: ``render_mode="rgb_array"`` (frames for the reward); ``max_steps``: the
    episode step limit (``None``: the env's); ``sb3``: drop the Dict entries SB3 cannot
    batch (text), with a one-line notice.

    Raises:
        ValueError: an unknown id, or keyword arguments the env does not take.
    """
    name = resolve_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    if render:
        if kwargs.get("render_mode", "rgb_array") != "rgb_array":
            raise ValueError(
                f"frames from render() need render_mode='rgb_array', but env_kwargs set "
                f"render_mode={kwargs['render_mode']!r}"
            )
        kwargs["render_mode"] = "rgb_array"
    if max_steps is not None:
        kwargs["max_episode_steps"] = max_steps
    try:
        env = gym.make(name, **kwargs)
    except TypeError as err:
        raise ValueError(
            f"env {env_id!r} does not take env_kwargs {sorted(kwargs)}: {err}"
        ) from None
    except gym.error.Error as err:
        raise ValueError(f"cannot make env {env_id!r}: {err}") from None
    keep = sb3_compatible_keys(env.observation_space) if sb3 else None
    if keep is not None:
        dropped = sorted(set(env.observation_space.spaces) - set(keep))
        warnings.warn(
            f"env {env_id!r}: observation entries {dropped} are not arrays Stable-Baselines3 "
            "can batch (e.g. text): dropped from the observations",
            EnvNotice,
            stacklevel=2,
        )
        env = gym.wrappers.FilterObservation(env, keep)
    return env
