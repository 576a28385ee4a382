"""Hyperparameter presets per algorithm, tuned for FlatnetPaint-v0 (8x8, pixel actions).

Kept in one readable place; ``train_agent(..., hyperparams={...})`` overrides any entry.
``features_extractor`` picks the policy's input network for Dict observations: ``"flatten"``
(SB3's CombinedExtractor: flattened canvas + one-hot target; it learned fastest in our runs)
or ``"canvas_cnn"`` (:class:`~flatnet_rl.agents.features.CanvasFeaturesExtractor`).
Why these values: episodes are short (<= 32 steps) and the shaped reward is dense, so a
short rollout per env suffices. The discount is low on purpose (``gamma=0.5``): with a
potential-based reward each pixel's reward is the change in p_target it causes, and a short
horizon credits a pixel mostly with that change instead of with the noisy outcome of the
whole episode. At 300k steps, seed 0, judge p_target was 0.10 / 0.66 / 0.76 / 0.93 / 0.86
for gamma 0.99 / 0.9 / 0.8 / 0.5 / 0.3 (``python examples/sweep_gamma.py --full``).
The entropy bonus keeps the 65-way pixel policy exploring long enough to find pixels that
raise p_target for every digit.

Only the PPO preset is tuned. The A2C and DQN presets are starting points: with its preset,
``flatnet-rl train-agent --algo a2c --timesteps 300000`` ends at judge p_target 0.105, i.e.
A2C has not learned to paint yet.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

ALGORITHMS = ("ppo", "a2c", "dqn")
#: Preset keys that are ours, not SB3 constructor arguments.
OWN_KEYS = ("features_extractor",)
FEATURES_EXTRACTORS = ("flatten", "canvas_cnn")
#: Training start canvases on the paint env: 3 episodes in 4 start from a partly drawn target
#: digit. From a blank canvas the flatnet reward stays flat until a good part of a digit is
#: drawn; with blank starts only, PPO reached judge p_target 0.45 instead of 0.89 at 300k steps
#: (``flatnet-rl train-agent --timesteps 300000 [--start blank]``, README).
CURRICULUM: dict[str, float] = {"blank": 0.25, "partial": 0.75}

PRESETS: dict[str, dict[str, Any]] = {
    "ppo": {
        "n_steps": 128,
        "batch_size": 256,
        "n_epochs": 10,
        "learning_rate": 3e-4,
        "gamma": 0.5,
        "gae_lambda": 0.95,
        "clip_range": 0.2,
        "ent_coef": 0.01,
        "vf_coef": 0.5,
        "features_extractor": "flatten",
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "a2c": {
        "n_steps": 16,
        "learning_rate": 7e-4,
        "gamma": 0.99,
        "gae_lambda": 0.95,
        "ent_coef": 0.01,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    "dqn": {
        "learning_rate": 5e-4,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "batch_size": 128,
        "gamma": 0.99,
        "train_freq": 4,
        "target_update_interval": 2_000,
        "exploration_fraction": 0.3,
        "exploration_final_eps": 0.05,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
}


#: Training steps of ``train-agent`` per paint-env action mode (what its preset needs).
DEFAULT_TIMESTEPS: dict[str, int] = {"pixel": 200_000, "pen": 300_000}


def default_timesteps(action_mode: str) -> int:
    """The default training budget of an action mode."""
    if action_mode not in DEFAULT_TIMESTEPS:
        raise ValueError(
            f"unknown action mode {action_mode!r}; expected {sorted(DEFAULT_TIMESTEPS)}"
        )
    return DEFAULT_TIMESTEPS[action_mode]


def algorithm_class(algo: str) -> type:
    """The SB3 class of an algorithm name."""
    from stable_baselines3 import A2C, DQN, PPO

    classes = {"ppo": PPO, "a2c": A2C, "dqn": DQN}
    if algo not in classes:
        raise ValueError(f"unknown algorithm {algo!r}; expected one of {ALGORITHMS}")
    return classes[algo]


#: Hyperparameters with a known valid range: name -> (low, high, low inclusive).
_RANGES: dict[str, tuple[float, float, bool]] = {
    "gamma": (0.0, 1.0, False),
    "gae_lambda": (0.0, 1.0, True),
    "learning_rate": (0.0, math.inf, False),
    "clip_range": (0.0, math.inf, False),
    "ent_coef": (0.0, math.inf, True),
    "vf_coef": (0.0, math.inf, True),
    "max_grad_norm": (0.0, math.inf, False),
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
    accepted -= {"self", "policy", "env"}
    for key, value in params.items():
        if key in OWN_KEYS:
            if key == "features_extractor" and value not in FEATURES_EXTRACTORS:
                raise ValueError(
                    f"features_extractor must be one of {FEATURES_EXTRACTORS}, got {value!r}"
                )
            continue
        if key not in accepted:
            raise ValueError(
                f"hyperparameter {key!r} is not taken by {algo}; it takes "
                f"{', '.join(sorted(accepted))}"
            )
        if key in _RANGES and not callable(value):
            low, high, inclusive = _RANGES[key]
            number = isinstance(value, int | float) and not isinstance(value, bool)
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
        if key in _POSITIVE_INTS and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"hyperparameter {key} must be an integer >= 1, got {value!r}")
        if key == "policy_kwargs" and not isinstance(value, dict):
            raise ValueError(f"policy_kwargs must be a JSON object, got {value!r}")


def preset(algo: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy of the preset for ``algo`` with ``overrides`` applied (policy_kwargs merged),
    checked by :func:`check_hyperparams`."""
    if algo not in PRESETS:
        raise ValueError(f"unknown algorithm {algo!r}; expected one of {ALGORITHMS}")
    params = {k: (dict(v) if isinstance(v, dict) else v) for k, v in PRESETS[algo].items()}
    for key, value in (overrides or {}).items():
        if key == "policy_kwargs" and isinstance(value, dict):
            params["policy_kwargs"] = {**params.get("policy_kwargs", {}), **value}
        else:
            params[key] = value
    check_hyperparams(algo, params)
    return params
