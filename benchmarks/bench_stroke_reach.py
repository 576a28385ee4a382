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
from flatnet_rl.agents.stroke_demos import beam_search_strokes
from flatnet_rl.envs.paint_config import PaintConfig, stroke_defaults
from flatnet_rl.envs.paint_starts import demo_states
from flatnet_rl.shipped import zoo_name

#: (anchors per side, brush, steps, curves) per canvas size.
SETTINGS: dict[int, list[tuple[int, int, int, bool]]] = {
    8: [(4, 1, 8, False), (5, 1, 8, False), (8, 1, 8, False), (5, 1, 8, True)],
    14: [(5, 1, 10, False), (7, 1, 10, False), (7, 2, 10, False), (7, 1, 10, True)],
    28: [(5, 2, 12, False), (7, 2, 12, False), (7, 3, 12, False), (7, 1, 12, False)]
    + [(7, 2, 12, True)],
}


def best_canvas(config: PaintConfig, scorer, target: int, beam: int) -> np.ndarray:
    """The canvas of the best stroke sequence a beam search on ``scorer`` finds for ``target``
    (the search ``start="demo"`` uses), replayed by the env's own dynamics."""
    actions, _ = beam_search_strokes(config, scorer, target, beam)
    states = demo_states(config.canvas_size, config.grid, config.brush, actions)
    return states[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 14, 28])
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--out", default="runs/bench/stroke_reach")
    args = parser.parse_args()
    torch.manual_seed(0)
    rows = [
        "| canvas | anchors | brush | steps | curves | reward p_target (mean / worst) "
        "| judges p_target (mean / worst) | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in args.sizes:
        proxy = load_classifier(zoo_name("flatnet", size))
        judges = [load_classifier(name) for name in judge_panel(size)]
        for grid, brush, steps, curves in SETTINGS.get(size, [(*stroke_defaults(size), False)]):
            config = PaintConfig(
                canvas_size=size,
                action_mode="stroke",
                stroke_grid=grid,
                stroke_width=brush,
                max_steps=steps,
                stroke_curves=curves,
            )
            start = time.perf_counter()
            canvases = np.stack([best_canvas(config, proxy, d, args.beam) for d in range(10)])
            seconds = time.perf_counter() - start
            digits = np.arange(10)
            reward = proxy.predict_proba(canvases.astype(bool))[digits, digits]
            judged = np.mean(
                [j.predict_proba(canvases.astype(bool))[digits, digits] for j in judges], axis=0
            )
            rows.append(
                f"| {size} | {grid}x{grid} | {brush} | {steps} | {'yes' if curves else 'no'} | "
                f"{reward.mean():.3f} / "
                f"{reward.min():.3f} | {judged.mean():.3f} / {judged.min():.3f} | {seconds:.0f} |"
            )
            print(rows[-1], flush=True)
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            tag = f"{size}_{grid}_{brush}_{steps}" + ("_curves" if curves else "")
            np.save(out / f"canvases_{tag}.npy", canvases)
    text = "\n".join(rows)
    print(text)
    (Path(args.out) / "reach.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
