"""Labelled frames from an env: the data a reward model for that env learns from.

>>> def near_goal(env, obs):  # doctest: +SKIP
...     x, y = env.unwrapped.agent_pos
...     return "near_goal" if abs(x - 6) + abs(y - 6) <= 2 else "far"
>>> frames = collect_labelled_frames(  # doctest: +SKIP
...     "minigrid:MiniGrid-Empty-8x8-v0", 200, near_goal, class_names=["far", "near_goal"]
... )
>>> frames.save_npz("minigrid.npz")  # doctest: +SKIP  (then train-classifier --data)

A labelling function sees the env (its true state, e.g. ``env.unwrapped.agent_pos``) and
the observation after each step and returns a class (index or name) or ``None`` to skip the
frame. The policy is random (seeded) unless one is given. Every class gets an equal share
of the frames (a random policy rarely reaches a goal: without quotas the rare class would be
a handful of images).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from flatnet_rl.data.env_ids import make_env
from flatnet_rl.data.frames import image_key
from flatnet_rl.util.checks import is_int

Label = Callable[[gym.Env, Any], "int | str | None"]
Policy = Callable[[Any, gym.Env], Any]
#: Env steps allowed per requested frame before giving up on a class that never shows.
STEPS_PER_FRAME = 200


@dataclass
class LabelledFrames:
    """Frames ``x`` ``(N, H, W[, C])`` with labels ``y`` ``(N,)`` and their class names."""

    x: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]

    def save_npz(self, path: str | Path) -> Path:
        """An ``.npz`` that ``train-classifier --data`` reads (``x``, ``y``, ``class_names``)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, x=self.x, y=self.y, class_names=np.array(self.class_names))
        return path


def _class_index(value: Any, class_names: Sequence[str]) -> int:
    if isinstance(value, str):
        if value not in class_names:
            raise ValueError(f"the labelling function returned {value!r}, not in {class_names}")
        return class_names.index(value)
    if not is_int(value):
        raise ValueError(f"the labelling function must return a class or None, got {value!r}")
    if not 0 <= int(value) < len(class_names):
        raise ValueError(
            f"the labelling function returned class {value}, not in 0..{len(class_names) - 1}"
        )
    return int(value)


def collect_labelled_frames(
    env_id: str,
    n: int,
    label: Label,
    *,
    class_names: Sequence[str],
    policy: Policy | None = None,
    seed: int = 0,
    image: str = "render",
    env_kwargs: dict[str, Any] | None = None,
    max_steps: int | None = None,
) -> LabelledFrames:
    """``n`` frames of ``env_id`` (about ``n / K`` per class), labelled by ``label``.

    ``image``: ``"render"`` (``render()`` frames) or an observation key / ``"auto"``;
    ``max_steps``: the episode step limit (``None``: the env's). Seeded: the same arguments
    give the same frames.

    Raises:
        ValueError: fewer than 2 classes, a label outside ``class_names``, or a class that
            never shows within ``STEPS_PER_FRAME * n`` steps (the message says which).
    """
    class_names = tuple(str(c) for c in class_names)
    if len(class_names) < 2 or len(set(class_names)) != len(class_names):
        raise ValueError(f"class_names must be at least 2 distinct names, got {class_names}")
    if n < len(class_names):
        raise ValueError(f"n must be at least one frame per class ({len(class_names)}), got {n}")
    env = make_env(env_id, env_kwargs, render=image == "render", max_steps=max_steps, sb3=False)
    key = None if image == "render" else image_key(env.observation_space, image)
    quota = np.full(len(class_names), n // len(class_names))
    quota[: n % len(class_names)] += 1
    counts = np.zeros(len(class_names), dtype=int)
    frames: list[np.ndarray] = []
    labels: list[int] = []
    env.action_space.seed(seed)
    obs, _ = env.reset(seed=seed)
    try:
        for _ in range(STEPS_PER_FRAME * n):
            action = env.action_space.sample() if policy is None else policy(obs, env)
            obs, _, terminated, truncated, _ = env.step(action)
            value = label(env, obs)
            if value is not None:
                k = _class_index(value, class_names)
                if counts[k] < quota[k]:
                    shown = obs if key is None else obs[key]
                    frame = env.render() if image == "render" else shown
                    frames.append(np.array(frame, copy=True))
                    labels.append(k)
                    counts[k] += 1
                    if (counts >= quota).all():
                        break
            if terminated or truncated:
                obs, _ = env.reset()
        else:
            short = {c: f"{counts[k]}/{quota[k]}" for k, c in enumerate(class_names)}
            raise ValueError(
                f"{env_id}: some classes never showed often enough in {STEPS_PER_FRAME * n} "
                f"steps ({short}): give a policy that reaches them, or fewer frames"
            )
    finally:
        env.close()
    order = np.argsort(np.asarray(labels), kind="stable")
    return LabelledFrames(
        np.stack(frames)[order], np.asarray(labels, dtype=np.int64)[order], class_names
    )
