"""AUTH-1: Bastion's own TOTP code path against RFC 6238 Appendix B (all 18 values,
through ``bastion.identity.totp`` and ``bastion.crypto.hotp``), cross-checked
with pyotp, and the acceptance rules: +-1 step, replay refused, out of sync
reported distinctly within +-10 steps."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from bastion.identity import totp
from bastion.identity.totp import Outcome

# RFC 6238 Appendix B seeds (the longer SHA-256/512 seeds of its Appendix A code).
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890" * 6 + b"1234",
}
# Time -> (SHA1, SHA256, SHA512), 8 digits, X = 30, T0 = 0.
APPENDIX_B = {
    59: ("94287082", "46119246", "90693936"),
    1111111109: ("07081804", "68084774", "25091201"),
    1111111111: ("14050471", "67062674", "99943326"),
    1234567890: ("89005924", "91819424", "93441116"),
    2000000000: ("69279037", "90698825", "38618901"),
    20000000000: ("65353130", "77737706", "47863826"),
}
VECTORS = [
    (t, algorithm, codes[i])
    for t, codes in APPENDIX_B.items()
    for i, algorithm in enumerate(("sha1", "sha256", "sha512"))
]


def test_all_eighteen_vectors_are_listed() -> None:
    assert len(VECTORS) == 18


@pytest.mark.parametrize(("moment", "algorithm", "expected"), VECTORS)
def test_rfc6238_appendix_b(moment: int, algorithm: str, expected: str) -> None:
    seed = SEEDS[algorithm]
    assert totp.code_at(seed, moment, digits=8, algorithm=algorithm) == expected
    when = datetime.fromtimestamp(moment, UTC)  # the same through a datetime
    assert totp.code_at(seed, when, digits=8, algorithm=algorithm) == expected


@pytest.mark.parametrize("moment", [0, 29, 30, 59, 1_700_000_000, 20_000_000_000])
def test_agrees_with_pyotp_on_random_seeds(moment: int) -> None:
    seed = totp.new_seed()
    reference = pyotp.TOTP(base64.b32encode(seed).decode())
    assert totp.code_at(seed, moment) == reference.at(moment)


def test_seeds_are_160_random_bits() -> None:
    seeds = {totp.new_seed() for _ in range(50)}
    assert len(seeds) == 50 and all(len(s) == 20 for s in seeds)


NOW = datetime(2026, 1, 5, 9, 0, 10, tzinfo=UTC)
SEED = b"an example seed of 20"[:20]


def _code(offset_steps: int) -> str:
    return totp.code_at(SEED, NOW.timestamp() + 30 * offset_steps)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_the_current_step_and_one_either_side_are_accepted(offset: int) -> None:
    result = totp.check(SEED, _code(offset), NOW, None)
    assert result == totp.Check(Outcome.ACCEPTED, totp.time_step(NOW) + offset)


@pytest.mark.parametrize("offset", [-10, -5, -2, 2, 7, 10])
def test_within_ten_steps_is_out_of_sync_not_wrong(offset: int) -> None:
    assert totp.check(SEED, _code(offset), NOW, None).outcome is Outcome.OUT_OF_SYNC


@pytest.mark.parametrize("offset", [-11, 11, 100])
def test_beyond_ten_steps_is_wrong(offset: int) -> None:
    code = _code(offset)
    assert all(code != _code(o) for o in range(-10, 11))  # no chance collision for this seed
    assert totp.check(SEED, code, NOW, None).outcome is Outcome.WRONG


def test_a_code_is_accepted_once() -> None:
    first = totp.check(SEED, _code(0), NOW, None)
    assert first.outcome is Outcome.ACCEPTED
    assert totp.check(SEED, _code(0), NOW, first.step).outcome is Outcome.REPLAYED


def test_an_earlier_step_than_the_last_accepted_is_a_replay() -> None:
    last = totp.time_step(NOW) + 1  # a code of the next step was already used
    assert totp.check(SEED, _code(0), NOW, last).outcome is Outcome.REPLAYED
    assert totp.check(SEED, _code(-1), NOW, last).outcome is Outcome.REPLAYED


def test_a_later_step_than_the_last_accepted_is_fine() -> None:
    last = totp.time_step(NOW) - 1
    assert totp.check(SEED, _code(0), NOW, last).outcome is Outcome.ACCEPTED


@pytest.mark.parametrize(
    "code", ["", "12345", "1234567", "abcdef", "\uff11\uff12\uff13\uff14\uff15\uff16", "12 34 5"]
)
def test_malformed_codes_are_wrong(code: str) -> None:
    assert totp.check(SEED, code, NOW, None).outcome is Outcome.WRONG


def test_spaces_inside_a_code_are_ignored() -> None:
    code = _code(0)
    assert totp.check(SEED, f" {code[:3]} {code[3:]} ", NOW, None).outcome is Outcome.ACCEPTED


def test_the_provisioning_uri_is_what_authenticator_apps_read() -> None:
    uri = urlparse(totp.provisioning_uri(SEED, "ada@example.com"))
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/Bastion:ada@example.com")
    query = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert query == {
        "secret": totp.encode_seed(SEED), "issuer": "Bastion", "algorithm": "SHA1",
        "digits": "6", "period": "30",
    }  # fmt: skip
    parsed = pyotp.parse_uri(totp.provisioning_uri(SEED, "ada@example.com"))
    assert parsed.at(NOW) == _code(0)
