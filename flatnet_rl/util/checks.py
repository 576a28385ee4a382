"""Type checks for validated arguments: an int or a number, never a bool.

``True`` is an ``int`` to Python, but ``canvas_size=True`` or ``seeds=False`` is surely a
mistake, so every check here refuses bools (``np.bool_`` too). The ``plain`` variants take
Python values only (numpy scalars are refused, except ``np.float64``, a ``float``): they
serve values that come from JSON, the command line or a config file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

_BOOLS = (bool, np.bool_)


def is_int(value: object) -> bool:
    """An int, numpy ints included, but not a bool."""
    return isinstance(value, int | np.integer) and not isinstance(value, _BOOLS)


def is_plain_int(value: object) -> bool:
    """A Python int (numpy ints refused) but not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_real(value: object) -> bool:
    """An int or a float, numpy ones included, but not a bool (nor a complex)."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, _BOOLS
    )


def is_number(value: object) -> bool:
    """An int, a float or any numpy number (complex included), but not a bool."""
    return isinstance(value, int | float | np.number) and not isinstance(value, _BOOLS)


def is_plain_number(value: object) -> bool:
    """A Python int or float (``np.float64`` is one; other numpy numbers are not), not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_plain_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """Refuse ``value`` unless it is a Python int (not a bool) ``>= low`` (and ``<= high``):
    ``ValueError("<name> must be an integer >= <low>, got ...")``, or ``... an integer in
    [<low>, <high>], got ...`` given ``high``."""
    if is_plain_int(value) and low <= value and (high is None or value <= high):
        return
    bound = f">= {low}" if high is None else f"in [{low}, {high}]"
    raise ValueError(f"{name} must be an integer {bound}, got {value!r}")


# Config dataclass fields that state their own limits. The limits live in the field's metadata,
# so that one declaration serves the config's check (``check_fields``) and the command line,
# which reads the same metadata to build its options (:mod:`flatnet_rl.cli.config_options`).


def int_field(default: int | None, low: int, high: int | None = None) -> Any:
    """A dataclass field holding an int in ``[low, high]`` (``None`` too if it is the default)."""
    return dataclasses.field(default=default, metadata={"low": low, "high": high})


def float_field(default: float | None, interval: str = "(-inf, inf)") -> Any:
    """A dataclass field holding a finite number in ``interval``, written as in mathematics:
    ``"[0, 1)"``, ``"(0, inf)"`` (``None`` too if it is the default)."""
    parse_interval(interval)  # a typo in the declaration fails at import
    return dataclasses.field(default=default, metadata={"interval": interval})


def parse_interval(interval: str) -> tuple[float, float, bool, bool]:
    """``"[0, 1)"`` -> ``(0.0, 1.0, True, False)``: the bounds and whether each is included."""
    text = interval.strip()
    low, _, high = text[1:-1].partition(",")
    if text[:1] not in "[(" or text[-1:] not in "])" or not high:
        raise ValueError(f"an interval looks like [0, 1) or (0, inf), got {interval!r}")
    return float(low), float(high), text[0] == "[", text[-1] == "]"


def in_interval(value: object, interval: str) -> bool:
    """A finite real number (not a bool) inside ``interval``."""
    if not is_real(value) or not np.isfinite(value):
        return False
    low, high, low_in, high_in = parse_interval(interval)
    above = value >= low if low_in else value > low
    below = value <= high if high_in else value < high
    return bool(above and below)


def choice_field(default: str | None, choices: Sequence[str]) -> Any:
    """A dataclass field holding one of ``choices`` (``None`` too if it is the default)."""
    return dataclasses.field(default=default, metadata={"choices": tuple(choices)})


def check_fields(config: Any) -> None:
    """Check every field of a dataclass instance declared by :func:`int_field`,
    :func:`float_field` or :func:`choice_field`: ``ValueError`` naming the first one out of
    its limits."""
    for spec in dataclasses.fields(config):
        value = getattr(config, spec.name)
        if value is None and spec.default is None:
            continue
        if "low" in spec.metadata:
            check_plain_int(spec.name, value, spec.metadata["low"], spec.metadata["high"])
        interval = spec.metadata.get("interval")
        if interval is not None and not in_interval(value, interval):
            where = "" if interval == "(-inf, inf)" else f" in {interval}"
            raise ValueError(f"{spec.name} must be a finite number{where}, got {value!r}")
        choices = spec.metadata.get("choices")
        if choices is not None and value not in choices:
            raise ValueError(f"{spec.name} must be one of {', '.join(choices)}, got {value!r}")
