"""Shared helpers for the benchmarks: timing and the machine's own float32 matmul rate."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

from flatnet_rl.util.threads import apply_thread_policy

# The entry points' thread policy, set before torch loads (FLATNET_RL_THREADS to change).
apply_thread_policy()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from stable_baselines3.common.vec_env import VecEnvWrapper  # noqa: E402


def best_of(fn: Callable[[], object], repeats: int = 5) -> float:
    """Fastest wall time of ``repeats`` calls (after one warm-up): least disturbed by noise."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def matmul_gflops(n: int = 1024, repeats: int = 5) -> float:
    """Measured float32 GEMM rate of this CPU with torch's current thread count (GFLOP/s)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    seconds = best_of(lambda: torch.mm(a, b), repeats)
    return 2 * n**3 / seconds / 1e9


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    threads = torch.get_num_threads()
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads"


class ConstantReward(VecEnvWrapper):
    """The control: same envs, reward 0, no classifier."""

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        return obs, np.zeros_like(rewards), dones, infos
