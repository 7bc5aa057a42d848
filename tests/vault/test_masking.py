"""MIN-1: the masker hides a secret in every encoding an attacker would reach for."""

from __future__ import annotations

import base64

import pytest

from bastion.vault import MASK, Masker
from tests.vault.conftest import SECRET, encodings, leaks


@pytest.mark.parametrize("form", sorted(encodings(SECRET)))
def test_every_encoding_is_masked_in_text(form: str) -> None:
    text = f"before {encodings(SECRET)[form]} after"
    masked = Masker([SECRET]).mask_text(text)
    assert leaks(masked) == []
    assert masked.startswith("before ") and masked.endswith(" after")
    assert MASK in masked


@pytest.mark.parametrize("prefix", [b"", b"a:", b"ab:", b"abc:", b"user:"])
def test_base64_of_a_longer_value_is_masked_at_every_alignment(prefix: bytes) -> None:
    # Basic auth encodes "user:secret": where the secret starts decides its base64 form.
    encoded = base64.b64encode(prefix + SECRET.encode() + b"!tail").decode()
    masked = Masker([SECRET]).mask_text(encoded)
    assert MASK in masked
    # What is left cannot carry more than the bytes around the secret.
    assert len(masked.replace(MASK, "")) <= len(base64.b64encode(prefix + b"!tail")) + 4


def test_json_values_keys_and_numbers_are_masked() -> None:
    masker = Masker([SECRET, "12345678901"])
    value = {"a": [SECRET, {f"key-{SECRET}": 1}], "n": 12345678901, "ok": "plain", "t": True}
    assert masker.mask(value) == {
        "a": [MASK, {f"key-{MASK}": 1}], "n": MASK, "ok": "plain", "t": True,
    }  # fmt: skip


def test_values_without_secrets_come_back_untouched() -> None:
    value = {"rows": [{"id": i, "name": f"n{i}"} for i in range(50)]}
    assert Masker([SECRET]).mask(value) is value
    assert Masker().mask(value) is value  # an empty vault costs nothing
    assert Masker().empty


def test_the_set_can_change_and_only_current_values_are_masked() -> None:
    masker = Masker([SECRET])
    masker.update(["another-secret-value"])
    assert masker.mask_text(SECRET) == SECRET
    assert masker.mask_text("x another-secret-value y") == f"x {MASK} y"
    masker.add([SECRET])
    assert masker.covers([SECRET, "another-secret-value"])
    assert not masker.covers(["not-known-at-all"])


def test_short_values_are_never_masked() -> None:
    # Masking three letters would blot out ordinary words everywhere.
    assert Masker(["abc"]).mask_text("abc abc") == "abc abc"


def test_tuples_and_repeated_additions() -> None:
    masker = Masker([SECRET])
    masker.add([SECRET, "abc"])  # nothing new: the patterns are kept
    assert masker.mask((SECRET, "x")) == (MASK, "x")
    assert masker.covers([SECRET, "abc"])


def test_the_shortest_masked_value_still_gets_its_base64_forms() -> None:
    masker = Masker(["wxyz"])
    assert masker.mask_text("a wxyz b") == f"a {MASK} b"
    assert masker.mask_text(base64.b64encode(b"wxyz").decode()) == MASK
