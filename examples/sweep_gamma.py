"""Why the PPO preset discounts so hard: the same PPO run at several discounts gamma.

    python examples/sweep_gamma.py            # small budget (seconds), a smoke run
    python examples/sweep_gamma.py --full     # the numbers in presets.py and the README

With a potential-based reward (``delta``: the reward of a step is the change in p_target it
causes) the discount decides how a pixel is credited: with gamma near 1 by the outcome of the
whole episode (high variance: 31 other pixels share it), with a small gamma mostly by its own
change in p_target. Every run shares seed, budget and curriculum; the judge scores 100
deterministic episodes from a blank canvas. Runs go to worker processes, one core each.
Writes ``table.md`` and ``judge_vs_gamma.png``.
"""

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from flatnet_rl.agents import AgentConfig, train_agent  # noqa: E402
from flatnet_rl.agents.evaluate import evaluate_agent  # noqa: E402
from flatnet_rl.cli import parse_dataclass_args  # noqa: E402


@dataclass
class Args:
    gammas: str = "0.99,0.9,0.8,0.5,0.3"  # comma-separated discounts
    reward_mode: str = "delta"
    timesteps: int = 2048  # small default budget; --full uses FULL_TIMESTEPS
    full: bool = False
    seed: int = 0
    eval_episodes: int = 10
    workers: int = 2
    out: str = "runs/sweep_gamma"


FULL_TIMESTEPS = 300_000
FULL_EVAL_EPISODES = 100
COLUMNS = ("proxy_p_target", "judge_p_target", "fooling_rate", "judge_accuracy", "ink")


def run_one(config: AgentConfig, episodes: int) -> dict:
    torch.set_num_threads(1)  # one core per worker: workers do not fight over cores
    run = train_agent(config, progress=False)
    return evaluate_agent(run, episodes=episodes)["overall"]


if __name__ == "__main__":
    args = parse_dataclass_args(Args, description=__doc__.splitlines()[0])
    gammas = [float(g) for g in args.gammas.split(",")]
    out = Path(args.out)
    configs = [
        AgentConfig(
            reward_mode=args.reward_mode,
            timesteps=FULL_TIMESTEPS if args.full else args.timesteps,
            seed=args.seed,
            out=str(out / f"gamma_{gamma}"),
            hyperparams={"gamma": gamma},
        )
        for gamma in gammas
    ]
    episodes = FULL_EVAL_EPISODES if args.full else args.eval_episodes
    if args.workers == 1:  # in this process (also what the smoke test runs)
        results = [run_one(config, episodes) for config in configs]
    else:
        with ProcessPoolExecutor(max_workers=args.workers) as pool:
            results = list(pool.map(run_one, configs, [episodes] * len(configs)))

    lines = ["| gamma | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for gamma, m in zip(gammas, results, strict=True):
        lines.append(f"| {gamma} | " + " | ".join(f"{m[c]:.3f}" for c in COLUMNS) + " |")
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(table)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for key, label in (("judge_p_target", "judge p_target"), ("proxy_p_target", "proxy p_target")):
        ax.plot(gammas, [m[key] for m in results], "o-", label=label)
    ax.set_xlabel("PPO discount gamma")
    ax.set_ylabel("mean over final canvases")
    ax.set_ylim(0, 1)
    ax.set_title(f"PPO, {configs[0].timesteps:,} steps, seed {args.seed}", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "judge_vs_gamma.png", dpi=120)
    print(f"wrote {out / 'table.md'} and {out / 'judge_vs_gamma.png'}")
