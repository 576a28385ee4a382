"""Print the shipped models as a markdown table, from the manifest that zoo/build.py writes.

python scripts/zoo_table.py > runs/zoo.md
"""

from __future__ import annotations

from flatnet_rl.shipped import zoo_manifest


def main() -> None:
    print("| name | canvas | role | recipe | test accuracy | mean max-prob, held-out noise |")
    print("|---|---:|---|---|---:|---:|")
    for name, entry in zoo_manifest().items():
        metrics = entry.get("metrics", {})
        command = entry["command"].split("train-classifier ", 1)[-1]
        recipe = entry.get("spec") or command.split(" --name ")[0]
        print(
            f"| `{name}` | {entry.get('canvas', 8)} | {entry.get('role', 'reward')} | "
            f"`{recipe}` | {metrics.get('test_accuracy', float('nan')):.4f} | "
            f"{metrics.get('random_mean_max_prob', float('nan')):.4f} |"
        )


if __name__ == "__main__":
    main()
