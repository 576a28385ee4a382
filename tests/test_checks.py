"""The validation toolkit (:mod:`flatnet_rl.util.checks`): ints and numbers, never bools."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flatnet_rl.envs import paint_config
from flatnet_rl.util.checks import (
    check_plain_int,
    is_int,
    is_number,
    is_plain_int,
    is_plain_number,
    is_real,
)

CHECKS = (is_int, is_plain_int, is_real, is_number, is_plain_number)
BOOLS = (True, False, np.True_, np.False_)
NOT_NUMBERS = (None, "3", b"3", [3], (3,), {}, np.array(3), np.array([3]), object())


@pytest.mark.parametrize("check", CHECKS)
# ids by type and position: a repr with an address would differ between pytest-xdist workers.
@pytest.mark.parametrize(
    "value",
    BOOLS + NOT_NUMBERS,
    ids=[f"{type(v).__name__}{i}" for i, v in enumerate(BOOLS + NOT_NUMBERS)],
)
def test_bools_and_non_numbers_are_refused(check, value):
    assert check(value) is False


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64])
def test_numpy_ints_are_ints_not_plain_ints(dtype):
    value = dtype(3)
    assert is_int(value) and is_real(value) and is_number(value)
    assert not is_plain_int(value) and not is_plain_number(value)


@pytest.mark.parametrize("value", [1.0, float("nan"), float("inf"), np.float64(2.5)])
def test_floats_are_numbers_not_ints(value):
    assert is_real(value) and is_number(value) and is_plain_number(value)
    assert not is_int(value) and not is_plain_int(value)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_numpy_floats_other_than_float64_are_not_plain(dtype):
    value = dtype(0.5)
    assert is_real(value) and is_number(value) and not is_plain_number(value)


def test_complex_is_a_number_only_when_numpy():
    assert is_number(np.complex128(1 + 2j)) and not is_real(np.complex128(1 + 2j))
    for check in CHECKS:
        assert not check(1 + 2j)


def test_paint_config_still_exports_is_int():
    assert paint_config.is_int is is_int


@given(st.integers())
def test_python_ints_pass_every_check(value):
    assert all(check(value) for check in CHECKS)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_is_int_agrees_with_numpy_int64(value):
    assert is_int(np.int64(value)) and is_number(np.int64(value))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_python_floats_are_numbers_not_ints(value):
    assert is_number(value) and is_real(value) and is_plain_number(value)
    assert not is_int(value) and not is_plain_int(value)


@given(st.integers(), st.integers(-50, 50), st.one_of(st.none(), st.integers(-50, 50)))
def test_check_plain_int_accepts_exactly_the_range(value, low, high):
    inside = value >= low and (high is None or value <= high)
    if inside:
        check_plain_int("n", value, low, high)
    else:
        with pytest.raises(ValueError, match=r"^n must be an integer "):
            check_plain_int("n", value, low, high)


@pytest.mark.parametrize("value", [*BOOLS, np.int64(3), 3.0, "3", None])
def test_check_plain_int_refuses_non_plain_ints(value):
    with pytest.raises(ValueError, match=r"^seeds must be an integer >= 1, got "):
        check_plain_int("seeds", value, 1)


def test_check_plain_int_messages():
    with pytest.raises(ValueError) as err:
        check_plain_int("workers", 0, 1)
    assert str(err.value) == "workers must be an integer >= 1, got 0"
    with pytest.raises(ValueError) as err:
        check_plain_int("seed", True, 0, 9)
    assert str(err.value) == "seed must be an integer in [0, 9], got True"
