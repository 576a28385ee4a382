"""Shared test set-up."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One intra-op thread: tiny models gain nothing from two, and two threads on two cores
    shared with other processes thrash (measured 10-20x slower under load)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_run(tmp_path):
    """A finished 64-step PPO run folder (pixel mode, 2 envs) in ``tmp_path / "run"``."""
    from flatnet_rl.agents import AgentConfig, train_agent

    config = AgentConfig(
        timesteps=64,
        n_envs=2,
        out=str(tmp_path / "run"),
        hyperparams={"n_steps": 32, "batch_size": 64},
    )
    return train_agent(config, progress=False)


def one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI, expect a user error: exit 2, one line, no traceback; return the line."""
    from flatnet_rl.cli import main as cli_main

    code = cli_main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if "%|" not in line]  # no tqdm bars
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err
    return lines[0]
