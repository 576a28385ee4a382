"""Images inside Gymnasium environments: where they are and what range their values span.

The reward wrappers read an env's images through these functions, and the trainer collects
random-policy frames with them (``--outliers-from-env``): the first images an RL agent will
show a reward model. One place decides which observation entry is the image and which value
range it declares (from the space's bounds, never from the data).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from flatnet_rl.data.env_ids import make_env
from flatnet_rl.data.images import ValueRange

#: Dict observation keys taken as the image, in order, with ``image="auto"``.
IMAGE_KEYS = ("canvas", "image", "pixels", "rgb")
#: Keys that declare pixels: ``"image"`` does not (MiniGrid's is a grid of object codes).
PIXEL_KEYS = ("canvas", "pixels", "rgb")
#: ``uint8`` 0..255 arrays whose values all stay below this are codes, not pixels.
SYMBOLIC_MAX = 32


class SymbolicImageError(ValueError):
    """An array taken as the image by ``image="auto"`` holds codes, not pixels."""


def needs_pixel_check(space: spaces.Space, image: str, key: str | None) -> bool:
    """Whether ``image="auto"`` picked an array that does not declare pixels: a ``uint8``
    0..255 Box that is the observation itself or its ``"image"`` entry."""
    if image != "auto" or (key is not None and key in PIXEL_KEYS):
        return False
    box = space if key is None else space[key]
    return box.dtype == np.uint8 and float(np.max(box.high)) == 255.0


def check_pixels(images: Any, where: str) -> bool:
    """Whether ``images`` (uint8 0..255) look like pixels; ``False``: undecided (all zero).

    Raises:
        SymbolicImageError: every value is below :data:`SYMBOLIC_MAX` (object codes, such as
            MiniGrid's 7x7x3 ``obs["image"]``): never scored silently.
    """
    top = int(np.max(np.asarray(images)))
    if top == 0:
        return False
    if top < SYMBOLIC_MAX:
        values = np.unique(np.asarray(images))
        raise SymbolicImageError(
            f"{where} holds values {values.min()}..{values.max()} ({len(values)} distinct) in "
            "a 0..255 space: codes, not pixels, so image='auto' will not score it. Pass "
            "image='render' (on the command line: --image render; train-classifier: "
            "--env-image render) to use the env's render() frames, or name the key to use "
            "it anyway"
        )
    return True


def is_image_box(space: spaces.Space) -> bool:
    """A Box of rank 2 (grey) or 3 (with a channel axis of 1, 3 or 4, first or last)."""
    if not isinstance(space, spaces.Box):
        return False
    shape = space.shape
    return len(shape) == 2 or (
        len(shape) == 3 and (shape[-1] in (1, 3, 4) or shape[0] in (1, 3, 4))
    )


def image_key(space: spaces.Space, image: str = "auto") -> str | None:
    """The Dict key holding the image (``None``: the observation itself is the image).

    ``image``: ``"auto"`` (a Dict's first key among :data:`IMAGE_KEYS` holding an image Box,
    else the observation if it is an image Box), ``"obs"`` (the whole observation) or a key.
    ``"render"`` is the caller's business (frames from ``env.render()``).

    Raises:
        ValueError: no image where asked.
    """
    is_dict = isinstance(space, spaces.Dict)
    if image == "obs":
        if not is_image_box(space):
            raise ValueError(f"image='obs' needs an image Box observation, got {space}")
        return None
    if image == "auto":
        if is_dict:
            for key in IMAGE_KEYS:
                if key in space.spaces and is_image_box(space[key]):
                    return key
        elif is_image_box(space):
            return None
        raise ValueError(
            f"cannot find an image in observation space {space}: pass image=<Dict key>, "
            "image='obs' or image='render'"
        )
    if not is_dict or image not in space.spaces:
        raise ValueError(f"image={image!r} is not a key of observation space {space}")
    if not is_image_box(space[image]):
        raise ValueError(f"observation[{image!r}] is {space[image]}, not an image Box")
    return image


def space_value_range(space: spaces.Box) -> ValueRange:
    """The value range a Box declares: its bounds (all finite and equal across pixels).

    ``uint8`` boxes with the default 0..255 and the paint env's 0..1 both work; a float box
    with infinite bounds is an error (pass ``value_range=`` to the wrapper instead).
    """
    low, high = np.unique(space.low), np.unique(space.high)
    if len(low) != 1 or len(high) != 1 or not (np.isfinite(low[0]) and np.isfinite(high[0])):
        raise ValueError(
            f"the observation space {space} does not declare one finite value range; pass "
            "value_range=(low, high) to say what its image values span"
        )
    if not low[0] < high[0]:
        raise ValueError(f"the observation space {space} has an empty value range")
    return float(low[0]), float(high[0])


def render_value_range() -> ValueRange:
    """``render_mode="rgb_array"`` frames are ``uint8`` 0..255 by Gymnasium's convention."""
    return (0.0, 255.0)


def collect_frames(
    env_id: str,
    n: int,
    *,
    seed: int,
    image: str = "auto",
    env_kwargs: dict[str, Any] | None = None,
) -> tuple[np.ndarray, ValueRange]:
    """``n`` images from random-policy episodes of ``env_id`` (seeded), and their range.

    ``image="render"`` reads ``env.render()`` frames (``render_mode="rgb_array"``).

    Raises:
        ValueError: unknown env id, or no image in its observations.
        SymbolicImageError: ``image="auto"`` found codes, not pixels.
    """
    env = make_env(env_id, env_kwargs, render=image == "render", sb3=False)
    key = None if image == "render" else image_key(env.observation_space, image)
    check = image != "render" and needs_pixel_check(env.observation_space, image, key)
    box = env.observation_space if key is None else env.observation_space[key]
    value_range = render_value_range() if image == "render" else space_value_range(box)
    env.action_space.seed(seed)
    frames = []
    obs, _ = env.reset(seed=seed)
    while len(frames) < n:
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        frame = env.render() if image == "render" else (obs if key is None else obs[key])
        frames.append(np.asarray(frame))
        if terminated or truncated:
            obs, _ = env.reset()
    env.close()
    frames_array = np.stack(frames)
    if check:
        check_pixels(frames_array, f"the observation{'' if key is None else f'[{key!r}]'}")
    return frames_array, value_range
