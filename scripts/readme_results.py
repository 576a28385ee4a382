"""Paste result tables and figures into the README from the runs that made them.

    python scripts/readme_results.py            # update README.md and docs/ from runs/
    python scripts/readme_results.py --check    # exit 1 if a block lacks its command

Every results block of the README is delimited by

    <!-- results NAME: COMMAND -->
    ...generated table...
    <!-- /results NAME -->

and :data:`RESULTS` says which file each block comes from; COMMAND is the command that
wrote that file (so a reader can rerun it). Figures listed in :data:`FIGURES` are copied
from the run folders into ``docs/``. Blocks whose source file does not exist are left as
they are (and reported), so a partial rerun updates what it made.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"

#: block name -> (command that writes it, file holding the generated markdown)
RESULTS: dict[str, tuple[str, str]] = {
    "compare-8": ("flatnet-rl compare --out runs/compare", "runs/compare/table.md"),
    "compare-8-seeds": (
        "flatnet-rl compare --seeds 3 --out runs/compare_seeds",
        "runs/compare_seeds/table.md",
    ),
    "compare-8-families": ("flatnet-rl compare --out runs/compare", "runs/compare/families.md"),
    "compare-28": (
        "flatnet-rl compare --source mnist5k --canvas 28 --out runs/compare28",
        "runs/compare28/table.md",
    ),
    "compare-28-families": (
        "flatnet-rl compare --source mnist5k --canvas 28 --out runs/compare28",
        "runs/compare28/families.md",
    ),
    "zoo": ("python scripts/zoo_table.py > runs/zoo.md", "runs/zoo.md"),
    "agents-pixel": (
        "flatnet-rl compare-agents --out runs/agents_pixel",
        "runs/agents_pixel/table.md",
    ),
    "agents-pixel-seeds": (
        "flatnet-rl compare-agents --out runs/agents_pixel",
        "runs/agents_pixel/seeds.md",
    ),
    "agents-pen": (
        "flatnet-rl compare-agents flatnet baseline ensemble:baseline*5 --action-mode pen "
        "--seeds 5 --out runs/agents_pen",
        "runs/agents_pen/table.md",
    ),
    "agents-pen-seeds": (
        "flatnet-rl compare-agents flatnet baseline ensemble:baseline*5 --action-mode pen "
        "--seeds 5 --out runs/agents_pen",
        "runs/agents_pen/seeds.md",
    ),
    "agents-pen-14": (
        "flatnet-rl compare-agents flatnet-14 baseline-14 --action-mode pen --seeds 3 "
        "--timesteps 2000000 --out runs/agents_pen14",
        "runs/agents_pen14/table.md",
    ),
    "agents-pen-14-seeds": (
        "flatnet-rl compare-agents flatnet-14 baseline-14 --action-mode pen --seeds 3 "
        "--timesteps 2000000 --out runs/agents_pen14",
        "runs/agents_pen14/seeds.md",
    ),
    "agents-stroke28": (
        "flatnet-rl compare-agents flatnet-28 baseline-28 ensemble:baseline-28*5 "
        "--action-mode stroke --seeds 5 --out runs/agents_stroke28",
        "runs/agents_stroke28/table.md",
    ),
    "agents-stroke28-seeds": (
        "flatnet-rl compare-agents flatnet-28 baseline-28 ensemble:baseline-28*5 "
        "--action-mode stroke --seeds 5 --out runs/agents_stroke28",
        "runs/agents_stroke28/seeds.md",
    ),
    "stroke-reach": (
        "python benchmarks/bench_stroke_reach.py --out runs/bench/stroke_reach",
        "runs/bench/stroke_reach/reach.md",
    ),
    "painter-stroke": (
        "python benchmarks/bench_time_to_painter.py --modes stroke --out runs/bench/painter_stroke",
        "runs/bench/painter_stroke/painter.md",
    ),
    "stroke-ppo": (
        "python benchmarks/bench_stroke_ppo.py --out runs/bench/stroke_ppo.md",
        "runs/bench/stroke_ppo.md",
    ),
    "painter-stroke-28": (
        "python benchmarks/bench_time_to_painter.py --modes stroke-28 "
        "--out runs/bench/painter_stroke28",
        "runs/bench/painter_stroke28/painter.md",
    ),
    "painter-stroke-14": (
        "python benchmarks/bench_time_to_painter.py --modes stroke-14 "
        "--out runs/bench/painter_stroke14",
        "runs/bench/painter_stroke14/painter.md",
    ),
    "agents-stroke-28": (
        "python benchmarks/bench_time_to_painter.py --modes stroke-28 "
        "--out runs/bench/painter_stroke28",
        "runs/bench/painter_stroke28/stroke-28/seed0/eval.md",
    ),
    "painter": (
        "python benchmarks/bench_time_to_painter.py --out runs/bench/painter",
        "runs/bench/painter/painter.md",
    ),
    "shapes": ("python examples/shapes_end_to_end.py --full", "runs/shapes/table.md"),
    "clip": ("python examples/clip_reward.py --full --out runs/clip", "runs/clip/table.md"),
    "recipe-minigrid": (
        "python examples/env_recipes.py --family minigrid --full",
        "runs/recipe_minigrid/table.md",
    ),
    "recipe-minigrid-compare": (
        "python examples/env_recipes.py --family minigrid --full",
        "runs/recipe_minigrid/compare/table.md",
    ),
    "recipe-ale": (
        "python examples/env_recipes.py --family ale --full",
        "runs/recipe_ale/table.md",
    ),
    "recipe-ale-compare": (
        "python examples/env_recipes.py --family ale --full",
        "runs/recipe_ale/compare/table.md",
    ),
    "recipe-classic-compare": (
        "python examples/env_recipes.py --family classic --full",
        "runs/recipe_classic/compare/table.md",
    ),
    "recipe-classic": (
        "python examples/env_recipes.py --family classic --full",
        "runs/recipe_classic/table.md",
    ),
    "bench-data": (
        "python benchmarks/bench_data.py --out runs/bench/data",
        "runs/bench/data/data.md",
    ),
    "bench-reward": (
        "python benchmarks/bench_reward.py --out runs/bench/reward.md",
        "runs/bench/reward.md",
    ),
    "bench-scaling": (
        "python benchmarks/bench_scaling.py --out runs/bench/scaling.md",
        "runs/bench/scaling.md",
    ),
    "bench-threads": (
        "python benchmarks/bench_threads.py --modes pixel pen stroke --out runs/bench/threads",
        "runs/bench/threads/threads.md",
    ),
}
#: figure in docs/ -> the run file it is copied from
FIGURES: dict[str, str] = {
    "docs/final_canvases_stroke28_flatnet.png": (
        "runs/bench/painter_stroke28/stroke-28/seed0/final_canvases.png"
    ),
    "docs/stroke28_episodes.mp4": "runs/bench/painter_stroke28/stroke-28/seed0/episodes.mp4",
    "docs/painter_stroke14.png": "runs/bench/painter_stroke14/painter.png",
    "docs/overoptimization_minigrid.png": "runs/recipe_minigrid/agents/overoptimization.png",
    "docs/overoptimization_pong.png": "runs/recipe_ale/agents/overoptimization.png",
    "docs/overoptimization_cartpole.png": "runs/recipe_classic/agents/overoptimization.png",
    "docs/painter_stroke.png": "runs/bench/painter_stroke/painter.png",
    "docs/painter_stroke28.png": "runs/bench/painter_stroke28/painter.png",
    "docs/morph_flatnet.png": "runs/compare/morph_flatnet.png",
    "docs/morph_baseline.png": "runs/compare/morph_baseline.png",
    "docs/false_positive_bars.png": "runs/compare/false_positive_bars.png",
    "docs/morph_flatnet-28.png": "runs/compare28/morph_flatnet-28.png",
    "docs/false_positive_bars_28.png": "runs/compare28/false_positive_bars.png",
    "docs/overoptimization_pixel.png": "runs/agents_pixel/overoptimization.png",
    "docs/iqm_pixel.png": "runs/agents_pixel/iqm.png",
    "docs/final_canvases_pixel_flatnet.png": (
        "runs/agents_pixel/runs/flatnet/seed0/final_canvases.png"
    ),
    "docs/final_canvases_pixel_baseline.png": (
        "runs/agents_pixel/runs/baseline/seed0/final_canvases.png"
    ),
    "docs/overoptimization_pen.png": "runs/agents_pen/overoptimization.png",
    "docs/final_canvases_pen_flatnet.png": "runs/agents_pen/runs/flatnet/seed0/final_canvases.png",
    "docs/final_canvases_pen_baseline.png": (
        "runs/agents_pen/runs/baseline/seed0/final_canvases.png"
    ),
    "docs/final_canvases_pen14_flatnet.png": (
        "runs/agents_pen14/runs/flatnet-14/seed0/final_canvases.png"
    ),
    "docs/overoptimization_stroke28.png": "runs/agents_stroke28/overoptimization.png",
    "docs/final_canvases_stroke28_baseline.png": (
        "runs/agents_stroke28/runs/baseline-28/seed0/final_canvases.png"
    ),
    "docs/stroke28_baseline_episodes.mp4": (
        "runs/agents_stroke28/runs/baseline-28/seed0/episodes.mp4"
    ),
    "docs/painter.png": "runs/bench/painter/painter.png",
    "docs/shapes_final_frames.png": "runs/shapes/final_frames.png",
    "docs/env_steps.png": "runs/bench/env_steps.png",
    "docs/scaling.png": "runs/bench/scaling.png",
}
BLOCK = re.compile(
    r"<!-- results (?P<name>[\w-]+): (?P<command>.*?) -->\n(?P<body>.*?)"
    r"<!-- /results (?P=name) -->",
    re.S,
)


def blocks(text: str) -> dict[str, tuple[str, str]]:
    """README block name -> (command, body)."""
    return {m["name"]: (m["command"], m["body"]) for m in BLOCK.finditer(text)}


def check(text: str) -> list[str]:
    """Problems: blocks without a registered source, or whose command differs."""
    problems = []
    found = blocks(text)
    for name, (command, _) in found.items():
        if name not in RESULTS:
            problems.append(f"block {name!r} has no entry in RESULTS")
        elif RESULTS[name][0] != command:
            problems.append(f"block {name!r} names {command!r}, RESULTS says {RESULTS[name][0]!r}")
    return problems


def update(text: str) -> tuple[str, list[str]]:
    """The README with every block whose source exists replaced; and what was skipped."""
    skipped = []

    def replace(match: re.Match) -> str:
        name = match["name"]
        command, source = RESULTS[name]
        path = ROOT / source
        if not path.is_file():
            skipped.append(f"{name}: {source} not found (run: {command})")
            return match[0]
        body = path.read_text().strip() + "\n"
        return f"<!-- results {name}: {command} -->\n{body}<!-- /results {name} -->"

    return BLOCK.sub(replace, text), skipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check the blocks")
    args = parser.parse_args()
    text = README.read_text()
    problems = check(text)
    if problems or args.check:
        print("\n".join(problems) or "README results blocks: ok")
        return 1 if problems else 0
    new, skipped = update(text)
    README.write_text(new)
    for figure, source in FIGURES.items():
        if (ROOT / source).is_file():
            shutil.copyfile(ROOT / source, ROOT / figure)
        else:
            skipped.append(f"{figure}: {source} not found")
    print("\n".join(f"skipped {s}" for s in skipped) or "all blocks and figures updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
