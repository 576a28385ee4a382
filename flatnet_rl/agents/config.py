"""One agent training run, described by a dataclass saved to ``config.json``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from flatnet_rl.agents.presets import ACTION_MODES, ALGORITHMS, preset, run_defaults
from flatnet_rl.classifier import zoo_manifest
from flatnet_rl.data.env_ids import resolve_env_id
from flatnet_rl.envs.paint_config import MAX_CANVAS, PaintConfig, parse_start
from flatnet_rl.envs.registration import PAINT_ID
from flatnet_rl.reward.spec import MODES
from flatnet_rl.util.checks import check_plain_int, is_plain_int

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
    """One agent training run. Every field is saved to ``config.json``.

    Attributes:
        env_id: ``FlatnetPaint-v0`` (the painting env, rewarded in batch) or any Gymnasium
            id, as ``gymnasium.make`` takes it (``module:EnvId`` imports the module first;
            then ``target`` is required).
        algo: ``ppo`` (default), ``a2c`` or ``dqn``.
        reward_model: the proxy reward: a model spec (zoo name, checkpoint path, training
            spec or ensemble spec such as ``ensemble:baseline*5``).
        reward_mode: see :data:`flatnet_rl.reward.MODES`.
        judges: the independent classifiers used only to evaluate (never as reward); empty:
            the shipped judge panel for the canvas size.
        canvas_size: the paint env's canvas (default: the reward model's).
        start: training start canvases, a mode or a mixture; ``eval_start``: evaluation's
            (the task: a blank canvas).
        n_envs, timesteps, start: ``None`` takes the action mode's preset
            (:func:`~flatnet_rl.agents.presets.run_defaults`).
        env_kwargs: extra keyword arguments for the env (``pixel_op``, ``noise_density`` ...).
        hyperparams: overrides of the algorithm's preset (checked against the algorithm).
        eval_every: record proxy and judge scores of ``curve_episodes`` evaluation episodes
            every this many steps (the overoptimization curve); 0 = never.
        cache_dir: where reward models named by training specs are cached.
        reward_scoring: when training scores the learned reward: ``"rollout"`` (one
            classifier call per rollout, :mod:`flatnet_rl.reward.rollout`; on-policy
            algorithms only) or ``"step"`` (one call per vector step); ``None``: rollout for
            PPO and A2C, step for DQN. Evaluation always scores per step.
        image: where the reward model's image is in an env that is not the paint env:
            ``"auto"`` (the observation or its pixel entry; codes are refused), an
            observation key, or ``"render"`` (the env's ``render()`` frames).
        max_steps: the episode step limit (``None``: the env's own).
    """

    env_id: str = PAINT_ID
    algo: str = "ppo"
    reward_model: str = "flatnet"
    reward_mode: str = "delta"
    action_mode: str = "pixel"
    target: int | str | None = None
    start: str | dict[str, float] | None = None
    eval_start: str = "blank"
    max_steps: int | None = None
    timesteps: int | None = None
    n_envs: int | None = None
    seed: int = 0
    out: str = "runs/agent"
    device: str = "auto"
    judges: list[str] = field(default_factory=list)
    canvas_size: int | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 0
    curve_episodes: int = 40
    cache_dir: str = "runs/cache"
    reward_scoring: str | None = None
    image: str = "auto"

    def __post_init__(self) -> None:
        if self.action_mode not in ACTION_MODES:
            raise ValueError(
                f"action_mode must be one of {', '.join(ACTION_MODES)}, got {self.action_mode!r}"
            )
        # The canvas the run will paint: its own, else the zoo reward model's (stroke mode's
        # budget depends on it; a path or spec resolves later and takes the 8x8 preset).
        canvas = self.canvas_size or zoo_manifest().get(self.reward_model, {}).get("canvas")
        for key, value in run_defaults(self.action_mode, canvas).items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        if self.algo not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algo!r}; expected one of {ALGORITHMS}")
        if self.reward_scoring is None:
            self.reward_scoring = "step" if self.algo in OFF_POLICY else "rollout"
        if self.reward_scoring not in REWARD_SCORING:
            raise ValueError(
                f"reward_scoring must be one of {REWARD_SCORING}, got {self.reward_scoring!r}"
            )
        if self.reward_scoring == "rollout" and self.algo in OFF_POLICY:
            raise ValueError(
                f"reward_scoring='rollout' needs an on-policy algorithm (ppo, a2c): {self.algo} "
                "stores every step's reward in its replay buffer as it goes; use 'step'"
            )
        if self.reward_mode not in MODES:
            raise ValueError(f"unknown reward mode {self.reward_mode!r}; expected one of {MODES}")
        for name, value, low, high in (
            ("timesteps", self.timesteps, 1, MAX_TIMESTEPS),
            ("n_envs", self.n_envs, 1, MAX_ENVS),
            ("seed", self.seed, 0, 2**32 - 1),
            ("eval_every", self.eval_every, 0, MAX_TIMESTEPS),
            ("curve_episodes", self.curve_episodes, 1, 100_000),
        ):
            check_plain_int(name, value, low, high)
        if self.max_steps is not None and (not is_plain_int(self.max_steps) or self.max_steps < 1):
            raise ValueError(f"max_steps must be None or an integer >= 1, got {self.max_steps!r}")
        is_judge = zoo_manifest().get(self.reward_model, {}).get("role") == "judge"
        if is_judge or self.reward_model in self.judges:
            raise ValueError(
                f"{self.reward_model!r} is a judge: judges evaluate, they are never the reward"
            )
        from flatnet_rl.training.specs import check_model_spec

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
            parse_start(self.eval_start)
            if "demo" in modes and self.action_mode != "stroke":
                raise ValueError(
                    "start 'demo' replays stroke drawings: it needs action_mode='stroke' "
                    f"(--action-mode stroke), not {self.action_mode!r}"
                )
            # The env options too (stroke_curves, stroke_demos, ...), before any model loads;
            # the canvas is the reward model's, unknown for a path yet: the largest stands in.
            options = {k: v for k, v in self.env_kwargs.items() if k != "render_mode"}
            PaintConfig(
                canvas_size=self.canvas_size or canvas or MAX_CANVAS,
                action_mode=self.action_mode,
                max_steps=self.max_steps,
                **options,
            )
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
