"""Presets per algorithm and paint-env action mode: the run settings and hyperparameters
``flatnet-rl train-agent`` uses by default, in one readable place.

``AgentConfig(hyperparams={...})`` (``--hyperparams`` on the command line) overrides any
hyperparameter (``policy_kwargs`` merged); ``n_envs``, ``timesteps``, ``start`` and
``warm_start`` are fields of the run config.

**PPO, pixel mode** (chosen over 5 seeds per setting; ``flatnet-rl compare-agents`` reruns
it): 32 natively vectorized envs x 32 steps per
rollout, 4 epochs of batches of 256 (the gradient update is most of PPO's wall time, so few
cheap epochs over a wide rollout), learning rate decaying linearly from 1.5e-3, and
:class:`~flatnet_rl.agents.policies.MaskedMLPPolicy`: MLPs on canvas + target with
already-painted pixels masked out and a learned per-target bias of every pixel. Starts: 9
episodes in 10 from a partly erased target digit (the flat reward gives no signal on a nearly
blank canvas; 1 in 4 blank starts left the worst digit at 0.60 on one of 5 seeds, 1 in 10 at
>= 0.71 on all). The discount is low on purpose (``gamma=0.5``): with a potential-based reward
each pixel's reward is the change in p_target it causes, and a short horizon credits a pixel
mostly with that change instead of the noisy outcome of the whole episode (0.7 lowered the
worst digit to 0.22).

**PPO, pen mode**: the same rollout shape with
:class:`~flatnet_rl.agents.policies.PenMLPPolicy` (an egocentric window around the cursor,
moves off the canvas masked, a per-(target, cell) action bias), a longer horizon
(``gamma=0.9``: a pen stroke takes several steps to change the picture; 0.5, 0.8 and 0.97
did worse at 300k-600k steps) and 1M steps. Starts: 3 episodes in 10 blank (the task), 7
from a *stroke*, a connected piece of a target digit with the pen on its end. With the
pixel mode's scattered partial starts the pen never learned to draw a 0 (judge 0.08 for 0
at 600k steps: a ring's first half lowers p(0), so the agent stopped on the blank canvas).
From 1 blank start in 10 and 9 strokes, 600k steps, two seeds in three left one digit
below 0.35 (the agent stopped early on it, or, with stopping masked, drew something else):
the blank canvas every evaluation starts from was a tenth of training. 3 blank starts in
10 and 1M steps drew every digit on 3 seeds of 3, whether the policy may stop or not
(one torch thread: judge 0.96-0.97 mean and worst digit 0.85-0.91 with stopping masked,
0.93-0.97 and 0.79-0.94 with it allowed; ``benchmarks/bench_time_to_painter.py`` reruns the
preset on 3 more seeds with 2 threads). The preset masks it (``can_stop=False``: episodes
run to the step limit, 8 steps per canvas row, and the pen lifts to leave a finished digit
as it is), the safer of the two: an agent that stops on a digit it has not learned yet
never sees the rest of that episode.

**PPO, stroke mode**: a warm start (``warm_start="demos"``,
:mod:`flatnet_rl.agents.warm_start`): a beam search on the reward model finds one drawing per
digit, the policy (:class:`~flatnet_rl.agents.spatial.StrokeMapPolicy`, a CoordConv CNN with
a move and a draw logit per anchor, stopping masked) clones them, and PPO fine-tunes gently
(learning rate 1e-4, ``clip_range`` 0.1, ``gamma`` 0.9, ``ent_coef`` 0.01, one cloning step
per rollout) for 100k steps from blank starts. From scratch (``warm_start="none"``, 200k-300k
steps, learning rate 1.5e-3 decaying, ``ent_coef`` 0.03) the judges' mean over 3 seeds was
0.81 at 8x8, 0.77 at 14x14 and 28x28 with a round digit undrawn on most seeds (entropy 0.01
collapsed the policy by 100k steps; 0.05, ``gamma=0.99``, curves and starts from a piece of a
digit or from prefixes of the searched drawings did no better: the methods page has the
numbers). Cloned, the agents draw before any PPO step (the first point of the
overoptimization curve); in trial runs PPO without the cloning step per rollout drifted off
the drawings, with it held them. ``benchmarks/bench_time_to_painter.py --modes stroke stroke-14
stroke-28`` measures the preset.

The A2C and DQN presets are untuned starting points (an earlier A2C run at 300k steps ended
at judge p_target 0.105: it had not learned to paint).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

from flatnet_rl.util.checks import check_plain_int, is_plain_number

ALGORITHMS = ("ppo", "a2c", "dqn")
ACTION_MODES = ("pixel", "pen", "stroke")
#: Warm starts before RL (:mod:`flatnet_rl.agents.warm_start`): none, or cloning of drawings
#: searched on the reward model (stroke mode).
WARM_STARTS = ("none", "demos")
#: Preset keys that are ours, not SB3 constructor arguments.
OWN_KEYS = ("policy", "features_extractor")
FEATURES_EXTRACTORS = ("flatten", "canvas_cnn")

#: Run settings per action mode: envs per vector, training steps, start canvases, warm start.
RUNS: dict[str, dict[str, Any]] = {
    "pixel": {
        "n_envs": 32,
        "timesteps": 200_000,
        "start": {"blank": 0.1, "partial": 0.9},
        "warm_start": "none",
    },
    "pen": {
        "n_envs": 32,
        "timesteps": 1_000_000,
        "start": {"blank": 0.3, "stroke": 0.7},
        "warm_start": "none",
    },
    "stroke": {"n_envs": 32, "timesteps": 100_000, "start": "blank", "warm_start": "demos"},
}
#: Stroke-mode budgets per canvas size (``RUNS["stroke"]["timesteps"]`` is the 8x8 one).
STROKE_TIMESTEPS: dict[int, int] = {8: 100_000, 14: 100_000, 28: 100_000}

_PPO_COMMON: dict[str, Any] = {
    "n_steps": 32,
    "batch_size": 256,
    "n_epochs": 4,
    "learning_rate": {"linear": 1.5e-3},
    "gamma": 0.5,
    "gae_lambda": 0.95,
    "clip_range": 0.2,
    "ent_coef": 0.01,
    "vf_coef": 0.5,
}
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "ppo": {
        "pixel": {
            **_PPO_COMMON,
            "policy": "masked_mlp",
            "policy_kwargs": {"net_arch": [256, 256], "template": True},
        },
        "pen": {
            **_PPO_COMMON,
            "gamma": 0.9,
            "policy": "pen_mlp",
            "policy_kwargs": {"net_arch": [256, 256], "can_stop": False},
        },
        "stroke": {
            **_PPO_COMMON,
            "learning_rate": 1e-4,
            "gamma": 0.9,
            "clip_range": 0.1,
            "policy": "stroke_map",
            "policy_kwargs": {"channels": 32, "hidden": 128, "can_stop": False},
        },
    },
    "a2c": dict.fromkeys(
        ACTION_MODES,
        {
            "n_steps": 16,
            "learning_rate": 7e-4,
            "gamma": 0.99,
            "gae_lambda": 0.95,
            "ent_coef": 0.01,
            "features_extractor": "flatten",
            "policy_kwargs": {"net_arch": [256, 256]},
        },
    ),
    "dqn": dict.fromkeys(
        ACTION_MODES,
        {
            "learning_rate": 5e-4,
            "buffer_size": 100_000,
            "learning_starts": 1_000,
            "batch_size": 128,
            "gamma": 0.99,
            "train_freq": 4,
            "target_update_interval": 2_000,
            "exploration_fraction": 0.3,
            "exploration_final_eps": 0.05,
            "features_extractor": "flatten",
            "policy_kwargs": {"net_arch": [256, 256]},
        },
    ),
}


def _check_mode(action_mode: str) -> str:
    if action_mode not in ACTION_MODES:
        raise ValueError(f"unknown action mode {action_mode!r}; expected one of {ACTION_MODES}")
    return action_mode


def run_defaults(action_mode: str, canvas_size: int | None = None) -> dict[str, Any]:
    """``n_envs``, ``timesteps`` and ``start`` of an action mode (copies); stroke mode's
    budget depends on the canvas size (the nearest size with a preset)."""
    values = RUNS[_check_mode(action_mode)]
    defaults = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    if action_mode == "stroke" and canvas_size is not None:
        nearest = min(STROKE_TIMESTEPS, key=lambda side: abs(side - canvas_size))
        defaults["timesteps"] = STROKE_TIMESTEPS[nearest]
    return defaults


def default_timesteps(action_mode: str, canvas_size: int | None = None) -> int:
    """The default training budget of an action mode (at a canvas size)."""
    return run_defaults(action_mode, canvas_size)["timesteps"]


def schedule(value: Any) -> float | Callable[[float], float]:
    """A learning rate: a number, or ``{"linear": x}`` (from x down to 0 over training;
    SB3 passes the remaining progress, 1 -> 0)."""
    if isinstance(value, dict):
        if set(value) != {"linear"}:
            raise ValueError(f"a learning-rate schedule is {{'linear': x}}, got {value!r}")
        start = float(value["linear"])
        if not (math.isfinite(start) and start > 0):
            raise ValueError(f"linear learning rate must be a positive number, got {start}")
        return lambda progress_remaining: start * progress_remaining
    return value


def algorithm_class(algo: str) -> type:
    """The SB3 class of an algorithm name."""
    from stable_baselines3 import A2C, DQN, PPO

    classes = {"ppo": PPO, "a2c": A2C, "dqn": DQN}
    if algo not in classes:
        raise ValueError(f"unknown algorithm {algo!r}; expected one of {ALGORITHMS}")
    return classes[algo]


#: Constructor arguments the run sets itself (from the run config), not hyperparameters.
RUN_OWNED = ("self", "policy", "env", "seed", "device", "tensorboard_log", "verbose")
#: Hyperparameters with a known valid range: name -> (low, high, low inclusive). The upper
#: bounds are far above any useful value; they stop a typo (1e308) from training a
#: network into NaN.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, True),
    "learning_rate": (0.0, 1.0, False),
    "clip_range": (0.0, 10.0, False),
    "ent_coef": (0.0, 10.0, True),
    "vf_coef": (0.0, 100.0, True),
    "max_grad_norm": (0.0, 1e6, False),
    "exploration_fraction": (0.0, 1.0, True),
    "exploration_final_eps": (0.0, 1.0, True),
    "tau": (0.0, 1.0, False),
}
_POSITIVE_INTS = (
    "n_steps",
    "batch_size",
    "n_epochs",
    "buffer_size",
    "train_freq",
    "target_update_interval",
    "gradient_steps",
)


def check_hyperparams(algo: str, params: dict[str, Any]) -> None:
    """Every key is an argument of the SB3 algorithm (or ours), every known value in range.

    Raises:
        ValueError: naming the key and what the algorithm takes or the valid range.
    """
    accepted = set(inspect.signature(algorithm_class(algo).__init__).parameters)
    # Private switches and arguments that take a Python class cannot come from JSON.
    accepted = {
        k for k in accepted - set(RUN_OWNED) if not k.startswith("_") and not k.endswith("_class")
    }
    for key, value in params.items():
        if key in OWN_KEYS:
            if key == "features_extractor" and value not in FEATURES_EXTRACTORS:
                raise ValueError(
                    f"features_extractor must be one of {FEATURES_EXTRACTORS}, got {value!r}"
                )
            if key == "policy":
                from flatnet_rl.agents.policy_names import POLICIES

                if value not in POLICIES:
                    raise ValueError(f"policy must be one of {sorted(POLICIES)}, got {value!r}")
            continue
        if key == "learning_rate" and isinstance(value, dict):
            schedule(value)
            continue
        if key in RUN_OWNED:
            raise ValueError(
                f"hyperparameter {key!r} is set by the run itself: use the train-agent option "
                f"(--{key.replace('_', '-')}) or the AgentConfig field instead"
            )
        if key not in accepted:
            raise ValueError(
                f"hyperparameter {key!r} is not taken by {algo}; it takes "
                f"{', '.join(sorted(accepted))}"
            )
        if key in _RANGES and not callable(value):
            low, high, inclusive = _RANGES[key]
            number = is_plain_number(value)
            inside = (
                number
                and math.isfinite(value)
                and (value >= low if inclusive else value > low)
                and value <= high
            )
            if not inside:
                bracket = "[" if inclusive else "("
                raise ValueError(
                    f"hyperparameter {key} must be in {bracket}{low:g}, {high:g}], got {value!r}"
                )
        if key in _POSITIVE_INTS:
            check_plain_int(f"hyperparameter {key}", value, 1)
        if key == "policy_kwargs" and not isinstance(value, dict):
            raise ValueError(f"policy_kwargs must be a JSON object, got {value!r}")


def preset(
    algo: str, overrides: dict[str, Any] | None = None, action_mode: str = "pixel"
) -> dict[str, Any]:
    """A copy of the preset for ``algo`` and ``action_mode`` with ``overrides`` applied
    (policy_kwargs merged), checked by :func:`check_hyperparams`."""
    if algo not in PRESETS:
        raise ValueError(f"unknown algorithm {algo!r}; expected one of {ALGORITHMS}")
    base = PRESETS[algo][_check_mode(action_mode)]
    params = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for key, value in (overrides or {}).items():
        if key == "policy_kwargs" and isinstance(value, dict):
            params["policy_kwargs"] = {**params.get("policy_kwargs", {}), **value}
        else:
            params[key] = value
    check_hyperparams(algo, params)
    return params
