"""Can the stroke action space draw every digit? A beam search per setting and digit.

For each canvas size and stroke setting (anchors per side, brush width, steps), a beam search
from a blank canvas (the pen at the centre) looks for the action sequence that the shipped flat
reward model scores highest for each digit, then the judge panel (independent classifiers)
scores the canvas found. A setting whose best sequences the judges read as the target on every
digit can express the task; the defaults in ``flatnet_rl/envs/paint_config.py`` come from this
table (the smallest action space that reaches it, brush as wide as the models' strokes).

    python benchmarks/bench_stroke_reach.py                # 8, 14 and 28, a few settings each
    python benchmarks/bench_stroke_reach.py --sizes 28 --beam 8
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from flatnet_rl import load_classifier
from flatnet_rl.agents.config import judge_panel
from flatnet_rl.classifier import zoo_name
from flatnet_rl.envs.paint_config import PaintConfig, stroke_defaults
from flatnet_rl.envs.paint_core import PaintBatch

SETTINGS: dict[int, list[tuple[int, int, int]]] = {
    8: [(4, 1, 8), (5, 1, 8), (8, 1, 8)],
    14: [(5, 1, 10), (7, 1, 10), (7, 2, 10)],
    28: [(5, 2, 12), (7, 2, 12), (7, 3, 12), (7, 1, 12)],
}


def beam_search(config: PaintConfig, scorer, target: int, beam: int) -> np.ndarray:
    """The canvas of the best sequence of ``config.horizon`` stroke actions (no stop) found
    by a beam search on ``scorer``'s p(target)."""
    n_moves = config.stop_action  # every action but stop
    batch = PaintBatch(1, config)
    batch.reset(
        [0], seeds=[0], options=[{"target": target, "canvas": np.zeros_like(batch.canvas[0])}]
    )
    canvases, cursors = batch.canvas.copy(), batch.cursor.copy()
    best_canvas, best_p = canvases[0], -1.0
    for _ in range(config.horizon):
        k = len(canvases)
        expand = PaintBatch(k * n_moves, config)
        expand.canvas[...] = np.repeat(canvases, n_moves, axis=0)
        expand.cursor[...] = np.repeat(cursors, n_moves, axis=0)
        expand.needs_reset[...] = False
        expand.step(np.tile(np.arange(n_moves), k))
        p = scorer.predict_proba(expand.canvas.astype(bool))[:, target]
        # Distinct canvases only: many sequences reach the same picture.
        order = np.argsort(-p)
        seen, keep = set(), []
        for i in order:
            key = expand.canvas[i].tobytes() + expand.cursor[i].tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(i)
            if len(keep) == beam:
                break
        canvases, cursors = expand.canvas[keep].copy(), expand.cursor[keep].copy()
        if p[keep[0]] > best_p:
            best_p, best_canvas = float(p[keep[0]]), expand.canvas[keep[0]].copy()
    return best_canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 14, 28])
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--out", default="runs/bench/stroke_reach")
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = [
        "| canvas | anchors | brush | steps | reward p_target (mean / worst) "
        "| judges p_target (mean / worst) | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in args.sizes:
        proxy = load_classifier(zoo_name("flatnet", size))
        judges = [load_classifier(name) for name in judge_panel(size)]
        for grid, brush, steps in SETTINGS.get(size, [stroke_defaults(size)]):
            config = PaintConfig(
                canvas_size=size,
                action_mode="stroke",
                stroke_grid=grid,
                stroke_width=brush,
                max_steps=steps,
            )
            start = time.perf_counter()
            canvases = np.stack([beam_search(config, proxy, d, args.beam) for d in range(10)])
            seconds = time.perf_counter() - start
            digits = np.arange(10)
            reward = proxy.predict_proba(canvases.astype(bool))[digits, digits]
            judged = np.mean(
                [j.predict_proba(canvases.astype(bool))[digits, digits] for j in judges], axis=0
            )
            rows.append(
                f"| {size} | {grid}x{grid} | {brush} | {steps} | {reward.mean():.3f} / "
                f"{reward.min():.3f} | {judged.mean():.3f} / {judged.min():.3f} | {seconds:.0f} |"
            )
            print(rows[-1], flush=True)
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            np.save(out / f"canvases_{size}_{grid}_{brush}_{steps}.npy", canvases)
    text = "\n".join(rows)
    print(text)
    (Path(args.out) / "reach.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
