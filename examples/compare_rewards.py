"""The same PPO on the flatnet reward and on the unregularized baseline reward, side by side.

    python examples/compare_rewards.py           # small budget (seconds)
    python examples/compare_rewards.py --full    # the README's budget

Both runs share every setting but the reward model. The independent judge scores the final
canvases: a reward that is fooled shows a high proxy p_target with a low judge p_target
(fooling = proxy >= 0.9 and judge < 0.5). Writes a table and a picture of final canvases.
"""

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from flatnet_rl.agents import AgentConfig, train_agent  # noqa: E402
from flatnet_rl.agents.evaluate import evaluate_agent  # noqa: E402
from flatnet_rl.agents.presets import CURRICULUM  # noqa: E402
from flatnet_rl.cli import parse_dataclass_args  # noqa: E402


@dataclass
class Args:
    reward_mode: str = "delta"
    timesteps: int = 4096
    full: bool = False
    seed: int = 0
    eval_episodes: int = 20
    out: str = "runs/compare_rewards"


FULL_TIMESTEPS = 1_000_000
FULL_EVAL_EPISODES = 100
COLUMNS = ("proxy_p_target", "judge_p_target", "gap", "fooling_rate", "judge_accuracy")

if __name__ == "__main__":
    args = parse_dataclass_args(Args, description=__doc__.splitlines()[0])
    out = Path(args.out)
    results = {}
    for reward_model in ("flatnet", "baseline"):
        config = AgentConfig(
            reward_model=reward_model,
            reward_mode=args.reward_mode,
            start=CURRICULUM,  # 3 in 4 episodes start from a partly drawn target digit
            timesteps=FULL_TIMESTEPS if args.full else args.timesteps,
            seed=args.seed,
            out=str(out / reward_model),
        )
        run = train_agent(config)
        episodes = FULL_EVAL_EPISODES if args.full else args.eval_episodes
        results[reward_model] = evaluate_agent(run, episodes=episodes)["overall"]

    lines = ["| reward | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, m in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{m[c]:.3f}" for c in COLUMNS) + " |")
    table = "\n".join(lines)
    (out / "table.md").write_text(table + "\n")
    print(table)

    fig, axes = plt.subplots(2, 1, figsize=(12, 10))
    for ax, name in zip(axes, results, strict=True):
        ax.imshow(mpimg.imread(out / name / "final_canvases.png"))
        ax.set_title(f"{name} reward", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out / "final_canvases.png", dpi=120)
    print(f"wrote {out / 'table.md'} and {out / 'final_canvases.png'}")
