"""``render()`` frames for the vectorized reward wrappers.

SB3's vector envs reset a finished env inside ``step``: by the time anyone could call
``render()``, the env shows its next episode's first frame, and the frame the episode ended on
is gone. :func:`with_render_frames` therefore puts each step's frame into the observation
(Gymnasium's ``AddRenderObservation``), where SB3 keeps it, terminal observations included;
the SB3 reward wrappers read the frames there, score a whole batch in one classifier call, and
hand the agent the observations without them (:func:`split_frames`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces

#: The observation key of the frames :func:`with_render_frames` adds.
FRAME_KEY = "flatnet_frame"
#: The key of the env's own observation when it is not a Dict.
STATE_KEY = "flatnet_state"


def with_render_frames(env: gym.Env) -> gym.Env:
    """``env`` with its ``render()`` frame in every observation (``render_mode="rgb_array"``).

    For ``FlatnetRewardVecEnv`` / ``RolloutRewardVecEnv`` with ``image="render"``, e.g.
    ``make_vec_env(ID, n, env_kwargs={"render_mode": "rgb_array"},
    wrapper_class=with_render_frames)``.
    """
    if env.render_mode != "rgb_array":
        raise ValueError(
            f"frames from render() need render_mode='rgb_array', got {env.render_mode!r}"
        )
    return gym.wrappers.AddRenderObservation(
        env, render_only=False, render_key=FRAME_KEY, obs_key=STATE_KEY
    )


def has_frames(space: spaces.Space) -> bool:
    return isinstance(space, spaces.Dict) and FRAME_KEY in space.spaces


def without_frames(space: spaces.Dict) -> spaces.Space:
    """The observation space the agent sees: the env's own."""
    if STATE_KEY in space.spaces:
        return space[STATE_KEY]
    return spaces.Dict({k: v for k, v in space.spaces.items() if k != FRAME_KEY})


def split_frames(obs: dict[str, Any]) -> tuple[Any, Any]:
    """(frames, the env's own observation) of a (batched) observation with frames."""
    if STATE_KEY in obs:
        return obs[FRAME_KEY], obs[STATE_KEY]
    return obs[FRAME_KEY], {k: v for k, v in obs.items() if k != FRAME_KEY}
