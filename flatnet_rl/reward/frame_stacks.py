"""Frame stacks (SB3's ``VecFrameStack``, Gymnasium's ``FrameStackObservation``) found in an
env stack, so that the reward reads the newest frame, not four frames as false colour."""

from __future__ import annotations

import dataclasses
from typing import Any

from gymnasium import spaces


@dataclasses.dataclass(frozen=True)
class FrameStack:
    """Frames stacked in each observation, the newest last.

    ``axis``: the axis of one observation the frames are stacked along; ``size``: its
    entries per frame (SB3's ``VecFrameStack`` joins frames along the channel axis, so a
    frame has ``size`` channels); ``new_axis``: the frames form a new axis instead
    (Gymnasium's ``FrameStackObservation``).
    """

    axis: int
    size: int
    new_axis: bool

    def last(self, images: Any, batched: bool) -> Any:
        """The newest frame of one observation or of a batch (a view: no copy)."""
        axis = self.axis + int(batched)
        index: list[Any] = [slice(None)] * axis
        if self.new_axis:
            return images[(*index, -1)]
        return images[(*index, slice(images.shape[axis] - self.size, None))]

    def frame_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.new_axis:
            return shape[: self.axis] + shape[self.axis + 1 :]
        return shape[: self.axis] + (self.size,) + shape[self.axis + 1 :]


def find_frame_stack(env: Any, key: str | None) -> FrameStack | None:
    """The frame stack of the image entry ``key`` in an env or VecEnv stack, if any."""
    from gymnasium.wrappers import FrameStackObservation
    from stable_baselines3.common.vec_env import VecFrameStack

    seen = 0
    while env is not None and seen < 100:  # wrapper chains are short; never loop forever
        seen += 1
        if isinstance(env, VecFrameStack):
            stacked = env.stacked_obs
            inner = env.venv.observation_space
            if key is not None:
                stacked, inner = stacked.sub_stacked_observations[key], inner[key]
            axis = 0 if stacked.channels_first else len(inner.shape) - 1
            return FrameStack(axis, int(inner.shape[axis]), new_axis=False)
        if isinstance(env, FrameStackObservation):
            return FrameStack(0, 1, new_axis=True)  # a Dict: each entry stacked alike
        env = getattr(env, "venv", None) or getattr(env, "env", None)
    return None


def unstacked_space(space: spaces.Space, env: Any) -> spaces.Space:
    """The observation space with each stacked entry as one frame (for finding the image:
    6 stacked RGB channels, or 4 frames on a new axis, are not an image box themselves)."""
    if env is None:
        return space
    if isinstance(space, spaces.Box):
        stack = find_frame_stack(env, None)
        return space if stack is None else frame_box(space, stack)
    if isinstance(space, spaces.Dict):
        entries = {}
        for key, sub in space.spaces.items():
            stack = find_frame_stack(env, key) if isinstance(sub, spaces.Box) else None
            entries[key] = sub if stack is None else frame_box(sub, stack)
        return spaces.Dict(entries)
    return space


def frame_box(box: spaces.Box, stack: FrameStack) -> spaces.Box:
    index = [slice(None)] * len(box.shape)
    index[stack.axis] = -1 if stack.new_axis else slice(box.shape[stack.axis] - stack.size, None)
    low, high = box.low[tuple(index)], box.high[tuple(index)]
    return spaces.Box(low, high, low.shape, box.dtype)
