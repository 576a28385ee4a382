"""Run folders: what ``train-agent`` writes, how it is read back, and never losing one.

A run folder holds ``model.zip`` (SB3), ``config.json`` (the :class:`AgentConfig`, the
training time and the last training metrics), ``curve.json`` (the overoptimization curve,
when recorded), TensorBoard logs under ``tb/`` and, after evaluation, ``eval.json`` /
``eval.md`` / ``final_canvases.png``. Nothing in it is replaced without ``overwrite``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from stable_baselines3.common.base_class import BaseAlgorithm

from flatnet_rl.agents.config import AgentConfig
from flatnet_rl.agents.presets import algorithm_class
from flatnet_rl.classifier import resolve_device
from flatnet_rl.util.paths import check_writable_dir

RUN_FILES = ("model.zip", "config.json")


class RunExistsError(FileExistsError):
    """An output would replace existing results and ``overwrite`` was not given."""


def check_outputs(folder: str | Path, files: Iterable[str], *, overwrite: bool) -> None:
    """``folder`` can be written and holds none of ``files`` (unless ``overwrite``).

    Raises:
        RunExistsError: a result would be replaced.
        ValueError: ``folder`` is a file, or cannot be created or written.
    """
    folder = Path(folder)
    check_writable_dir(folder)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not overwrite:
        raise RunExistsError(
            f"{folder} already holds {', '.join(existing)}: pass --overwrite to replace "
            "them, or choose another output folder"
        )


def load_run(run_dir: str | Path, device: str = "auto") -> tuple[AgentConfig, BaseAlgorithm]:
    """The config and the SB3 model saved by :func:`~flatnet_rl.agents.train.train_agent`.

    Raises:
        FileNotFoundError: not a run folder.
        ValueError: a config that cannot be read or is incomplete.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a folder: expected a train-agent run folder")
    config_path, model_path = run_dir / "config.json", run_dir / "model.zip"
    for path in (config_path, model_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: is {run_dir} a flatnet-rl agent run folder?"
            )
    try:
        values = json.loads(config_path.read_text())
        if not isinstance(values, dict):
            raise TypeError("not a JSON object")
        config = AgentConfig.from_dict(values)
    except (json.JSONDecodeError, TypeError, ValueError) as err:
        raise ValueError(f"{config_path} is not a valid agent config: {err}") from err
    model = algorithm_class(config.algo).load(model_path, device=resolve_device(device))
    return config, model
