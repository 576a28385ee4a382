"""Why the PPO preset discounts so hard: the same PPO run at several discounts gamma.

    python examples/sweep_gamma.py            # small budget (seconds), a smoke run
    python examples/sweep_gamma.py --full     # the study behind the preset's gamma

With a potential-based reward (``delta``: the reward of a step is the change in p_target it
causes) the discount decides how a pixel is credited: with gamma near 1 by the outcome of the
whole episode (high variance: the other pixels share it), with a small gamma mostly by its
own change in p_target. Every run shares seed, budget and curriculum; the judges score
stochastic episodes from a blank canvas. Runs go to worker processes, one core each.
Writes ``table.md`` and ``judge_vs_gamma.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import tyro
from matplotlib.figure import Figure

from flatnet_rl.agents import AgentConfig, train_agent
from flatnet_rl.agents.evaluate import evaluate_agent
from flatnet_rl.agents.presets import default_timesteps
from flatnet_rl.evaluation.engines import run_jobs


@dataclass
class Args:
    """PPO on the paint env at several discounts."""

    gammas: tuple[float, ...] = (0.99, 0.9, 0.7, 0.5, 0.3)
    """discounts to compare"""
    timesteps: int = 2048
    """small default budget; --full uses the preset's"""
    full: bool = False
    """train for the preset's budget"""
    seed: int = 0
    """training seed of every run"""
    eval_episodes: int = 10
    """stochastic evaluation episodes per run"""
    workers: int = 2
    """worker processes (one core each); 1 = in this process"""
    out: str = "runs/sweep_gamma"
    """output folder"""


COLUMNS = ("proxy_p_target", "judge_p_target", "fooling_rate", "judge_accuracy", "ink")


def run_one(config: AgentConfig, episodes: int) -> dict:
    run = train_agent(config, progress=False, overwrite=True)
    return evaluate_agent(run, episodes=episodes, deterministic=False, overwrite=True)["overall"]


def main(args: Args) -> None:
    out = Path(args.out)
    timesteps = default_timesteps("pixel") if args.full else args.timesteps
    base = AgentConfig(timesteps=timesteps, seed=args.seed, device="cpu")
    configs = [
        replace(base, out=str(out / f"gamma_{g}"), hyperparams={"gamma": g}) for g in args.gammas
    ]
    episodes = 100 if args.full else args.eval_episodes
    results = run_jobs(
        partial(run_one, episodes=episodes), configs, workers=args.workers, desc="gamma"
    )

    lines = ["| gamma | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for gamma, m in zip(args.gammas, results, strict=True):
        lines.append(f"| {gamma} | " + " | ".join(f"{m[c]:.3f}" for c in COLUMNS) + " |")
    table = "\n".join(lines)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(table + "\n")
    print(table)

    fig = Figure(figsize=(5, 3.5), layout="constrained")
    ax = fig.subplots()
    for key, label in (("judge_p_target", "judge p_target"), ("proxy_p_target", "proxy p_target")):
        ax.plot(args.gammas, [m[key] for m in results], "o-", label=label)
    ax.set_xlabel("PPO discount gamma")
    ax.set_ylabel("mean over final canvases")
    ax.set_ylim(0, 1)
    ax.set_title(f"PPO, {timesteps:,} steps, seed {args.seed}", fontsize=9)
    ax.legend()
    fig.savefig(out / "judge_vs_gamma.png", dpi=120)
    print(f"wrote {out / 'table.md'} and {out / 'judge_vs_gamma.png'}")


if __name__ == "__main__":
    main(tyro.cli(Args))
