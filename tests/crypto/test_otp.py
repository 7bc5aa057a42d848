"""HOTP against the published vectors of RFC 4226 Appendix D (REFERENCES.md section 2)."""

from __future__ import annotations

import pytest

from bastion.crypto import hotp

SECRET = b"12345678901234567890"
# RFC 4226 Appendix D: counter -> HOTP (SHA-1, 6 digits).
RFC4226 = ["755224", "287082", "359152", "969429", "338314",
           "254676", "287922", "162583", "399871", "520489"]  # fmt: skip


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226)))
def test_rfc4226_appendix_d(counter: int, expected: str) -> None:
    assert hotp(SECRET, counter) == expected


@pytest.mark.parametrize(
    "kwargs", [{"algorithm": "md5"}, {"digits": 5}, {"digits": 11}, {"counter": -1}]
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"counter": 0, **kwargs}
    counter = args.pop("counter")
    with pytest.raises(ValueError):
        hotp(SECRET, counter, **args)  # type: ignore[arg-type]
