"""How many threads torch uses: `--threads`, else $FLATNET_RL_THREADS, else torch's default."""

from __future__ import annotations

import os

#: Environment override of the number of torch threads (the CLI's ``--threads`` wins).
ENV_VAR = "FLATNET_RL_THREADS"


def requested_threads(threads: int | None = None) -> int | None:
    """``threads`` if given, else ``$FLATNET_RL_THREADS``, else ``None`` (the policy)."""
    if threads is None:
        text = os.environ.get(ENV_VAR, "").strip()
        if not text:
            return None
        try:
            threads = int(text)
        except ValueError:
            raise ValueError(f"${ENV_VAR} must be an integer >= 1, got {text!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return threads


def apply_thread_policy(threads: int | None = None) -> int:
    import torch

    n = requested_threads(threads)
    if n is not None:
        torch.set_num_threads(n)
    return torch.get_num_threads()
