"""FlatnetReward around an env that was never meant for it: its frames become the reward.

    python examples/wrap_existing_env.py             # small budget
    python examples/wrap_existing_env.py --full

The env below ("Etch") moves a pen on a 32x32 RGB sketch pad and renders dark ink on white
paper; it knows nothing about digits. FlatnetReward reads its ``render()`` frames (uint8,
0..255 by Gymnasium's convention), converts them with the classifier's declared
preprocessing (grey, area resize to 8x8, inversion decided once at the first frame because
the digit model expects light ink on dark, threshold) and rewards the change of p(target),
keeping the env's own reward in info["env_reward"].
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import tyro
from gymnasium import spaces
from stable_baselines3 import PPO

from flatnet_rl import FlatnetReward
from flatnet_rl.util.threads import apply_thread_policy


class EtchEnv(gym.Env):
    """A 32x32 RGB sketch pad. Actions: 0-3 move the pen 2 px (drawing), 4 stop.

    Observation: the RGB frame (uint8). Reward: 0. Episodes end on stop or after 64 moves.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}
    MOVES = ((-2, 0), (2, 0), (0, -2), (0, 2))

    def __init__(self, render_mode: str = "rgb_array"):
        self.render_mode = render_mode
        self.observation_space = spaces.Box(0, 255, (32, 32, 3), np.uint8)
        self.action_space = spaces.Discrete(5)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.paper = np.full((32, 32), 255, np.uint8)
        self.pos = np.array([8, 16])
        self.steps = 0
        return self.render(), {}

    def step(self, action):
        self.steps += 1
        if action == 4:
            return self.render(), 0.0, True, False, {}
        new = np.clip(self.pos + self.MOVES[action], 2, 29)
        rows = slice(min(self.pos[0], new[0]) - 2, max(self.pos[0], new[0]) + 2)
        cols = slice(min(self.pos[1], new[1]) - 2, max(self.pos[1], new[1]) + 2)
        self.paper[rows, cols] = 0  # a 4 px wide stroke
        self.pos = new
        return self.render(), 0.0, False, self.steps >= 64, {}

    def render(self):
        return np.repeat(self.paper[:, :, None], 3, axis=2)


@dataclass
class Args:
    """PPO on a sketch pad rewarded by the flatnet digit classifier."""

    target: int = 7
    """the digit to draw"""
    timesteps: int = 2048
    """PPO steps (small default)"""
    full: bool = False
    """train for 200k steps"""
    seed: int = 0
    """seeds the env and PPO"""


def main(args: Args) -> None:
    apply_thread_policy()  # the entry points' thread policy (FLATNET_RL_THREADS to change)
    env = FlatnetReward(EtchEnv(), "flatnet", target=args.target, mode="delta", image="render")
    # The frame is 32x32x3: flattened for an MLP policy (NatureCNN needs >= 36x36).
    model = PPO("MlpPolicy", env, seed=args.seed, n_steps=256, verbose=0, device="cpu")
    model.learn(200_000 if args.full else args.timesteps)

    obs, info = env.reset(seed=args.seed + 1)
    done = False
    while not done:
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, info = env.step(int(action))
        done = terminated or truncated
    print(
        f"target {args.target}: final p_target {info['flatnet']['p_target']:.3f}, "
        f"classifier sees {info['flatnet']['predicted']}, env reward {info['env_reward']}"
    )


if __name__ == "__main__":
    main(tyro.cli(Args))
