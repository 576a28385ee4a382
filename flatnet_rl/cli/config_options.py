"""Command-line options generated from the config dataclasses: each option written once.

A config field (:class:`~flatnet_rl.agents.AgentConfig`, ...) is the option: its name gives
the flag (``n_envs`` -> ``--n-envs``), its docstring entry the help, its default the default,
and its declared limits (:func:`~flatnet_rl.util.checks.int_field`,
:func:`~flatnet_rl.util.checks.float_field`, :func:`~flatnet_rl.util.checks.choice_field`)
the value type, so a bad value is a one-line
error before any work.

The parser must not import torch (``--help`` returns at once, see ``test_cli_startup.py``),
and the config modules stand on torch. So the fields are read once, at development time, into
``config_options.json`` beside this module (``python -m flatnet_rl.cli.config_options``);
``tests/test_cli_options.py`` regenerates it and fails if the file is stale, as
:mod:`flatnet_rl.cli.choices` is checked against its sources.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from flatnet_rl.cli.types import (
    MAX_COUNT,
    csv_of,
    csv_tuple,
    finite_float,
    float_in,
    int_in,
    json_object,
    non_empty,
)

#: The config dataclasses the command line builds options from: name -> module.
CONFIGS = {
    "AgentConfig": "flatnet_rl.agents.config",
    "AgentGrid": "flatnet_rl.evaluation.agent_jobs",
    "DataSpec": "flatnet_rl.data.labelled",
    "Objective": "flatnet_rl.losses",
    "TrainConfig": "flatnet_rl.training.trainer",
}
#: The field metadata that limits a value (:mod:`flatnet_rl.util.checks`).
LIMITS = ("low", "high", "interval", "choices")
SCHEMA = Path(__file__).with_name("config_options.json")


def plain_help(text: str) -> str:
    """A docstring entry as command-line help: reST roles and literals as plain words."""
    # As Sphinx shows them: :func:`~a.b.c` as c, :data:`a.b.C` as a.b.C.
    text = re.sub(r":\w+:`~([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    text = re.sub(r":\w+:`([^`]+)`", r"\1", text)
    text = " ".join(text.replace("``", "").split())
    return text[:-1] if text.endswith(".") and not text.endswith("...") else text


def describe(cls: type) -> dict[str, dict[str, Any]]:
    """Each field of a config dataclass: its annotation, default, limits and help."""
    import docstring_parser

    helps: dict[str, str] = {}
    for param in docstring_parser.parse(cls.__doc__ or "").params:
        for name in param.arg_name.split(","):
            helps[name.strip()] = plain_help(param.description or "")
    fields = {}
    for spec in dataclasses.fields(cls):
        if spec.default is not dataclasses.MISSING:
            default = spec.default
        elif spec.default_factory is not dataclasses.MISSING:
            default = spec.default_factory()
        else:
            default = None  # required: the command says how it is given
        if dataclasses.is_dataclass(default):
            continue  # a nested config (TrainConfig.data): its own fields are its options
        if spec.name not in helps:
            raise ValueError(f"{cls.__name__}.{spec.name} has no entry in the class docstring")
        fields[spec.name] = {
            "type": str(spec.type),
            "default": default,
            "help": helps[spec.name],
            **{k: v for k, v in spec.metadata.items() if k in LIMITS},
        }
    return fields


def generate() -> dict[str, dict[str, dict[str, Any]]]:
    """The schema of every config in :data:`CONFIGS` (imports the library: torch and all), as
    JSON reads it back (tuples as lists)."""
    configs = {
        name: describe(getattr(importlib.import_module(module), name))
        for name, module in CONFIGS.items()
    }
    return json.loads(json.dumps(configs))


@cache
def schema() -> dict[str, dict[str, dict[str, Any]]]:
    return json.loads(SCHEMA.read_text())


def value_type(field: Mapping[str, Any]) -> Callable[[str], Any]:
    """How the command line reads a field's value, from its annotation and limits."""
    annotation = field["type"]
    if "interval" in field:
        return float_in(field["interval"])
    if "low" in field:
        high = field["high"]
        return int_in(field["low"], MAX_COUNT if high is None else high)
    if annotation.startswith("dict["):
        return json_object
    if annotation.startswith("list["):
        return csv_of(str)
    if annotation.startswith("tuple["):
        return csv_tuple
    if annotation.startswith("float"):
        return finite_float
    return non_empty  # a string


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config: str,
    names: Sequence[str],
    *,
    flags: Mapping[str, Sequence[str]] | None = None,
    types: Mapping[str, Callable[[str], Any]] | None = None,
    defaults: Mapping[str, Any] | None = None,
    extra_help: Mapping[str, str] | None = None,
) -> None:
    """Add ``--name`` options for the fields ``names`` of ``config`` (a name in :data:`CONFIGS`).

    ``flags`` gives a field other spellings (the first is shown; the rest are aliases kept for
    older command lines); ``types`` reads a value another way than the annotation says (a JSON
    mixture or a word); ``defaults`` are the command's own where they differ from the
    dataclass's (a recipe, or ``None`` for "decided from the other options"); ``extra_help``
    appends what the docstring cannot know (preset values).
    The option's destination is the field's name, so :func:`config_kwargs` collects them.
    """
    fields = schema()[config]
    spellings = {n: (flags or {}).get(n) or [f"--{n.replace('_', '-')}"] for n in names}
    for name in names:
        field = fields[name]
        help_text = field["help"] + (
            f" ({extra_help[name]})" if extra_help and name in extra_help else ""
        )
        # Another field named in the help (curve_episodes) is shown as its flag.
        help_text = re.sub(
            r"\b[a-z]+(?:_[a-z]+)+\b",
            lambda m: spellings.get(m.group(0), [m.group(0)])[0],
            help_text,
        )
        help_text = help_text.replace("%", "%%")  # argparse formats help with %
        default = (defaults or {}).get(name, field["default"])
        options: dict[str, Any] = {"dest": name, "default": default, "help": help_text}
        if field["type"] == "bool":
            options["action"] = argparse.BooleanOptionalAction
        else:
            options["type"] = (types or {}).get(name) or value_type(field)
            if "choices" in field:
                options["choices"] = field["choices"]
        parser.add_argument(*spellings[name], **options)


def config_kwargs(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The parsed values of the options :func:`add_config_options` added, by field name."""
    return {name: getattr(args, name) for name in names}


if __name__ == "__main__":  # python -m flatnet_rl.cli.config_options: rewrite the schema
    SCHEMA.write_text(json.dumps(generate(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {SCHEMA}")
