"""The one place where flatnet-rl's environments are registered with Gymnasium.

``import flatnet_rl`` calls :func:`register_envs` (idempotent), and
``gymnasium.make("flatnet_rl:FlatnetPaint-v0")`` imports ``flatnet_rl`` by itself.

* ``FlatnetPaint-v0``: :class:`~flatnet_rl.envs.paint.PaintEnv` wrapped in
  :class:`~flatnet_rl.reward.FlatnetReward` with the shipped ``flatnet`` classifier.
* ``FlatnetPaintBare-v0``: the bare painting env (reward 0), for your own reward.
* ``FlatnetShapes-v0``: coloured shapes on a grid, RGB frames, reward 0 (not digits: for a
  classifier trained on your own pictures).

The two paint envs have a native vector entry point: ``gymnasium.make_vec(id, num_envs=N)``
steps all N canvases in one numpy operation (:mod:`~flatnet_rl.envs.paint_vector`) and, for
``FlatnetPaint-v0``, scores them in one classifier call (``FlatnetRewardVector``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym

if TYPE_CHECKING:  # imported where used: registering at ``import flatnet_rl`` needs no torch
    from flatnet_rl.classifier import Classifier
    from flatnet_rl.reward.vector import FlatnetRewardVector
    from flatnet_rl.reward.wrappers import FlatnetReward

PAINT_ID = "FlatnetPaint-v0"
BARE_ID = "FlatnetPaintBare-v0"
SHAPES_ID = "FlatnetShapes-v0"


def _shipped_sizes() -> list[int]:
    from flatnet_rl.shipped import zoo_manifest

    sizes = {
        int(entry.get("canvas", 8))
        for name, entry in zoo_manifest().items()
        if name.split("-")[0] == "flatnet"
    }
    return sorted(sizes)


def make_flatnet_paint(
    classifier: Classifier | str | None = None,
    reward_mode: str = "delta",
    canvas_size: int | None = None,
    action_mode: str = "pixel",
    target: int | None = None,
    start: str | dict[str, float] = "blank",
    max_steps: int | None = None,
    env_reward_weight: float = 0.0,
    device: str = "auto",
    **env_kwargs: Any,
) -> FlatnetReward:
    """Build ``FlatnetPaint-v0``: a painting env whose reward is the classifier's.

    Args:
        classifier: a zoo name (``"flatnet"``, ``"baseline"``, ``"flatnet-28"``, ...), a
            checkpoint path or a :class:`Classifier` (e.g. :meth:`Classifier.from_module`)
            with 10 classes (digit k is class k) taking grey square images: the 0/1 canvas
            becomes 0/1 floats (then thresholded or normalized as the classifier declares).
            Default: the shipped ``flatnet`` model for ``canvas_size`` (8 if not given;
            ``flatnet-28`` at 28, ...). Its canvas size is the env's unless ``canvas_size``
            is given, which must then match.
        reward_mode: ``prob``, ``log_prob``, ``pmi``, ``delta`` (default), ``delta_log``,
            ``final``, ``entropy``.
        canvas_size, action_mode, target, start, max_steps, **env_kwargs: passed to
            :class:`PaintEnv` (``render_mode``, ``noise_density``, ``pixel_op``, ...).
    """
    from flatnet_rl.envs.paint import PaintEnv
    from flatnet_rl.reward.wrappers import FlatnetReward

    clf, canvas_size = _paint_classifier(classifier, canvas_size, device)
    env = PaintEnv(
        canvas_size=canvas_size,
        action_mode=action_mode,
        target=target,
        start=start,
        max_steps=max_steps,
        **env_kwargs,
    )
    return FlatnetReward(
        env,
        clf,
        target="obs",
        mode=reward_mode,
        env_reward_weight=env_reward_weight,
        device=device,
    )


def _paint_classifier(classifier: Classifier | str | None, canvas_size: int | None, device: str):
    """The reward classifier of the paint env and its canvas size (checked to agree)."""
    from flatnet_rl.classifier import load_classifier
    from flatnet_rl.data import NUM_CLASSES
    from flatnet_rl.envs.paint import check_canvas_size
    from flatnet_rl.shipped import zoo_manifest, zoo_name

    # The env's own size check first: a size it cannot paint (3, 200, 'x', True) must not
    # read as a missing model, nor be offered to the trainer as a size worth training for.
    if canvas_size is not None:
        canvas_size = check_canvas_size(canvas_size)
    if classifier is None:
        name = zoo_name("flatnet", 8 if canvas_size is None else canvas_size)
        if name not in zoo_manifest():
            # Every size the env paints (MIN_CANVAS..MAX_CANVAS) is one the trainer accepts
            # (MIN_SIDE..MAX_SIDE), so the suggested command runs.
            raise ValueError(
                f"no shipped flatnet model for canvas_size={canvas_size} (shipped: "
                f"{_shipped_sizes()}): pass classifier= a model trained for it, e.g. with "
                f"`flatnet-rl train-classifier --source mnist5k --canvas {canvas_size} ...`"
            )
        classifier = name
    clf = load_classifier(classifier, device=device)
    # A model that draws canvases for itself (CLIP: canvas_ink) reads any canvas size.
    draws_canvases = clf.input_spec.canvas_ink is not None
    # The canvas is one grey 0/1 channel, declared as such: any grey square model reads it.
    if not draws_canvases and (clf.input_spec.channels != 1 or clf.input_spec.square_side is None):
        raise ValueError(
            f"FlatnetPaint-v0 paints grey square canvases; classifier {clf.name!r} takes "
            f"{clf.input_spec.size} images with {clf.input_spec.channels} channel(s)"
        )
    # The env's targets are the digits 0..9: refused here, not at the first reset.
    if clf.num_classes != NUM_CLASSES:
        raise ValueError(
            f"FlatnetPaint-v0 asks for digits 0..{NUM_CLASSES - 1}; classifier {clf.name!r} "
            f"has {clf.num_classes} classes {list(clf.class_names)}: wrap your own env with "
            "FlatnetReward for other classes"
        )
    if draws_canvases:
        return clf, 8 if canvas_size is None else canvas_size
    if canvas_size is not None and canvas_size != clf.canvas_size:
        raise ValueError(
            f"canvas_size={canvas_size} but classifier {clf.name!r} scores "
            f"{clf.canvas_size}x{clf.canvas_size} canvases: pass classifier= one trained for "
            f"{canvas_size}x{canvas_size} (shipped flatnet sizes: {_shipped_sizes()})"
        )
    return clf, clf.canvas_size


def make_flatnet_paint_vector(
    num_envs: int = 1,
    classifier: Classifier | str | None = None,
    reward_mode: str = "delta",
    canvas_size: int | None = None,
    env_reward_weight: float = 0.0,
    device: str = "auto",
    **env_kwargs: Any,
) -> FlatnetRewardVector:
    """``gymnasium.make_vec("FlatnetPaint-v0", num_envs=N)``: N natively vectorized paint
    envs scored in one classifier call per step (arguments as :func:`make_flatnet_paint`)."""
    from flatnet_rl.envs.paint_vector import make_paint_vector_env
    from flatnet_rl.reward.vector import FlatnetRewardVector

    clf, canvas_size = _paint_classifier(classifier, canvas_size, device)
    envs = make_paint_vector_env(num_envs=num_envs, canvas_size=canvas_size, **env_kwargs)
    return FlatnetRewardVector(
        envs,
        clf,
        target="obs",
        mode=reward_mode,
        env_reward_weight=env_reward_weight,
        device=device,
    )


def register_envs() -> None:
    """Register the envs once; calling again is a no-op."""
    if PAINT_ID not in gym.registry:
        gym.register(
            id=PAINT_ID,
            entry_point="flatnet_rl.envs.registration:make_flatnet_paint",
            vector_entry_point="flatnet_rl.envs.registration:make_flatnet_paint_vector",
            disable_env_checker=False,
        )
    if SHAPES_ID not in gym.registry:
        gym.register(id=SHAPES_ID, entry_point="flatnet_rl.envs.shapes:ShapesEnv")
    if BARE_ID not in gym.registry:
        gym.register(
            id=BARE_ID,
            entry_point="flatnet_rl.envs.paint:PaintEnv",
            vector_entry_point="flatnet_rl.envs.paint_vector:make_paint_vector_env",
        )
