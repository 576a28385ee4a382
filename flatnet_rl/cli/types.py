"""argparse value types: every user mistake becomes a one-line error naming the flag."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from typing import Any

from flatnet_rl.util.checks import in_interval

#: Largest integer a count flag accepts (epochs, timesteps, ...): beyond it a typo would run
#: for days or overflow progress bars.
MAX_COUNT = 10**12


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from err
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def probability(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = finite_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1), got {text!r}")
    return value


def float_in(interval: str) -> Callable[[str], float]:
    """A finite number in ``interval`` (``"[0, 1)"``, ``"(0, inf)"``)."""

    def parse(text: str) -> float:
        value = finite_float(text)
        if not in_interval(value, interval):
            raise argparse.ArgumentTypeError(f"expected a number in {interval}, got {text!r}")
        return value

    parse.__name__ = f"number in {interval}"
    return parse


def int_in(low: int, high: int = MAX_COUNT) -> Callable[[str], int]:
    """An integer in ``[low, high]``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from err
        if not low <= value <= high:
            bound = f">= {low}" if high == MAX_COUNT else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"expected an integer {bound}, got {value}")
        return value

    parse.__name__ = f"integer {low}..{high}"
    return parse


non_negative_int = int_in(0)
positive_int = int_in(1)


def csv_of(kind: Callable[[str], Any]) -> Callable[[str], list]:
    """A comma-separated list of ``kind`` values."""

    def parse(text: str) -> list:
        items = [t for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list, got {text!r}")
        return [kind(t.strip()) for t in items]

    return parse


def non_empty(text: str) -> str:
    """Any text but an empty one (an empty path or name is a slip, never a choice)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a non-empty value")
    return text


def csv_tuple(text: str) -> tuple[str, ...]:
    """A comma-separated list of words, as a tuple."""
    return tuple(csv_of(str)(text))


def json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}: {err}") from err
    except RecursionError:
        raise argparse.ArgumentTypeError(f"JSON nested too deeply: {text!r:.60}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {text!r}")
    return value


def target(text: str) -> int | str | None:
    """A class index, a class name, or ``random``/``none`` (a random target per episode)."""
    if text in ("random", "none", "None"):
        return None
    try:
        value = int(text)
    except ValueError:
        return text
    if value < 0:
        raise argparse.ArgumentTypeError(f"target must be a class index >= 0, got {value}")
    return value
