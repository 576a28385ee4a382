"""The paint env as a Stable-Baselines3 ``VecEnv``: a thin adapter over the Gymnasium
:class:`~flatnet_rl.envs.paint_vector.PaintVectorEnv` in same-step autoreset mode (as envpool's
``VecAdapter``), so the autoreset is written once."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env.base_vec_env import (
    VecEnv,
    VecEnvIndices,
    VecEnvObs,
    VecEnvStepReturn,
)

from flatnet_rl.envs.paint import PaintEnv
from flatnet_rl.envs.paint_config import PaintConfig
from flatnet_rl.envs.paint_vector import PaintEnvView, PaintVectorEnv

__all__ = ["PaintVecEnv"]


class PaintVecEnv(VecEnv):
    """``num_envs`` :class:`PaintEnv` canvases as one Stable-Baselines3 ``VecEnv``, in numpy.

    Spaces are ``PaintEnv``'s (SB3 keeps single-env spaces on a ``VecEnv``); observations are
    dicts of batched arrays, as ``DummyVecEnv`` returns them. Actions: as
    :class:`PaintVectorEnv` (integer array of shape ``(N,)``, checked in ``step_async``).

    ## Reward

    Always ``0.0`` (float32 array); wrap with :class:`~flatnet_rl.reward.FlatnetRewardVecEnv`.

    ## Episode end and autoreset (SB3's, as ``DummyVecEnv``)

    ``dones = terminated | truncated``. An env that is done is reset inside the same
    ``step``: the returned observation is its new episode's first, its last observation is in
    ``infos[i]["terminal_observation"]`` and its reset info in ``reset_infos[i]``. Every
    info has ``"TimeLimit.truncated"``: True when the episode was truncated and not
    terminated.

    ## Seeding and options

    ``seed(s)`` gives env ``i`` seed ``s + i`` and ``set_options(...)`` ``PaintEnv`` reset
    options (``"target"``, ``"canvas"``), both at the next ``reset()`` only.

    ## Infos

    A list of ``PaintEnv`` info dicts: ``target``, ``steps``, ``ink`` and with a pen
    ``cursor`` (a tuple), plus the keys above. ``reset_infos`` also hold ``start_label``.

    ## Sub-env access

    ``get_attr``, ``set_attr`` and ``env_method`` act on :class:`PaintEnvView` objects (the
    ``PaintEnv`` properties and ``render``); ``env_is_wrapped`` is False (no gym wrappers).
    ``render_mode``: None or ``"rgb_array"`` (``get_images``/``render`` as in SB3).
    """

    def __init__(
        self,
        num_envs: int = 1,
        *,
        config: PaintConfig | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Before VecEnv.__init__: it reads render_mode through get_attr.
        self.envs = PaintVectorEnv(
            num_envs,
            config=config,
            render_mode=render_mode,
            autoreset_mode=AutoresetMode.SAME_STEP,
            **kwargs,
        )
        self.batch = self.envs.batch
        super().__init__(
            self.envs.num_envs, self.envs.single_observation_space, self.envs.single_action_space
        )
        # VecVideoRecorder reads the frame rate from here.
        self.metadata["render_fps"] = PaintEnv.metadata["render_fps"]
        self._actions: np.ndarray | None = None

    @property
    def config(self) -> PaintConfig:
        return self.envs.config

    def reset(self) -> VecEnvObs:
        options = [options or None for options in self._options]
        self.reset_infos = self.batch.reset(range(self.num_envs), list(self._seeds), options)
        # Seeds and options are used once, as DummyVecEnv does.
        self._reset_seeds()
        self._reset_options()
        return self.batch.observations()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = self.batch.check_actions(actions)

    def step_wait(self) -> VecEnvStepReturn:
        if self._actions is None:
            raise RuntimeError("step_wait() called without step_async()")
        actions, self._actions = self._actions, None
        obs, rewards, terminated, truncated, vector_infos = self.envs.step(actions)
        dones = terminated | truncated
        if not np.count_nonzero(dones):
            infos = self.batch.info_dicts()
        else:
            # SB3's per-env dicts: the finished envs' last infos and observations, from the
            # same-step autoreset of the Gymnasium env.
            infos = _info_dicts(vector_infos["final_info"], vector_infos["_final_info"])
            live = self.batch.info_dicts()
            for i in np.flatnonzero(~dones).tolist():
                infos[i] = live[i]
            ids = np.flatnonzero(dones).tolist()
            for i, reset_info in zip(ids, self.envs.last_reset_infos, strict=True):
                infos[i]["terminal_observation"] = vector_infos["final_obs"][i]
                self.reset_infos[i] = reset_info
        # Gymnasium's split flags folded into SB3's done, as DummyVecEnv does.
        for info, flag in zip(infos, (truncated & ~terminated).tolist(), strict=True):
            info["TimeLimit.truncated"] = flag
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        """Nothing to release: no sub-processes, no windows."""

    def get_images(self) -> Sequence[np.ndarray | None]:
        if self.render_mode != "rgb_array":
            warnings.warn(
                f"The render mode is {self.render_mode}, but this method assumes it is "
                "`rgb_array` to obtain images.",
                stacklevel=2,
            )
            return [None] * self.num_envs
        return list(self.batch.frames())

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(view, attr_name) for view in self._views(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for view in self._views(indices):
            setattr(view, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        return [
            getattr(view, method_name)(*method_args, **method_kwargs)
            for view in self._views(indices)
        ]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None
    ) -> list[bool]:
        return [False for _ in self._views(indices)]

    def _views(self, indices: VecEnvIndices) -> list[PaintEnvView]:
        return [self.envs.views[i] for i in self._get_indices(indices)]


def _info_dicts(vector_infos: Mapping[str, np.ndarray], mask: np.ndarray) -> list[dict[str, Any]]:
    """Per-env dicts of Gymnasium vector infos (the entries under each key's mask), with
    ``PaintEnv``'s types: ints, and the cursor as a tuple."""
    infos: list[dict[str, Any]] = [{} for _ in range(len(mask))]
    for key, values in vector_infos.items():
        if key.startswith("_"):
            continue
        keep = vector_infos.get(f"_{key}", mask)
        for i in np.flatnonzero(keep).tolist():
            value = values[i].tolist()
            infos[i][key] = tuple(value) if isinstance(value, list) else value
    return infos
