"""Every implementation of an identity port satisfies its Protocol (STYLE habit 1)."""

from __future__ import annotations

import inspect

import pytest

from bastion.identity import BreachCheck, CommonPasswordList, NullBreachCheck
from bastion.identity.common_passwords import COMMON_PASSWORDS

IMPLEMENTATIONS = [CommonPasswordList(), NullBreachCheck()]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=lambda i: type(i).__name__)
def test_conforms_to_breach_check(impl: object) -> None:
    assert isinstance(impl, BreachCheck)
    for name in ("is_breached",):
        expected = inspect.signature(getattr(BreachCheck, name))
        assert inspect.signature(getattr(type(impl), name)) == expected


def test_the_bundled_list_is_a_few_hundred_lower_case_words() -> None:
    assert 300 <= len(COMMON_PASSWORDS) <= 1000
    assert all(w == w.lower() and w.strip() == w for w in COMMON_PASSWORDS)


def test_the_list_refuses_and_the_null_check_does_not() -> None:
    assert CommonPasswordList().is_breached("Password123!")
    assert not NullBreachCheck().is_breached("Password123!")
    assert not CommonPasswordList().is_breached("tangerine-orbit-47-quill")
