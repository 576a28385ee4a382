"""The one place where flatnet-rl's environments are registered with Gymnasium.

``import flatnet_rl`` calls :func:`register_envs` (idempotent), and
``gymnasium.make("flatnet_rl:FlatnetPaint-v0")`` imports ``flatnet_rl`` by itself.

* ``FlatnetPaint-v0``: :class:`~flatnet_rl.envs.paint.PaintEnv` wrapped in
  :class:`~flatnet_rl.reward.FlatnetReward` with the shipped ``flatnet`` classifier.
* ``FlatnetPaintBare-v0``: the bare painting env (reward 0), for your own reward.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from flatnet_rl.classifier import Classifier, load_classifier
from flatnet_rl.envs.paint import PaintEnv
from flatnet_rl.reward.wrappers import FlatnetReward

PAINT_ID = "FlatnetPaint-v0"
BARE_ID = "FlatnetPaintBare-v0"


def make_flatnet_paint(
    classifier: Classifier | str = "flatnet",
    reward_mode: str = "delta",
    canvas_size: int | None = None,
    action_mode: str = "pixel",
    target: int | None = None,
    start: str = "blank",
    max_steps: int | None = None,
    env_reward_weight: float = 0.0,
    device: str = "auto",
    **env_kwargs: Any,
) -> FlatnetReward:
    """Build ``FlatnetPaint-v0``: a painting env whose reward is the classifier's.

    Args:
        classifier: ``"flatnet"`` (default), ``"baseline"``, a checkpoint path or a
            :class:`Classifier`. Its canvas size is the env's unless ``canvas_size`` is given,
            which must then match.
        reward_mode: ``prob``, ``log_prob``, ``pmi``, ``delta`` (default), ``final``, ``entropy``.
        canvas_size, action_mode, target, start, max_steps, **env_kwargs: passed to
            :class:`PaintEnv` (``render_mode``, ``noise_density``, ``pixel_op``, ...).
    """
    clf = load_classifier(classifier, device=device)
    if canvas_size is None:
        canvas_size = clf.canvas_size
    elif canvas_size != clf.canvas_size:
        raise ValueError(
            f"canvas_size={canvas_size} but classifier {clf.name!r} scores "
            f"{clf.canvas_size}x{clf.canvas_size} canvases: train one for this size with "
            f"`flatnet-rl train-classifier --canvas {canvas_size} ...`"
        )
    env = PaintEnv(
        canvas_size=canvas_size,
        action_mode=action_mode,
        target=target,
        start=start,
        max_steps=max_steps,
        **env_kwargs,
    )
    return FlatnetReward(
        env, clf, target="obs", mode=reward_mode, env_reward_weight=env_reward_weight, device=device
    )


def register_envs() -> None:
    """Register the envs once; calling again is a no-op."""
    if PAINT_ID not in gym.registry:
        gym.register(
            id=PAINT_ID,
            entry_point="flatnet_rl.envs.registration:make_flatnet_paint",
            disable_env_checker=False,
        )
    if BARE_ID not in gym.registry:
        gym.register(id=BARE_ID, entry_point="flatnet_rl.envs.paint:PaintEnv")
