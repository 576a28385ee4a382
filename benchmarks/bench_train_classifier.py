"""How long one 8x8 classifier takes to train (issue goal: <= 30 s on 2 cores).

    python benchmarks/bench_train_classifier.py

Trains the two shipped recipes (flatnet: entropy + 2,000 outliers; baseline: CE) with the
manifest's settings and prints wall times and metrics.
"""

from __future__ import annotations

import time

from common import machine

from flatnet_rl.losses import Objective
from flatnet_rl.training import TrainConfig, train_classifier

RECIPES = {
    "flatnet": TrainConfig(objective=Objective("entropy", kappa=0.3), outliers=2000, seed=0),
    "baseline": TrainConfig(objective=Objective("ce"), outliers=0, seed=0),
}


def main() -> None:
    print(f"# train-classifier benchmark ({machine()})\n")
    print("| recipe | wall s | test accuracy | random mean max-prob |")
    print("|---|---|---|---|")
    for name, config in RECIPES.items():
        start = time.perf_counter()
        result = train_classifier(config, progress=False)
        seconds = time.perf_counter() - start
        m = result.metrics
        acc, msp = m["test_accuracy"], m["random_mean_max_prob"]
        print(f"| {name} | {seconds:.1f} | {acc:.4f} | {msp:.4f} |")


if __name__ == "__main__":
    main()
