"""Agents: Stable-Baselines3 trainers on a classifier reward, evaluation against judges."""

from flatnet_rl.agents.config import AgentConfig, judge_panel
from flatnet_rl.agents.features import CanvasFeaturesExtractor
from flatnet_rl.agents.presets import ALGORITHMS, CURRICULUM, PRESETS, RUNS, preset, run_defaults
from flatnet_rl.agents.runs import RunExistsError, load_run
from flatnet_rl.agents.train import build_algorithm, train_agent

__all__ = [
    "ALGORITHMS",
    "CURRICULUM",
    "PRESETS",
    "RUNS",
    "AgentConfig",
    "CanvasFeaturesExtractor",
    "RunExistsError",
    "build_algorithm",
    "judge_panel",
    "load_run",
    "preset",
    "run_defaults",
    "train_agent",
]
