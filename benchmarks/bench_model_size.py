"""Could a cheaper reward model meet the PPO-overhead goal without losing accuracy?

    python benchmarks/bench_model_size.py [--seeds 3] [--ppo-steps 16384] [--plot PATH]

The default reward model (flatnet's CNN, ``arch="flatnet"``) costs 3 MFLOP per 8x8 canvas,
most of it in its second convolution and first dense layer. This study trains it and four
cheaper variants of it with the shipped recipes (``flatnet``: CE - 0.3 H(p) + 2,000 outliers;
``baseline``: plain CE), and reports side by side, in one run:

* test accuracy and mean max-probability on the held-out random canvases (mean over seeds;
  the issue goals are flatnet >= 96% accuracy and <= 0.20 max-probability, baseline >= 95%);
* FLOPs per canvas and the time of one classifier call on 8 canvases;
* the reward's overhead in the 8-env PPO run of ``bench_reward.py`` (goal <= 20%): the
  fastest of two runs per model against the faster constant-reward run (before and after).

The variants live here, not in ``flatnet_rl.models``: they are the study, not the product.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from bench_reward import ppo_seconds
from common import best_of, machine
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from flatnet_rl import models
from flatnet_rl.losses import Objective
from flatnet_rl.training import TrainConfig, train_classifier


class Variant(nn.Module):
    """flatnet's layers with fewer channels, a lighter head, or earlier downsampling."""

    conv2_channels = 64
    head: tuple[int, ...] = (256, 128)
    conv2_stride = 1
    pool_after_conv1 = False

    def __init__(self, canvas_size: int = 8, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, self.conv2_channels, 3, padding=1, stride=self.conv2_stride)
        widths = (self.conv2_channels * 16, *self.head)
        pairs = zip(widths, widths[1:], strict=False)
        self.dense = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        self.out = nn.Linear(widths[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Functional calls, as flatnet_rl.models does, so the timings compare like with like.
        x = F.relu(F.conv2d(x, self.conv1.weight, self.conv1.bias, padding=1))
        if self.pool_after_conv1:
            x = F.max_pool2d(x, 2)
        c2 = self.conv2
        x = F.conv2d(x, c2.weight, c2.bias, stride=self.conv2_stride, padding=1)
        x = F.relu(F.adaptive_max_pool2d(x, 4)).flatten(1)
        x = F.dropout(x, 0.25, self.training)
        for layer in self.dense:
            x = F.dropout(F.relu(F.linear(x, layer.weight, layer.bias)), 0.5, self.training)
        return F.linear(x, self.out.weight, self.out.bias)


VARIANTS: dict[str, dict] = {
    "conv2_32ch": {"conv2_channels": 32},
    "conv2_32ch_head128": {"conv2_channels": 32, "head": (128,)},
    "conv2_stride2": {"conv2_stride": 2},
    "pool_after_conv1": {"pool_after_conv1": True},
}
RECIPES = {
    "flatnet": {"objective": Objective("entropy", kappa=0.3), "outliers": 2000},
    "baseline": {"objective": Objective("ce"), "outliers": 0},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ppo-steps", type=int, default=16384)
    parser.add_argument("--plot", type=Path, default=None, help="write a PNG scatter here")
    args = parser.parse_args()
    if args.seeds < 1 or args.ppo_steps < 1:
        parser.error("--seeds and --ppo-steps must be >= 1")
    print(f"# reward model size study ({machine()})\n")

    # Registered for this process only, so TrainConfig(arch=...) can build them.
    for name, attrs in VARIANTS.items():
        models.ARCHITECTURES[name] = type(name, (Variant,), attrs)
    archs = ["flatnet", *VARIANTS]
    canvases = (np.random.default_rng(0).random((8, 8, 8)) < 0.3).astype(np.uint8)
    rows = []
    constant = [ppo_seconds(None, args.ppo_steps)]
    for arch in tqdm(archs, desc="architectures"):
        metrics: dict[str, list] = {}
        for recipe, settings in RECIPES.items():
            for seed in range(args.seeds):
                config = TrainConfig(arch=arch, seed=seed, device="cpu", **settings)
                result = train_classifier(config, progress=False)
                metrics.setdefault(recipe, []).append(result)
        clf = metrics["flatnet"][0].classifier
        with FlopCounterMode(display=False) as counter:
            clf.predict_proba(canvases[:1])
        call_ms = best_of(lambda c=clf: [c.predict_proba(canvases) for _ in range(200)]) / 0.2
        with_reward = min(ppo_seconds(clf, args.ppo_steps) for _ in range(2))  # less noise

        def mean(recipe: str, key: str, results: dict = metrics) -> float:
            return statistics.fmean(r.metrics[key] for r in results[recipe])

        rows.append(
            {
                "arch": arch,
                "mflops": counter.get_total_flops() / 1e6,
                "flatnet_acc": mean("flatnet", "test_accuracy"),
                "flatnet_msp": mean("flatnet", "random_mean_max_prob"),
                "baseline_acc": mean("baseline", "test_accuracy"),
                "call_ms": call_ms,
                "ppo_s": with_reward,
            }
        )
    constant.append(ppo_seconds(None, args.ppo_steps))
    control = min(constant)  # before and after, the least disturbed, as for each model

    print(
        f"\nmeans over {args.seeds} seeds; PPO: 8 envs, {args.ppo_steps} steps, constant reward "
        f"{constant[0]:.1f} s / {constant[1]:.1f} s (before / after)\n"
    )
    print(
        "| architecture | MFLOP/canvas | flatnet acc | flatnet random max-prob | baseline acc "
        "| call on 8 canvases | PPO wall s | reward overhead |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        r["overhead"] = r["ppo_s"] / control - 1
        print(
            f"| {r['arch']} | {r['mflops']:.2f} | {r['flatnet_acc']:.3f} | "
            f"{r['flatnet_msp']:.3f} | {r['baseline_acc']:.3f} | {r['call_ms']:.2f} ms | "
            f"{r['ppo_s']:.1f} | {r['overhead']:+.0%} |"
        )
    if args.plot:
        plot(rows, args.plot)
        print(f"\nplot: {args.plot}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in rows:
        ax.scatter(100 * r["overhead"], 100 * r["flatnet_acc"], s=30 + 20 * r["mflops"])
        ax.annotate(
            r["arch"],
            (100 * r["overhead"], 100 * r["flatnet_acc"]),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    ax.axvline(20, ls="--", c="grey", lw=1, label="overhead goal (<= 20%)")
    ax.axhline(96, ls=":", c="grey", lw=1, label="accuracy goal (>= 96%)")
    ax.set_xlabel("reward overhead on 8-env PPO wall time (%)")
    ax.set_ylabel("flatnet-recipe test accuracy (%)")
    ax.set_title("Reward model cost vs accuracy (marker size: FLOPs)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
