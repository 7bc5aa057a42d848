"""ENC-2: AES-256-GCM sealing. Every ciphertext names its format and key
(``v1:<kid>:...``), is bound to where it belongs (AAD) and refuses any change."""

from __future__ import annotations

import base64

import pytest

from bastion.crypto import (
    CryptoError,
    DataKey,
    TamperedCiphertext,
    open_sealed,
    seal,
    sealed_key_id,
)

AAD = b"executions:input:0192"
KEY = DataKey("dk-1", bytes(range(32)))


def _body(sealed: str) -> bytes:
    return base64.urlsafe_b64decode(sealed.split(":", 2)[2])


def _with_body(sealed: str, body: bytes) -> str:
    version, kid, _ = sealed.split(":", 2)
    return f"{version}:{kid}:{base64.urlsafe_b64encode(body).decode()}"


def test_round_trip_returns_the_plaintext() -> None:
    sealed = seal(KEY, b"card 4111-1111", AAD)
    assert open_sealed(KEY, sealed, AAD) == b"card 4111-1111"


def test_empty_plaintext_round_trips() -> None:
    assert open_sealed(KEY, seal(KEY, b"", AAD), AAD) == b""


def test_format_is_version_key_id_and_urlsafe_body() -> None:
    sealed = seal(KEY, b"hello", AAD)
    version, kid, body = sealed.split(":", 2)
    assert (version, kid) == ("v1", "dk-1")
    assert sealed_key_id(sealed) == "dk-1"
    raw = base64.urlsafe_b64decode(body)
    assert len(raw) == 12 + len(b"hello") + 16  # nonce, ciphertext, GCM tag
    assert b"hello" not in raw


def test_each_seal_uses_a_fresh_nonce() -> None:
    first, second = seal(KEY, b"same", AAD), seal(KEY, b"same", AAD)
    assert first != second
    assert _body(first)[:12] != _body(second)[:12]


def test_a_ciphertext_opened_with_another_aad_is_tampered() -> None:
    sealed = seal(KEY, b"row 1 secret", b"table:col:row-1")
    with pytest.raises(TamperedCiphertext, match="dk-1"):
        open_sealed(KEY, sealed, b"table:col:row-2")
    with pytest.raises(TamperedCiphertext):
        open_sealed(KEY, sealed)  # no AAD at all is another AAD too


@pytest.mark.parametrize("index", [0, 11, 12, 16, -1])  # nonce, ciphertext, tag
def test_a_flipped_byte_fails_authentication(index: int) -> None:
    sealed = seal(KEY, b"do not change me", AAD)
    body = bytearray(_body(sealed))
    body[index] ^= 0x01
    with pytest.raises(TamperedCiphertext):
        open_sealed(KEY, _with_body(sealed, bytes(body)), AAD)


def test_a_truncated_ciphertext_is_tampered_not_a_crash() -> None:
    # A value cut short in storage (or by an attacker) must fail like any other
    # tampering, with the crypto error callers handle, not a bare ValueError.
    sealed = seal(KEY, b"do not change me", AAD)
    for cut in (sealed[:-3], _with_body(sealed, _body(sealed)[:10]), "v1:dk-1:"):
        with pytest.raises(TamperedCiphertext):
            open_sealed(KEY, cut, AAD)


def test_a_value_sealed_under_another_key_names_both_keys() -> None:
    other = DataKey("dk-2", bytes(32))
    sealed = seal(KEY, b"x", AAD)
    with pytest.raises(CryptoError, match="'dk-1', not 'dk-2'") as caught:
        open_sealed(other, sealed, AAD)
    assert not isinstance(caught.value, TamperedCiphertext)


def test_relabelling_the_key_id_does_not_open_under_the_other_key() -> None:
    other = DataKey("dk-2", bytes(32))
    relabelled = "v1:dk-2:" + seal(KEY, b"x", AAD).split(":", 2)[2]
    with pytest.raises(TamperedCiphertext):
        open_sealed(other, relabelled, AAD)


@pytest.mark.parametrize("text", ["v2:dk-1:AAAA", "dk-1:AAAA", "plain text", ""])
def test_unknown_formats_are_refused(text: str) -> None:
    with pytest.raises(CryptoError, match="known format version"):
        open_sealed(KEY, text, AAD)
    with pytest.raises(CryptoError, match="known format version"):
        sealed_key_id(text)


def test_data_keys_are_256_bit_and_ids_have_no_colon() -> None:
    with pytest.raises(CryptoError, match="256-bit"):
        DataKey("k", bytes(16))
    with pytest.raises(CryptoError, match="':'"):
        DataKey("a:b", bytes(32))
    generated = DataKey.generate("fresh")
    assert (generated.id, len(generated.key)) == ("fresh", 32)
    assert generated.key != DataKey.generate("fresh").key


def test_a_data_key_never_shows_its_bytes() -> None:
    assert bytes(range(32)).hex() not in repr(KEY)
    assert repr(bytes(range(32))) not in repr(KEY)
