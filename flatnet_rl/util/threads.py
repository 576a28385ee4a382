"""The thread policy: how many threads torch uses, set once by every entry point.

flatnet-rl's networks are small (a policy and a classifier on 8x8 to 28x28 canvases): an
operation lasts microseconds, and torch's intra-op threads meet at a barrier after each one.
When the machine is shared, one of those threads is often descheduled, and the others wait a
scheduler time slice for it at every one of the thousands of small operations of a PPO update
(measured: the default ``train-agent`` 4x slower beside two busy processes, 43x slower at load
4-5; ``benchmarks/bench_threads.py``). The policies:

* ``auto`` (the default): one intra-op thread. No barrier, nothing to wait for; alone it
  was as fast as two threads or faster, beside busy processes it degraded least, and a run's
  floating-point sums do not depend on the machine's core count.
* ``torch``: leave torch and OpenMP at their own defaults (as flatnet-rl 0.2 did).
* ``free``: as many threads as cores are free now (cores this process may use minus the
  1-minute load average, at least one); the load average lags the load it measures.
* an integer N: N threads.

The setting comes from ``--threads`` on the command line, else ``$FLATNET_RL_THREADS``, else
``auto``. The command line applies it before any subcommand imports torch, so that
``OMP_WAIT_POLICY=PASSIVE`` (idle OpenMP threads sleep instead of spinning on a shared
core, for a setting of several threads; an explicit ``OMP_WAIT_POLICY`` is kept) takes
effect; library entry points
(``train_agent``, ``evaluate_agent``, the comparisons) apply it once per process
(:func:`ensure_thread_policy`), after which it is the caller's to change.
"""

from __future__ import annotations

import os
import sys

from flatnet_rl.util.checks import is_plain_int

#: Environment override (the command line's ``--threads`` wins over it).
ENV_VAR = "FLATNET_RL_THREADS"
POLICIES = ("auto", "torch", "free")
EXPECTED = f"an integer >= 1 or one of {', '.join(POLICIES)}"

_applied: list[int] = []  # the thread count this process was given, once applied


def parse_threads(value: int | str | None) -> int | str:
    """A policy name or a thread count >= 1; ``None`` reads ``$FLATNET_RL_THREADS``."""
    source = "threads"
    if value is None:
        value = os.environ.get(ENV_VAR, "").strip() or "auto"
        source = f"${ENV_VAR}"
    if isinstance(value, str):
        if value in POLICIES:
            return value
        try:
            value = int(value)
        except ValueError:
            raise ValueError(f"{source} must be {EXPECTED}, got {value!r}") from None
    if not is_plain_int(value) or value < 1:
        raise ValueError(f"{source} must be {EXPECTED}, got {value!r}")
    return value


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def free_cores() -> int:
    """Usable cores minus the 1-minute load average (at least 1; all of them if unknown)."""
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return max(1, min(cores, round(cores - load)))


def policy_threads(policy: int | str) -> int | None:
    """The thread count a setting asks for (``None``: leave torch's as it is)."""
    if isinstance(policy, int):
        return policy
    if policy == "torch":
        return None
    if policy == "free":
        return free_cores()
    return 1  # auto


def apply_thread_policy(threads: int | str | None = None) -> int:
    """Set torch's intra-op threads by the policy (see the module docstring); returns them.

    Call it before importing torch where you can: the OpenMP wait policy is read once, when
    torch loads.
    """
    setting = parse_threads(threads)
    if setting != "torch" and "torch" not in sys.modules:
        # Read by OpenMP once, when torch loads: later it would be a lie. An explicit
        # OMP_WAIT_POLICY set before torch loaded is the user's and is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    count = policy_threads(setting)
    if count is not None:
        torch.set_num_threads(count)
    _applied[:] = [torch.get_num_threads()]
    return _applied[0]


def ensure_thread_policy() -> int:
    """Apply the policy once per process (a no-op once the CLI or an earlier call has)."""
    if _applied:
        return _applied[0]
    return apply_thread_policy()
