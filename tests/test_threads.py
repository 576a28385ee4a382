"""The thread policy (flatnet_rl.util.threads): settings, the override order, and that the
entry points apply it once. Its speed is measured in benchmarks/bench_threads.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from flatnet_rl.util import threads


@pytest.fixture
def fresh_policy(monkeypatch):
    """No policy applied yet in this process; torch's threads restored afterwards."""
    before = torch.get_num_threads()
    monkeypatch.setattr(threads, "_applied", [])
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    yield
    torch.set_num_threads(before)


def test_settings_parse_and_the_environment_is_the_fallback(monkeypatch):
    monkeypatch.delenv(threads.ENV_VAR, raising=False)
    assert threads.parse_threads(None) == "auto"
    assert threads.parse_threads("free") == "free"
    assert threads.parse_threads("3") == 3
    monkeypatch.setenv(threads.ENV_VAR, " 2 ")
    assert threads.parse_threads(None) == 2
    assert threads.parse_threads(5) == 5  # --threads wins over the environment
    monkeypatch.setenv(threads.ENV_VAR, "torch")
    assert threads.parse_threads(None) == "torch"


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", 0, True, 2.0])
def test_bad_settings_are_one_clear_error(monkeypatch, bad):
    with pytest.raises(ValueError, match="must be an integer >= 1 or one of auto, torch, free"):
        threads.parse_threads(bad)
    if isinstance(bad, str):
        monkeypatch.setenv(threads.ENV_VAR, bad)
        with pytest.raises(ValueError, match=r"^\$FLATNET_RL_THREADS must be"):
            threads.parse_threads(None)


@given(st.floats(0, 1000) | st.just(None))
def test_free_cores_is_between_one_and_the_usable_cores(load):
    cores = threads.usable_cores()
    original = os.getloadavg
    try:
        if load is None:

            def no_load():
                raise OSError("no load average here")

            os.getloadavg = no_load
        else:
            os.getloadavg = lambda: (load, load, load)
        free = threads.free_cores()
    finally:
        os.getloadavg = original
    assert 1 <= free <= cores
    if load is None or load < 0.5:
        assert free == cores
    if load is not None and load >= cores:
        assert free == 1


def test_policies_ask_for_their_thread_counts():
    assert threads.policy_threads("auto") == 1
    assert threads.policy_threads("torch") is None
    assert threads.policy_threads(4) == 4
    assert 1 <= threads.policy_threads("free") <= threads.usable_cores()


def test_ensure_applies_once_then_leaves_the_caller_in_charge(fresh_policy):
    torch.set_num_threads(2)
    assert threads.ensure_thread_policy() == 1  # auto
    assert torch.get_num_threads() == 1
    torch.set_num_threads(2)  # the caller's own choice after the entry point ran
    assert threads.ensure_thread_policy() == 1
    assert torch.get_num_threads() == 2


def test_an_explicit_count_and_torch_default(fresh_policy):
    assert threads.apply_thread_policy(3) == 3
    torch.set_num_threads(2)
    assert threads.apply_thread_policy("torch") == 2  # left as it was


@pytest.mark.parametrize(
    ("setting", "user_wait", "threads_wanted", "wait_policy"),
    [
        ("auto", None, "1", "PASSIVE"),
        ("auto", "ACTIVE", "1", "ACTIVE"),  # the user's wait policy is kept
        ("3", None, "3", "PASSIVE"),
        ("torch", None, "default", None),  # untouched
    ],
)
def test_a_fresh_process_gets_the_policy_before_torch_loads(
    setting, user_wait, threads_wanted, wait_policy
):
    code = (
        "import os, sys\n"
        "from flatnet_rl.util.threads import apply_thread_policy\n"
        "assert 'torch' not in sys.modules\n"
        "n = apply_thread_policy()\n"
        "import torch\n"
        "print(n, torch.get_num_threads(), os.environ.get('OMP_WAIT_POLICY'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
    env[threads.ENV_VAR] = setting
    if user_wait:
        env["OMP_WAIT_POLICY"] = user_wait
    if threads_wanted == "default":  # torch's own count, asked of another fresh process
        probe = "import torch; print(torch.get_num_threads())"
        torch_default = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
        ).stdout.strip()
        threads_wanted = str(min(int(torch_default), threads.usable_cores()))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    n, got, wait = result.stdout.split()
    assert n == got
    assert got == threads_wanted
    assert wait == str(wait_policy)


def test_the_command_line_applies_the_policy(fresh_policy, tmp_path, capsys):
    from flatnet_rl.cli import main

    assert main(["info", "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2
    assert threads.ensure_thread_policy() == 2  # the library entry points keep it
