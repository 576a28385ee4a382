"""Natively vectorized painting environments: ``N`` canvases in one array, one numpy step.

A vector of :class:`~flatnet_rl.envs.paint.PaintEnv` (``SyncVectorEnv``, ``DummyVecEnv``) pays
one Python ``step`` call per env and per step. Here all canvases live in one
:class:`~flatnet_rl.envs.paint_core.PaintBatch` and a step applies all ``N`` actions with a
handful of numpy operations, so the cost of a vector step barely grows with ``N``.

* :class:`PaintVectorEnv`: a Gymnasium ``VectorEnv`` (``next_step``, ``same_step`` or
  ``disabled`` autoreset); :func:`make_paint_vector_env` is its ``vector_entry_point`` for
  ``gymnasium.make_vec``.
* :class:`PaintVecEnv`: a Stable-Baselines3 ``VecEnv``, a thin adapter over a
  ``PaintVectorEnv`` in same-step autoreset mode (as envpool's ``VecAdapter``): the autoreset
  is written once.

Same dynamics and the same random draws as ``PaintEnv`` (both run the batch core and its one
start draw): env ``i`` of a vector reset with ``seed`` follows exactly the trajectory of
``PaintEnv(...).reset(seed=seed + i)`` under the same actions, across autoresets too.

Example:
    >>> envs = PaintVectorEnv(4, canvas_size=8)
    >>> obs, infos = envs.reset(seed=0)
    >>> obs["canvas"].shape
    (4, 8, 8)
    >>> obs, rewards, terminated, truncated, infos = envs.step(np.full(4, 64))
    >>> terminated.tolist(), rewards.tolist()
    ([True, True, True, True], [0.0, 0.0, 0.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from flatnet_rl.envs.paint import PaintEnv, paint_spaces
from flatnet_rl.envs.paint_config import PaintConfig, PaintConfigAttributes, is_int
from flatnet_rl.envs.paint_core import PaintBatch
from flatnet_rl.envs.paint_starts import SeedArg, per_env_options, reset_mask, seed_list

__all__ = ["PaintBatch", "PaintEnvView", "PaintVectorEnv", "make_paint_vector_env"]

RENDER_MODES = ("rgb_array",)


def _check_render_mode(render_mode: str | None) -> None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(
            f"render_mode must be None or one of {list(RENDER_MODES)} for vectorized "
            f"painting, got {render_mode!r}"
        )


# ---------------------------------------------------------------------- per-env views


class PaintEnvView:
    """Env ``index`` of a :class:`PaintVectorEnv` as ``get_attr``/``set_attr``/``env_method``
    (``call``) see it: :class:`PaintEnv`'s read-only properties and ``render()``.

    The envs of a batch are rows of arrays, not objects; a view stands in for the sub-env
    object a ``SyncVectorEnv``/``DummyVecEnv`` would hold. Setting a read-only property raises
    ``AttributeError``; other attributes set on a view are stored on it and change nothing in
    the dynamics.
    """

    def __init__(self, env: PaintVectorEnv, index: int) -> None:
        self._env = env
        self._index = index

    @property
    def canvas(self) -> np.ndarray:
        """A copy of the current canvas, ``uint8`` of shape ``(H, W)``."""
        return self._env.batch.canvas[self._index].copy()

    @property
    def target(self) -> int:
        return int(self._env.batch.target[self._index])

    @property
    def cursor(self) -> tuple[int, int]:
        row, col = self._env.batch.cursor[self._index].tolist()
        return (row, col)

    @property
    def steps(self) -> int:
        return int(self._env.batch.steps[self._index])

    @property
    def ink(self) -> int:
        return int(self._env.batch.ink[self._index])

    @property
    def start_label(self) -> int:
        return int(self._env.batch.start_label[self._index])

    @property
    def canvas_size(self) -> int:
        return self._env.batch.canvas_size

    @property
    def action_mode(self) -> str:
        return self._env.batch.action_mode

    @property
    def stop_action(self) -> int:
        return self._env.batch.stop_action

    @property
    def max_steps(self) -> int:
        return self._env.batch.max_steps

    @property
    def render_mode(self) -> str | None:
        return self._env.render_mode

    @property
    def observation_space(self) -> spaces.Dict:
        return self._env.single_observation_space

    @property
    def action_space(self) -> spaces.Discrete:
        return self._env.single_action_space

    @property
    def np_random(self) -> np.random.Generator:
        return self._env.batch.np_random(self._index)

    @property
    def np_random_seed(self) -> int:
        return self._env.batch.np_random_seed(self._index)

    def render(self) -> np.ndarray | None:
        """This env's RGB frame in ``"rgb_array"`` mode, else None."""
        if self._env.render_mode != "rgb_array":
            return None
        return self._env.batch.frames(np.array([self._index]))[0]


# ------------------------------------------------------------------------ Gymnasium


class PaintVectorEnv(
    PaintConfigAttributes, VectorEnv[dict[str, np.ndarray], np.ndarray, np.ndarray]
):
    """``num_envs`` :class:`PaintEnv` canvases as one Gymnasium ``VectorEnv``, stepped in numpy.

    ## Spaces

    ``single_observation_space`` and ``single_action_space`` are ``PaintEnv``'s;
    ``observation_space`` and ``action_space`` are their ``gymnasium.vector.utils.batch_space``
    batches: ``canvas`` ``Box(0, 1, (N, H, W), uint8)``, ``target`` ``MultiDiscrete([10] * N)``,
    ``cursor`` (pen, stroke) ``Box(0, H - 1, (N, 2), int64)``; actions ``MultiDiscrete([A] * N)``.
    Actions must be an integer array of shape ``(N,)`` within range: bool or float arrays raise
    ``TypeError``, bad shapes or values ``ValueError``.

    ## Reward

    Always ``0.0`` (float64 array): a reward wrapper adds the classifier reward
    (:class:`~flatnet_rl.reward.FlatnetRewardVector`).

    ## Episode end and autoreset

    Per env as ``PaintEnv``: termination on the stop action, truncation after ``max_steps``.
    ``autoreset_mode`` (also in ``metadata["autoreset_mode"]``) follows ``SyncVectorEnv``:

    - ``AutoresetMode.NEXT_STEP`` (default): the step after an env's episode ended resets it
      and ignores its action; that step returns its reset observation and info (with
      ``start_label``), reward 0, terminated and truncated False.
    - ``AutoresetMode.SAME_STEP``: an env whose episode ends is reset in the same step; the
      step returns its new observation, while its last observation and info are in
      ``infos["final_obs"]`` (object array of single-env observations, None elsewhere) and
      ``infos["final_info"]`` (vector infos), masked by ``_final_obs`` and ``_final_info``.
    - ``AutoresetMode.DISABLED``: stepping an ended env raises ``ResetNeeded``; reset envs with
      ``reset(options={"reset_mask": mask})``.

    ## Infos

    Gymnasium vector infos (arrays with ``_key`` masks): ``target``, ``steps``, ``ink`` (int64
    ``(N,)``), with a pen ``cursor`` (int64 ``(N, 2)``; a ``SyncVectorEnv`` of ``PaintEnv``
    would give an object array of tuples), and ``start_label`` for the envs reset by this call.

    ## Reset

    ``seed``: None, an int (env ``i`` gets ``seed + i``) or a list of ``N`` ints/None.
    ``options`` (all optional): ``"reset_mask"`` (bool ``(N,)``: reset only these envs, as in
    Gymnasium); ``"target"``: an int for every env, or an int array ``(N,)`` with an optional
    bool mask ``"_target"`` (envs outside it draw their target as usual); ``"canvas"``: an
    ``(H, W)`` 0/1 canvas for every env, or ``(N, H, W)`` with an optional ``"_canvas"`` mask.

    ## Rendering

    ``render_mode``: None or ``"rgb_array"`` (``render()`` returns a tuple of ``N`` frames,
    each as ``PaintEnv.render()``); ``"ansi"`` and ``"human"`` are not offered.

    ## Arguments

    ``num_envs`` (int >= 1), then keyword-only ``PaintEnv``'s arguments (the fields of
    :class:`~flatnet_rl.envs.paint_config.PaintConfig`, or ``config=`` one, and
    ``render_mode``) and ``autoreset_mode`` (an ``AutoresetMode`` or its value, e.g.
    ``"SameStep"``).
    """

    metadata: ClassVar[dict[str, Any]] = {
        "render_modes": list(RENDER_MODES),
        "render_fps": PaintEnv.metadata["render_fps"],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        *,
        config: PaintConfig | None = None,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        _check_render_mode(render_mode)
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.config = PaintConfig.from_kwargs(config, **kwargs)
        self.batch = PaintBatch(num_envs, self.config)
        self.views = tuple(PaintEnvView(self, i) for i in range(self.batch.num_envs))
        self.num_envs = self.batch.num_envs
        # An instance copy: the class-level dict must not carry one instance's mode.
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.render_mode = render_mode
        self.single_observation_space, self.single_action_space = paint_spaces(self.config)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        # NEXT_STEP: the envs whose episode ended in the previous step.
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self.last_reset_infos: list[dict[str, Any]] = []

    @property
    def np_random(self) -> tuple[np.random.Generator, ...]:  # type: ignore[override]
        """Every env's generator (as ``SyncVectorEnv.np_random``)."""
        return tuple(self.batch.np_random(i) for i in range(self.num_envs))

    @property
    def np_random_seed(self) -> tuple[int, ...]:  # type: ignore[override]
        return tuple(self.batch.np_random_seed(i) for i in range(self.num_envs))

    def reset(
        self, *, seed: SeedArg = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        seeds = seed_list(seed, self.num_envs)
        mask = reset_mask(options, self.num_envs)
        ids = np.flatnonzero(mask)
        per_env = per_env_options(options, self.num_envs, self.canvas_size)
        self.batch.reset(ids, [seeds[i] for i in ids], [per_env[i] for i in ids])
        self._autoreset[ids] = False
        partial = None if mask.all() else mask
        return self.batch.observations(), self.batch.vector_infos(partial, reset=mask)

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        checked = self.batch.check_actions(actions)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            terminated, truncated, infos = self._step_next(checked)
        elif self.autoreset_mode == AutoresetMode.SAME_STEP:
            terminated, truncated, infos = self._step_same(checked)
        else:
            terminated, truncated = self.batch.step(checked)
            infos = self.batch.vector_infos()
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        return self.batch.observations(), rewards, terminated, truncated, infos

    def _step_next(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        resetting = self._autoreset
        if not np.count_nonzero(resetting):
            terminated, truncated = self.batch.step(actions)
            infos = self.batch.vector_infos()
        else:
            # The envs that ended last step only reset; their actions are ignored.
            terminated, truncated = self.batch.step(actions, np.flatnonzero(~resetting))
            self.batch.reset(np.flatnonzero(resetting))
            infos = self.batch.vector_infos(reset=resetting)
        self._autoreset = terminated | truncated
        return terminated, truncated, infos

    def _step_same(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        terminated, truncated = self.batch.step(actions)
        done = terminated | truncated
        if not np.count_nonzero(done):
            return terminated, truncated, self.batch.vector_infos()
        ids = np.flatnonzero(done)
        final_obs = np.full(self.num_envs, None, dtype=object)
        for i in ids.tolist():
            final_obs[i] = self.batch.observation(i)
        infos: dict[str, Any] = {
            "final_obs": final_obs,
            "_final_obs": done.copy(),
            "final_info": self.batch.vector_infos(done),
            "_final_info": done.copy(),
        }
        # Per-env reset infos, for the SB3 adapter's reset_infos (not a Gymnasium info key).
        self.last_reset_infos = self.batch.reset(ids)
        infos.update(self.batch.vector_infos(reset=done))
        return terminated, truncated, infos

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Every env's RGB frame (``render_mode="rgb_array"``), else None with a warning."""
        if self.render_mode != "rgb_array":
            gym.logger.warn(
                "PaintVectorEnv.render() called without render_mode='rgb_array'; pass it to "
                "the constructor"
            )
            return None
        return tuple(self.batch.frames())

    def call(self, name: str, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
        """Call (or read) ``name`` on every env's :class:`PaintEnvView`."""
        results = []
        for view in self.views:
            value = getattr(view, name)
            results.append(value(*args, **kwargs) if callable(value) else value)
        return tuple(results)

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return self.call(name)

    def set_attr(self, name: str, values: list[Any] | tuple[Any, ...] | Any) -> None:
        """Set ``name`` on every env's view: one value each (list/tuple) or one for all."""
        if not isinstance(values, (list, tuple)):
            values = [values] * self.num_envs
        if len(values) != self.num_envs:
            raise ValueError(f"values must have length num_envs={self.num_envs}, got {len(values)}")
        for view, value in zip(self.views, values, strict=True):
            setattr(view, name, value)


def make_paint_vector_env(
    num_envs: int = 1,
    *,
    max_episode_steps: int | None = None,
    **kwargs: Any,
) -> PaintVectorEnv:
    """``vector_entry_point`` for ``gymnasium.register``: ``gymnasium.make_vec`` calls it as
    ``make_paint_vector_env(num_envs=n, **kwargs)`` (``PaintVectorEnv``'s arguments),
    passing the spec's ``max_episode_steps`` when it has one.

    ``max_episode_steps`` acts as ``gymnasium.make``'s ``TimeLimit`` on a ``PaintEnv``:
    episodes are truncated after ``min(max_steps, max_episode_steps)`` steps. Since
    ``make_vec`` refuses ``vector_kwargs`` for entry points, ``autoreset_mode`` is an ordinary
    keyword: ``make_vec(id, num_envs=n, autoreset_mode=AutoresetMode.SAME_STEP)``.
    """
    if max_episode_steps is not None:
        if not is_int(max_episode_steps) or max_episode_steps < 1:
            raise ValueError(
                f"max_episode_steps must be None or an int >= 1, got {max_episode_steps!r}"
            )
        env_kwargs = {k: v for k, v in kwargs.items() if k not in ("render_mode", "autoreset_mode")}
        horizon = PaintConfig.from_kwargs(**env_kwargs).horizon
        kwargs["max_steps"] = min(horizon, int(max_episode_steps))
    return PaintVectorEnv(num_envs, **kwargs)
