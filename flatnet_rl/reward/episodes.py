"""The end-of-episode record every reward wrapper reports, in one schema.

At the step an episode ends, ``info["flatnet_episode"]`` (per env in SB3's list of infos; a
dict of arrays with a ``"_flatnet_episode"`` mask in Gymnasium vector infos) holds:

==================  ==================================================================
key                 value
==================  ==================================================================
``return``          sum of the learned (classifier) rewards of the episode
``env_return``      sum of the wrapped env's own rewards
``length``          number of steps
``target``          the rewarded class index
``p_target_initial``  classifier probability of the target on the first image
``p_target_final``    ... on the last image
``image``           the last image as observed (the paint env: its ``uint8`` canvas)
==================  ==================================================================
"""

from __future__ import annotations

from typing import Any

import numpy as np

EPISODE_KEY = "flatnet_episode"
EPISODE_FIELDS = (
    "return",
    "env_return",
    "length",
    "target",
    "p_target_initial",
    "p_target_final",
    "image",
)


class EpisodeTracker:
    """Running sums of ``n`` envs' episodes; :meth:`finish` returns the record of one."""

    def __init__(self, n: int) -> None:
        self.returns = np.zeros(n)
        self.env_returns = np.zeros(n)
        self.lengths = np.zeros(n, dtype=np.int64)
        self.p_initial = np.zeros(n)

    def start(self, indices: Any, p_initial: np.ndarray) -> None:
        """Episodes begin in ``indices`` with these initial target probabilities."""
        self.returns[indices] = 0.0
        self.env_returns[indices] = 0.0
        self.lengths[indices] = 0
        self.p_initial[indices] = p_initial

    def add(self, learned: np.ndarray, env_rewards: np.ndarray, mask: Any = slice(None)) -> None:
        self.returns[mask] += learned[mask]
        self.env_returns[mask] += env_rewards[mask]
        self.lengths[mask] += 1

    def finish(self, i: int, target: int, p_final: float, image: Any) -> dict[str, Any]:
        return {
            "return": float(self.returns[i]),
            "env_return": float(self.env_returns[i]),
            "length": int(self.lengths[i]),
            "target": int(target),
            "p_target_initial": float(self.p_initial[i]),
            "p_target_final": float(p_final),
            # A copy: the image may be a view of an observation the env changes in place.
            "image": np.array(image, copy=True),
        }
