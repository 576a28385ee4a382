"""Run folders: what ``train-agent`` writes, how it is read back, and never losing one.

A run folder holds ``model.zip`` (SB3), ``config.json`` (the :class:`AgentConfig`, the
training time, the last training metrics and the SHA-256 of ``model.zip``), ``curve.json``
(the overoptimization curve, when recorded), TensorBoard logs under ``tb/`` and, after
evaluation, ``eval.json`` / ``eval.md`` / ``final_canvases.png``. Nothing in it is replaced
without ``overwrite``.

A run may come from someone else, so reading one runs no code from it: the policy network is
rebuilt from the validated ``config.json`` and only its tensors are read from ``model.zip``
(``policy.pth``, weights-only); SB3's ``data`` entry, whose ``:serialized:`` values SB3 would
unpickle, is read as JSON for one number (DQN's exploration rate) and nothing else. A run's
config cannot make reading it train a model (reward models named by training specs must be
in the cache already) or write anywhere.

Training writes into a staging sibling and publishes the run by renaming it into place, so
an interrupt never leaves a new ``model.zip`` beside an old ``config.json`` (the config
records the model's hash, checked on reading) and old TensorBoard logs do not survive
``overwrite``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from flatnet_rl.agents.algorithm import build_algorithm
from flatnet_rl.agents.config import AgentConfig
from flatnet_rl.agents.envs import make_env, reward_classifier
from flatnet_rl.classifier import Classifier
from flatnet_rl.util.checks import is_plain_number
from flatnet_rl.util.devices import resolve_device
from flatnet_rl.util.fingerprint import file_sha256
from flatnet_rl.util.paths import check_writable_dir

RUN_FILES = ("model.zip", "config.json")
#: Everything a run folder's writers own: an ``overwrite`` replaces these and only these.
RUN_OWNED = (*RUN_FILES, "curve.json", "tb", "eval.json", "eval.md", "final_canvases.png")
#: Largest ``policy.pth`` read from a ``model.zip`` (uncompressed): policies here are small.
MAX_POLICY_BYTES = 2**30


class RunExistsError(FileExistsError):
    """An output would replace existing results and ``overwrite`` was not given."""


def check_outputs(
    folder: str | Path,
    files: Iterable[str],
    *,
    overwrite: bool,
    hint: str = "pass --overwrite to replace them",
) -> None:
    """``folder`` can be written and holds none of ``files`` (unless ``overwrite``); ``hint``
    ends the error (the flags that would proceed).

    Raises:
        RunExistsError: a result would be replaced.
        ValueError: ``folder`` is a file, or cannot be created or written.
    """
    folder = Path(folder)
    check_writable_dir(folder)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not overwrite:
        raise RunExistsError(
            f"{folder} already holds {', '.join(existing)}: {hint}, or choose another output folder"
        )


#: The SHA-256 of a file (``config.json`` records its ``model.zip``'s).
model_sha256 = file_sha256


def _run_paths(run_dir: str | Path) -> tuple[Path, Path, Path]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir} is not a folder: expected a train-agent run folder")
    config_path, model_path = run_dir / "config.json", run_dir / "model.zip"
    for path in (config_path, model_path):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: is {run_dir} a flatnet-rl agent run folder?"
            )
    return run_dir, config_path, model_path


def _check_env_module(env_id: Any) -> None:
    """A run's ``module:EnvId`` never makes reading it import a module: that module's code
    would run. The user imports it (registering the env) before evaluating the run."""
    import sys

    if not isinstance(env_id, str) or ":" not in env_id:
        return
    module = env_id.split(":", 1)[0]
    if module != "flatnet_rl" and module not in sys.modules:
        raise ValueError(
            f"the run's env {env_id!r} lives in module {module!r}, which reading a run never "
            "imports: import it yourself (registering the env) before evaluating the run"
        )


def read_run_config(run_dir: str | Path) -> AgentConfig:
    """The validated :class:`AgentConfig` of a run folder (``out`` is the folder itself).

    Raises:
        FileNotFoundError: not a run folder.
        ValueError: a config that cannot be read, is incomplete, or names another model.
    """
    run_dir, config_path, model_path = _run_paths(run_dir)
    try:
        values = json.loads(config_path.read_text())
        if not isinstance(values, dict):
            raise TypeError("not a JSON object")
        _check_env_module(values.get("env_id"))
        config = AgentConfig.from_dict(values)
    except (json.JSONDecodeError, TypeError, ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else err
        raise ValueError(f"{config_path} is not a valid agent config: {reason}") from None
    recorded = values.get("model_sha256")
    if recorded is not None and recorded != model_sha256(model_path):
        raise ValueError(
            f"{model_path} is not the model {config_path} describes (its SHA-256 differs): "
            "the run folder is incomplete or was edited; train the run again"
        )
    # Where the run was written is not where it is now; nothing is written through it.
    return dataclasses.replace(config, out=str(run_dir))


def _read_policy_tensors(model_path: Path, device: torch.device) -> tuple[dict, dict[str, Any]]:
    """``policy.pth`` (tensors only) and the JSON of SB3's ``data`` entry, unpickling nothing."""
    try:
        with zipfile.ZipFile(model_path) as archive:
            names = set(archive.namelist())
            if "policy.pth" not in names:
                raise ValueError("it holds no policy.pth")
            if archive.getinfo("policy.pth").file_size > MAX_POLICY_BYTES:
                raise ValueError(f"its policy.pth is larger than {MAX_POLICY_BYTES} bytes")
            raw = archive.read("policy.pth")
            data_text = archive.read("data").decode() if "data" in names else "{}"
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{model_path} is not an SB3 model archive: {err}") from None
    except ValueError as err:
        raise ValueError(f"{model_path} is not an SB3 model archive: {err}") from None
    try:
        state = torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except Exception as err:  # a crafted file: any failure means "not plain tensors"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{model_path}: policy.pth is not a plain tensor file ({first[:160]})"
        ) from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise ValueError(f"{model_path}: policy.pth is not a mapping of names to tensors")
    try:
        data = json.loads(data_text)
    except (json.JSONDecodeError, RecursionError):
        data = {}
    return state, data if isinstance(data, dict) else {}


def load_policy(
    run_dir: str | Path,
    config: AgentConfig,
    proxy: Classifier,
    device: str | torch.device = "auto",
) -> BaseAlgorithm:
    """The run's SB3 model: built from ``config`` and the tensors of ``model.zip``.

    Raises:
        ValueError: an archive without plain tensors, or tensors of another network.
    """
    _, _, model_path = _run_paths(run_dir)
    resolved = resolve_device(device)
    state, data = _read_policy_tensors(model_path, resolved)
    built = dataclasses.replace(config, device=str(resolved))
    venv = make_env(built, proxy, n_envs=1, evaluation=True)
    try:  # the hyperparameters' warnings were shown when the run was trained
        with tempfile.TemporaryDirectory() as unused_logs, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            model = build_algorithm(built, venv, tensorboard_log=unused_logs)
    finally:
        venv.close()
    try:
        model.policy.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[0]
        raise ValueError(
            f"{model_path} does not hold the policy its config.json describes: {first}"
        ) from None
    rate = data.get("exploration_rate")  # DQN: epsilon of sampled actions, a plain number
    if is_plain_number(rate) and 0 <= rate <= 1:
        model.exploration_rate = float(rate)
    model.policy.set_training_mode(False)
    return model


def load_run(
    run_dir: str | Path, device: str = "auto", *, reward: Classifier | None = None
) -> tuple[AgentConfig, BaseAlgorithm]:
    """The config and the SB3 model saved by :func:`~flatnet_rl.agents.train.train_agent`.

    ``reward``: the run's reward classifier when it was given as an object to training;
    default: the config's reward model, loaded (never trained: see the module docstring).

    Raises:
        FileNotFoundError: not a run folder.
        ValueError: a config that cannot be read or is incomplete, a reward model that would
            need training, or a model archive without plain tensors.
    """
    config = read_run_config(run_dir)
    proxy = reward if reward is not None else run_reward_model(config)
    return config, load_policy(run_dir, config, proxy, device)


def run_reward_model(config: AgentConfig) -> Classifier:
    """The reward model of a saved run, on the CPU, loaded but never trained."""
    return reward_classifier(config, device="cpu", train=False)


@contextlib.contextmanager
def staged_run(out: str | Path) -> Iterator[Path]:
    """A staging folder beside ``out`` for a run's files; removed unless published."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".staging", dir=out.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish_run(staging: Path, out: str | Path) -> Path:
    """Move a staged run into ``out`` so that readers see the old run or the new, whole.

    A new or empty ``out``, or one holding only run files, is replaced by one rename (old
    TensorBoard logs and evaluations go with the old folder). A folder that also holds other
    files keeps them: the run's entries are replaced one by one, ``config.json`` last, and
    :func:`read_run_config` refuses a ``model.zip`` whose hash the config does not record.
    """
    out = Path(out)
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(staging, out)
        staging.mkdir()  # for staged_run's cleanup
        return out
    entries = {p.name for p in out.iterdir()}
    trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    try:
        if entries <= set(RUN_OWNED) and not out.is_symlink():
            os.replace(out, trash / out.name)
            os.replace(staging, out)
            staging.mkdir()
            return out
        for name in sorted(entries & set(RUN_OWNED)):
            os.replace(out / name, trash / name)  # no old log or evaluation stays
        staged = sorted(p.name for p in staging.iterdir())
        for name in sorted(staged, key=lambda n: n == "config.json"):
            os.replace(staging / name, out / name)
        return out
    finally:
        shutil.rmtree(trash, ignore_errors=True)
