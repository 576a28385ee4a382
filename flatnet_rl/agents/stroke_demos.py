"""Stroke-mode drawings found by searching the reward model: the paint env's ``start="demo"``.

The flat reward is flat, by design, on the scribbles an untrained agent makes, so from a blank
canvas PPO sees little signal until it happens to draw most of a digit (at 8x8 and 28x28 the
stroke agents plateaued with some digits never drawn). A backward curriculum (Salimans & Chen
2018; Resnick et al. 2018, "Backplay") starts some episodes near the end of a good drawing and
moves back: here the drawings come from a beam search on the reward model itself (the best
sequence of stroke actions per digit from a blank canvas, as
``benchmarks/bench_stroke_reach.py`` uses to show what the action space can draw), and the env
starts an episode from a random prefix of it. Evaluation still starts blank: the policy has to
draw the whole digit on its own. The search sees only the reward model, so a reward that can
be fooled hands the agent its fooling drawings, as PPO would find them.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from flatnet_rl.agents.config import AgentConfig
from flatnet_rl.classifier import Classifier
from flatnet_rl.data import NUM_CLASSES
from flatnet_rl.envs.paint_config import PaintConfig, parse_start
from flatnet_rl.envs.paint_core import PaintBatch


def beam_search_strokes(
    config: PaintConfig, classifier: Classifier, target: int, beam: int = 4
) -> tuple[tuple[int, ...], float]:
    """The sequence of at most ``config.horizon`` stroke actions (no stop) from a blank canvas
    that ``classifier`` gives the highest p(target) in a beam search of width ``beam``, and
    that probability. Distinct (canvas, pen) states only: many sequences reach one picture."""
    if config.action_mode != "stroke":
        raise ValueError(f"a stroke search needs action_mode='stroke', got {config.action_mode!r}")
    n_moves = config.stop_action  # every action but stop
    batch = PaintBatch(1, config)
    blank = np.zeros((config.canvas_size,) * 2, np.uint8)
    batch.reset([0], seeds=[0], options=[{"target": target, "canvas": blank}])
    canvases, cursors = batch.canvas.copy(), batch.cursor.copy()
    sequences: list[tuple[int, ...]] = [()]
    best: tuple[tuple[int, ...], float] = ((), -1.0)
    for _ in range(config.horizon):
        k = len(canvases)
        expand = PaintBatch(k * n_moves, config)
        expand.canvas[...] = np.repeat(canvases, n_moves, axis=0)
        expand.cursor[...] = np.repeat(cursors, n_moves, axis=0)
        expand.needs_reset[...] = False
        actions = np.tile(np.arange(n_moves), k)
        expand.step(actions)
        p = classifier.predict_proba(expand.canvas.astype(bool), batched=True)[:, target]
        order = np.argsort(-p, kind="stable")
        seen: set[bytes] = set()
        keep: list[int] = []
        for i in order:
            key = expand.canvas[i].tobytes() + expand.cursor[i].tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(int(i))
            if len(keep) == beam:
                break
        sequences = [(*sequences[i // n_moves], int(actions[i])) for i in keep]
        canvases, cursors = expand.canvas[keep].copy(), expand.cursor[keep].copy()
        if p[keep[0]] > best[1]:
            best = (sequences[0], float(p[keep[0]]))
    return best


def search_stroke_demos(
    config: PaintConfig, classifier: Classifier, beam: int = 4, target: int | None = None
) -> tuple[tuple[tuple[int, ...], ...], list[float]]:
    """One drawing per digit (:func:`beam_search_strokes`), for ``stroke_demos``, and the
    reward model's p(class) of each. ``target``: the env's fixed digit (``AgentConfig.target``):
    only its drawing is searched, and stands for every digit (the env shows no other)."""
    if classifier.num_classes != NUM_CLASSES:
        raise ValueError(
            f"stroke demos are drawings of the {NUM_CLASSES} digits; the reward model has "
            f"{classifier.num_classes} classes (--warm-start none trains without them)"
        )
    if target is not None:
        seq, p = beam_search_strokes(config, classifier, target, beam)
        return (seq,) * NUM_CLASSES, [p] * NUM_CLASSES
    found = [beam_search_strokes(config, classifier, k, beam) for k in range(NUM_CLASSES)]
    return tuple(seq for seq, _ in found), [p for _, p in found]


def with_stroke_demos(
    config: AgentConfig, classifier: Classifier, canvas: int, progress: bool = True
) -> AgentConfig:
    """``config`` with ``env_kwargs["stroke_demos"]`` searched on ``classifier`` when its
    starts replay demos or its warm start clones them, and it brings none (the run's
    ``config.json`` then records them)."""
    if not config.is_paint or "stroke_demos" in config.env_kwargs:
        return config
    if "demo" not in parse_start(config.start)[0] and config.warm_start != "demos":
        return config
    started = time.perf_counter()
    paint = config.paint_config(canvas)
    demos, probs = search_stroke_demos(paint, classifier, target=config.target)
    if progress:
        print(
            f"demo drawings: beam search on {classifier.name!r}, "
            f"p(digit) {min(probs):.3f}-{max(probs):.3f}, {time.perf_counter() - started:.0f} s"
        )
    return dataclasses.replace(config, env_kwargs={**config.env_kwargs, "stroke_demos": demos})
