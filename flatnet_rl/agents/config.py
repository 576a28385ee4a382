"""One agent training run, described by a dataclass saved to ``config.json``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from flatnet_rl.agents.presets import (
    ACTION_MODES,
    ALGORITHMS,
    WARM_STARTS,
    preset,
    run_defaults,
)
from flatnet_rl.data.env_ids import resolve_env_id
from flatnet_rl.envs.paint_config import MAX_CANVAS, MIN_CANVAS, PaintConfig, parse_start
from flatnet_rl.envs.registration import PAINT_ID
from flatnet_rl.reward.spec import MODES
from flatnet_rl.shipped import zoo_manifest
from flatnet_rl.util.checks import check_fields, choice_field, int_field, is_plain_int

#: PaintEnv arguments the run config sets itself (not env_kwargs).
_CONFIG_OWNED = {"canvas_size", "action_mode", "target", "start", "max_steps"}
#: PaintEnv arguments a run may set through env_kwargs.
PAINT_ENV_KWARGS = frozenset(
    {f.name for f in dataclasses.fields(PaintConfig) if f.init} - _CONFIG_OWNED | {"render_mode"}
)
#: Limits that keep a typo from running for days.
MAX_TIMESTEPS = 10**10
MAX_ENVS = 4096
#: When the learned reward is scored during training (see ``AgentConfig.reward_scoring``).
REWARD_SCORING = ("rollout", "step")
#: Algorithms that read each step's reward as they go (replay buffers): scored per step.
OFF_POLICY = ("dqn",)
#: Fields a saved run config must hold: they say what the agent was trained on.
REQUIRED_KEYS = ("env_id", "algo", "reward_model", "reward_mode", "action_mode")


def judge_panel(canvas: int) -> tuple[str, ...]:
    """The shipped judges for a canvas size (zoo entries with role ``judge``)."""
    return tuple(
        sorted(
            name
            for name, entry in zoo_manifest().items()
            if entry.get("role") == "judge" and int(entry.get("canvas", 8)) == canvas
        )
    )


@dataclass
class AgentConfig:
    """One agent training run. Every field is saved to ``config.json``; each is also an option
    of ``flatnet-rl train-agent`` (its help is the entry below, its default and limits the
    field's).

    Attributes:
        env_id: ``FlatnetPaint-v0`` (the painting env, rewarded in batch) or any Gymnasium id
            as ``gymnasium.make`` takes it; ``module:EnvId`` imports the module first
            (``minigrid:MiniGrid-Empty-8x8-v0``, ``ale_py:ALE/Pong-v5``).
        algo: the Stable-Baselines3 algorithm.
        reward_model: the proxy reward: a zoo name, checkpoint path, training spec or ensemble
            spec (such as ``ensemble:baseline*5``).
        reward_mode: what the reward pays (``delta``: the change of the target's
            probability, potential-based shaping; the methods page defines each).
        action_mode: paint env: paint pixels, move a pen a cell at a time, or draw strokes
            between anchor points (stroke: presets for 8x8, 14x14 and 28x28).
        target: the class index or name to reward; ``random`` draws one per episode (paint
            env, the default there); required for other envs.
        start: paint env training starts: ``blank``, ``noise``, ``digit``, ``partial``,
            ``stroke``, ``demo`` (stroke mode: prefixes of drawings searched on the reward
            model) or a mixture of them as a JSON object of weights (``None``: the action
            mode's preset).
        eval_start: the paint env's evaluation start (the task: a blank canvas).
        max_steps: the episode step limit (``None``: the env's own).
        timesteps: environment steps to train (``None``: the action mode's preset).
        n_envs: envs stepped together in one numpy operation (``None``: the preset's).
        seed: seeds torch, the envs and the policy.
        out: the run folder.
        device: ``auto``, ``cpu`` or ``cuda[:N]``.
        judges: the independent classifiers used only to evaluate, never as reward (empty:
            the shipped judge panel for the paint env's canvas; other envs: the run is
            evaluated with its reward model alone).
        canvas_size: the paint env's canvas (``None``: the reward model's).
        env_kwargs: env keyword arguments as a JSON object (``pixel_op``, ``noise_density``
            ... for the paint env; ``size`` for MiniGrid).
        hyperparams: overrides of the algorithm's preset, as a JSON object (checked against
            the algorithm).
        eval_every: record proxy and judge scores of ``curve_episodes`` evaluation episodes
            every this many steps (the overoptimization curve); 0 = never.
        curve_episodes: evaluation episodes per point of the overoptimization curve.
        cache_dir: where reward models named by training specs are cached.
        reward_scoring: when the learned reward is scored during training: once per rollout
            (one classifier call; PPO, A2C) or at every step (``None``: rollout for PPO and
            A2C, step for DQN). Evaluation always scores per step.
        image: where the reward model's image is in an env that is not the paint env:
            ``auto`` (the observation or its pixel entry; codes are refused), an observation
            key, or ``render`` (the env's ``render()`` frames).
        warm_start: before RL, clone into the policy one drawing per digit found by a beam
            search on the reward model (``demos``; stroke mode, ppo or a2c), or not
            (``none``; ``None``: the action mode's preset, ``demos`` in stroke mode).
    """

    env_id: str = PAINT_ID
    algo: str = choice_field("ppo", ALGORITHMS)
    reward_model: str = "flatnet"
    reward_mode: str = choice_field("delta", MODES)
    action_mode: str = choice_field("pixel", ACTION_MODES)
    target: int | str | None = None
    start: str | dict[str, float] | None = None
    eval_start: str = "blank"
    max_steps: int | None = int_field(None, 1)
    timesteps: int | None = int_field(None, 1, MAX_TIMESTEPS)
    n_envs: int | None = int_field(None, 1, MAX_ENVS)
    seed: int = int_field(0, 0, 2**32 - 1)
    out: str = "runs/agent"
    device: str = "auto"
    judges: list[str] = field(default_factory=list)
    canvas_size: int | None = int_field(None, MIN_CANVAS, MAX_CANVAS)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    eval_every: int = int_field(0, 0, MAX_TIMESTEPS)
    curve_episodes: int = int_field(40, 1, 100_000)
    cache_dir: str = "runs/cache"
    reward_scoring: str | None = choice_field(None, REWARD_SCORING)
    image: str = "auto"
    warm_start: str | None = choice_field(None, WARM_STARTS)

    def __post_init__(self) -> None:
        check_fields(self)  # the limits declared above, before the presets fill the Nones
        # The canvas the run will paint: its own, else the zoo reward model's (stroke mode's
        # budget depends on it; a path or spec resolves later and takes the 8x8 preset).
        canvas = self.canvas_size or zoo_manifest().get(self.reward_model, {}).get("canvas")
        chosen_warm_start = self.warm_start
        for key, value in run_defaults(self.action_mode, canvas).items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        if self.warm_start == "demos" and (self.algo in OFF_POLICY or not self.is_paint):
            if chosen_warm_start is None:  # the stroke preset's, for a setting it cannot serve
                self.warm_start = "none"
            else:
                raise ValueError(
                    "warm_start='demos' (--warm-start demos) clones stroke drawings into an "
                    "actor-critic policy: it needs the paint env and ppo or a2c, not "
                    f"{self.env_id!r} with {self.algo}"
                )
        if self.reward_scoring is None:
            self.reward_scoring = "step" if self.algo in OFF_POLICY else "rollout"
        if self.reward_scoring == "rollout" and self.algo in OFF_POLICY:
            raise ValueError(
                f"reward_scoring='rollout' needs an on-policy algorithm (ppo, a2c): {self.algo} "
                "stores every step's reward in its replay buffer as it goes; use 'step'"
            )
        is_judge = zoo_manifest().get(self.reward_model, {}).get("role") == "judge"
        if is_judge or self.reward_model in self.judges:
            raise ValueError(
                f"{self.reward_model!r} is a judge: judges evaluate, they are never the reward"
            )
        from flatnet_rl.training.model_specs import check_model_spec

        check_model_spec(self.reward_model)
        if not isinstance(self.hyperparams, dict) or not isinstance(self.env_kwargs, dict):
            raise ValueError("hyperparams and env_kwargs must be dicts (JSON objects)")
        preset(self.algo, self.hyperparams, self.action_mode)  # bad keys/values fail now
        if not isinstance(self.image, str) or not self.image:
            raise ValueError(
                f"image must be 'auto', 'render' or an observation key, got {self.image!r}"
            )
        if self.is_paint and self.image != "auto":
            raise ValueError(
                f"the paint env's image is its canvas: image must be 'auto', got {self.image!r}"
            )
        if self.is_paint:
            allowed = PAINT_ENV_KWARGS
            unknown = sorted(set(self.env_kwargs) - allowed)
            if unknown:
                raise ValueError(
                    f"env_kwargs {unknown} are not arguments of the paint env; it takes "
                    f"{', '.join(sorted(allowed))} (the others are fields of the run config)"
                )
            modes = parse_start(self.start)[0]  # a clear error now, not when the envs are built
            modes = {*modes, *parse_start(self.eval_start)[0]}
            if "demo" in modes and self.action_mode != "stroke":
                raise ValueError(
                    "start 'demo' replays stroke drawings: it needs action_mode='stroke' "
                    f"(--action-mode stroke), not {self.action_mode!r}"
                )
            if self.warm_start == "demos" and self.action_mode != "stroke":
                raise ValueError(
                    "warm_start 'demos' (--warm-start demos) clones stroke drawings: it needs "
                    f"action_mode='stroke' (--action-mode stroke), not {self.action_mode!r}"
                )
            # The env options too (stroke_curves, stroke_demos, ...), before any model loads;
            # the canvas is the reward model's, unknown for a path yet: the largest stands in.
            self.paint_config(self.canvas_size or canvas or MAX_CANVAS)
            if self.target is not None and (
                not is_plain_int(self.target) or not 0 <= self.target <= 9
            ):
                raise ValueError(f"target must be in [0, 9] or None, got {self.target!r}")
        else:
            resolve_env_id(self.env_id)  # imports the env's package (module:EnvId)
            if self.target is None:
                raise ValueError(
                    f"env {self.env_id!r} is not the paint env: set target (a class index or "
                    "name of the reward model) to say what to reward"
                )

    def paint_config(self, canvas: int) -> PaintConfig:
        """The paint env's settings of this run on a ``canvas`` x ``canvas`` canvas."""
        options = {k: v for k, v in self.env_kwargs.items() if k != "render_mode"}
        return PaintConfig(
            canvas_size=canvas, action_mode=self.action_mode, max_steps=self.max_steps, **options
        )

    @property
    def is_paint(self) -> bool:
        return self.env_id in (PAINT_ID, f"flatnet_rl:{PAINT_ID}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AgentConfig:
        """Rebuild from ``config.json`` (older runs' single ``judge`` becomes ``judges``)."""
        values = dict(values)
        if "judge" in values and "judges" not in values:
            values["judges"] = [values.pop("judge")]
        missing = [key for key in REQUIRED_KEYS if key not in values]
        if missing:
            # A default here would silently evaluate another agent's setting (a run trained
            # on the baseline reward read back as a flatnet run, a pen agent in pixel mode).
            raise ValueError(f"the run config lacks {', '.join(missing)}")
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
