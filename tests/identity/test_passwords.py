"""AUTH-4: short and common passwords are refused; hashes are argon2id with the OWASP
parameters (m=19456 KiB, t=2, p=1), and a change of parameters is detected."""

from __future__ import annotations

import re

import argon2
import pytest

from bastion.identity import CommonPasswordList, InvalidEmail, NullBreachCheck, WeakPassword
from bastion.identity.passwords import PasswordHasher, PasswordPolicy, normalise_email
from bastion.settings import Settings

POLICY = PasswordPolicy(12, CommonPasswordList())
EMAIL = "grace.hopper@example.com"


def _reason(password: str, email: str = EMAIL) -> str | None:
    try:
        POLICY.check(password, email)
    except WeakPassword as exc:
        return exc.reason
    return None


def test_twelve_characters_is_the_minimum() -> None:
    assert _reason("blue kettle") == "too_short"  # 11
    assert _reason("blue kettles") is None  # 12
    assert _reason("x" * 1025) == "too_long"


def test_length_counts_characters_after_nfkc_not_bytes() -> None:
    assert _reason("éléphant rosé") is None  # 13 characters, 17 bytes
    assert _reason("ﬁrst-planet") is None  # 11 as typed, 12 after NFKC ("ﬁ" is "fi")
    assert _reason("ﬀﬀﬀﬀﬀ") == "too_short"  # 10 letters after NFKC


@pytest.mark.parametrize(
    "password",
    [
        "password1234", "Password1234", "PASSWORD2024!", "P@ssw0rd2024!!", "!!letmein123!!",
        "qwertyuiop123", "1q2w3e4r5t6y", "123456789012", "iloveyou1234", "trustno1trustno1",
        "aaaaaaaaaaaa", "abcabcabcabc", "121212121212", "abcdefghijkl", "987654321098",
        "Bastion12345!",
    ],
)  # fmt: skip
def test_common_passwords_and_their_variants_are_refused(password: str) -> None:
    assert _reason(password) == "common"


def test_passwords_built_from_the_account_are_refused() -> None:
    assert _reason("grace.hopper2026") == "common"
    assert _reason(EMAIL) == "common"
    # A local part under 4 letters is too short to be a meaningful "word of the account".
    assert _reason("ada lovelace was first", "ada@example.com") is None


def test_repeating_a_long_uncommon_phrase_is_allowed() -> None:
    assert _reason("tangerine-orbit tangerine-orbit ") is None


@pytest.mark.parametrize("password", ["correct horse battery staple", "tangerine-orbit-47-quill"])
def test_ordinary_good_passwords_pass(password: str) -> None:
    assert _reason(password) is None


def test_the_null_breach_check_refuses_nothing_but_length_still_counts() -> None:
    policy = PasswordPolicy(12, NullBreachCheck())
    policy.check("password1234", "a@example.com")
    with pytest.raises(WeakPassword):
        policy.check("password", "a@example.com")


OWASP = Settings()


def _hasher(settings: Settings = OWASP) -> PasswordHasher:
    return PasswordHasher(
        memory_kib=settings.password_hash_memory_kib,
        iterations=settings.password_hash_iterations,
        parallelism=settings.password_hash_parallelism,
    )


def test_the_default_parameters_are_owasps_argon2id_minimum() -> None:
    hashed = _hasher().hash("tangerine-orbit-47-quill")
    phc = r"\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}"
    assert re.fullmatch(phc, hashed)
    params = argon2.extract_parameters(hashed)
    assert (params.salt_len, params.hash_len, params.type) == (16, 32, argon2.Type.ID)


def test_verify_accepts_the_password_and_nothing_else() -> None:
    hasher = _hasher()
    hashed = hasher.hash("tangerine-orbit-47-quill")
    assert hasher.verify(hashed, "tangerine-orbit-47-quill")
    assert not hasher.verify(hashed, "tangerine-orbit-47-quilL")
    assert not hasher.verify("not a hash", "tangerine-orbit-47-quill")
    assert hasher.hash("tangerine-orbit-47-quill") != hashed  # a fresh salt each time
    assert not hasher.verify(hashed, "tangerine-orbit-47-quill" + "x" * 5000)  # bounded work


def test_a_hash_made_with_other_parameters_needs_a_rehash() -> None:
    weaker = _hasher(Settings(password_hash_memory_kib=9216, password_hash_iterations=4))
    old = weaker.hash("tangerine-orbit-47-quill")
    assert _hasher().needs_rehash(old)
    assert not weaker.needs_rehash(old)
    assert _hasher().verify(old, "tangerine-orbit-47-quill")  # still opens meanwhile


def test_settings_refuse_a_memory_cost_below_owasps_lowest_row() -> None:
    with pytest.raises(ValueError):
        Settings(password_hash_memory_kib=4096)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("  Ada@Example.COM ", "ada@example.com"),
        ("\uff21\uff24\uff21@example.com", "ada@example.com"),  # full-width letters
    ],
)
def test_emails_are_normalised(given: str, expected: str) -> None:
    assert normalise_email(given) == expected


@pytest.mark.parametrize("bad", ["", "ada", "ada@", "@example.com", "ada@example", "a da@x.com"])
def test_malformed_emails_are_refused(bad: str) -> None:
    with pytest.raises(InvalidEmail):
        normalise_email(bad)


def test_when_a_password_may_be_the_only_factor_it_needs_fifteen_characters() -> None:
    from bastion.identity.deps import min_password_length

    assert min_password_length(Settings()) == 12
    assert min_password_length(Settings(mfa="optional")) == 15
    assert min_password_length(Settings(mfa="optional", password_min_length=20)) == 20
