"""Agents: Stable-Baselines3 trainers on a classifier reward, evaluation against a judge."""

from flatnet_rl.agents.features import CanvasFeaturesExtractor
from flatnet_rl.agents.presets import ALGORITHMS, PRESETS, preset
from flatnet_rl.agents.train import AgentConfig, load_run, make_env, train_agent

__all__ = [
    "ALGORITHMS",
    "PRESETS",
    "AgentConfig",
    "CanvasFeaturesExtractor",
    "load_run",
    "make_env",
    "preset",
    "train_agent",
]
