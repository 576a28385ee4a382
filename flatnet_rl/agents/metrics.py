"""Reward-hacking metrics of finished episodes: proxy vs independent judge (Gao et al. 2022)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flatnet_rl.classifier import Classifier
from flatnet_rl.evaluation.metrics import entropy, fooling_rate


@dataclass
class EpisodeRecord:
    """Final canvases of finished episodes with what the proxy reward model said of them."""

    canvases: list[np.ndarray] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)

    def add(self, canvas: np.ndarray, target: int, length: int, learned_return: float) -> None:
        self.canvases.append(np.asarray(canvas, dtype=np.uint8))
        self.targets.append(int(target))
        self.lengths.append(int(length))
        self.returns.append(float(learned_return))

    def __len__(self) -> int:
        return len(self.targets)

    def clear(self) -> None:
        for values in (self.canvases, self.targets, self.lengths, self.returns):
            values.clear()


def score_episodes(
    record: EpisodeRecord, proxy: Classifier, judge: Classifier
) -> dict[str, np.ndarray]:
    """Per-episode proxy/judge p_target, proxy entropy, length and learned return."""
    canvases = np.stack(record.canvases)
    targets = np.asarray(record.targets)
    rows = np.arange(len(targets))
    proxy_probs = proxy.predict_proba(canvases)
    judge_probs = judge.predict_proba(canvases)
    return {
        "target": targets,
        "proxy_p_target": proxy_probs[rows, targets],
        "judge_p_target": judge_probs[rows, targets],
        "proxy_entropy": entropy(proxy_probs),
        "judge_predicted": judge_probs.argmax(-1),
        "ink": canvases.reshape(len(targets), -1).sum(-1),
        "length": np.asarray(record.lengths),
        "learned_return": np.asarray(record.returns),
    }


def summarize(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Means over episodes: the numbers logged during training and reported at evaluation."""
    proxy, judge = scores["proxy_p_target"], scores["judge_p_target"]
    return {
        "episodes": int(len(proxy)),
        "proxy_p_target": float(proxy.mean()),
        "judge_p_target": float(judge.mean()),
        "gap": float(proxy.mean() - judge.mean()),
        "fooling_rate": fooling_rate(proxy, judge),
        "judge_accuracy": float((scores["judge_predicted"] == scores["target"]).mean()),
        "proxy_entropy": float(scores["proxy_entropy"].mean()),
        "ep_len": float(scores["length"].mean()),
        "ink": float(scores["ink"].mean()),
        "learned_return": float(scores["learned_return"].mean()),
    }


def summarize_per_target(
    scores: dict[str, np.ndarray], num_classes: int = 10
) -> dict[int, dict[str, float]]:
    out = {}
    for k in range(num_classes):
        mask = scores["target"] == k
        if mask.any():
            out[k] = summarize({key: value[mask] for key, value in scores.items()})
    return out
