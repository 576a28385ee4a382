"""PPO on FlatnetPaint-v0: an agent learns to paint the digit the flatnet reward names.

    python examples/ppo_paint.py                 # small budget (seconds), a smoke run
    python examples/ppo_paint.py --full          # the README's budget
    tensorboard --logdir runs/ppo_paint/tb       # flatnet/* curves: proxy vs judge p_target

Reads top to bottom: arguments, seeding, env with one batched reward call per step, PPO with
the preset of flatnet_rl/agents/presets.py (note its low discount, gamma=0.5), training,
evaluation against the independent judge.
"""

from dataclasses import dataclass

from flatnet_rl.agents import AgentConfig, train_agent
from flatnet_rl.agents.evaluate import evaluate_agent
from flatnet_rl.agents.presets import CURRICULUM
from flatnet_rl.cli import parse_dataclass_args


@dataclass
class Args:
    reward_model: str = "flatnet"  # the proxy reward: flatnet, baseline or a checkpoint
    reward_mode: str = "delta"  # potential-based; see flatnet_rl.reward.MODES
    timesteps: int = 4096  # small default budget; --full uses FULL_TIMESTEPS
    full: bool = False
    n_envs: int = 8
    seed: int = 0
    eval_episodes: int = 20
    out: str = "runs/ppo_paint"


FULL_TIMESTEPS = 1_000_000
FULL_EVAL_EPISODES = 100

if __name__ == "__main__":
    args = parse_dataclass_args(Args, description=__doc__.splitlines()[0])
    config = AgentConfig(
        algo="ppo",
        reward_model=args.reward_model,
        reward_mode=args.reward_mode,
        # Curriculum: 3 episodes in 4 start from a partly drawn target digit; evaluation
        # always starts from a blank canvas (the task).
        start=CURRICULUM,  # {"blank": 0.25, "partial": 0.75}
        timesteps=FULL_TIMESTEPS if args.full else args.timesteps,
        n_envs=args.n_envs,
        seed=args.seed,  # seeds torch, the envs and the policy: reruns are identical
        out=args.out,
    )
    run = train_agent(config)
    result = evaluate_agent(run, episodes=FULL_EVAL_EPISODES if args.full else args.eval_episodes)
    print((run / "eval.md").read_text())
    print(f"final canvases: {run / 'final_canvases.png'}")
