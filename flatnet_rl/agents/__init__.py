"""Agents: Stable-Baselines3 trainers on a classifier reward, evaluation against judges.
Names are imported on first use (:mod:`flatnet_rl.util.lazy`): the presets need no torch."""

from flatnet_rl.util.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "flatnet_rl.agents.config": ("AgentConfig", "judge_panel"),
        "flatnet_rl.agents.features": ("CanvasFeaturesExtractor",),
        "flatnet_rl.agents.presets": (
            "ALGORITHMS",
            "PRESETS",
            "RUNS",
            "preset",
            "run_defaults",
        ),
        "flatnet_rl.agents.runs": ("RunExistsError", "load_run"),
        "flatnet_rl.agents.stroke_demos": ("search_stroke_demos",),
        "flatnet_rl.agents.train": ("build_algorithm", "train_agent"),
    },
)
