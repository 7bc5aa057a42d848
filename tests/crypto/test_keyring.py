"""ENC-2: key-encryption keys from a 0600 key file or ``BASTION_MASTER_KEY``; they
wrap data keys only, and every wrapped key names the KEK that wrapped it."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.crypto import (
    CryptoError,
    DataKey,
    KeyFile,
    Keyring,
    KeyUnavailable,
    TamperedCiphertext,
)

KEK = bytes(range(100, 132))


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """No umask to hide behind: the modes must come from the code itself."""
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _doc(path: Path) -> dict[str, object]:
    doc: dict[str, object] = json.loads(path.read_text())
    return doc


# -- wrapping ----------------------------------------------------------------------


def test_wrap_and_unwrap_round_trip_under_the_active_kek() -> None:
    ring = Keyring({"kek-a": KEK}, "kek-a")
    data_key = DataKey.generate("dk-1")
    wrapped = ring.wrap(data_key)
    assert wrapped.startswith("v1:kek-a:")
    assert ring.is_current(wrapped)
    assert data_key.key not in base64.urlsafe_b64decode(wrapped.split(":", 2)[2])
    assert ring.unwrap("dk-1", wrapped) == data_key


def test_a_wrapped_key_is_bound_to_its_data_key_id() -> None:
    ring = Keyring({"kek-a": KEK}, "kek-a")
    wrapped = ring.wrap(DataKey.generate("dk-1"))
    with pytest.raises(TamperedCiphertext):
        ring.unwrap("dk-2", wrapped)  # a wrapped key copied onto another row


def test_unwrap_with_a_missing_kek_names_the_kek() -> None:
    old = Keyring({"kek-old": KEK}, "kek-old")
    wrapped = old.wrap(DataKey.generate("dk-1"))
    new = Keyring({"kek-new": bytes(32)}, "kek-new")
    assert not new.is_current(wrapped)
    with pytest.raises(KeyUnavailable, match="kek-old") as caught:
        new.unwrap("dk-1", wrapped)
    assert caught.value.key_id == "kek-old"
    assert caught.value.code == "key_unavailable"


def test_the_active_key_must_be_in_the_ring() -> None:
    with pytest.raises(CryptoError, match="active key is not in the keyring"):
        Keyring({"kek-a": KEK}, "kek-b")


def test_a_keyring_never_shows_its_keys() -> None:
    ring = Keyring({"kek-a": KEK}, "kek-a")
    assert KEK.hex() not in repr(ring) and repr(KEK) not in repr(ring)


# -- BASTION_MASTER_KEY ----------------------------------------------------------


def test_from_secret_accepts_32_base64_bytes_with_a_stable_id() -> None:
    encoded = base64.b64encode(KEK).decode()
    ring = Keyring.from_secret(f"  {encoded}\n")
    assert list(ring.keys.values()) == [KEK]
    assert ring.active.startswith("env-") and len(ring.active) == len("env-") + 12
    assert Keyring.from_secret(encoded).active == ring.active
    assert Keyring.from_secret(base64.b64encode(bytes(32)).decode()).active != ring.active
    wrapped = ring.wrap(DataKey("dk-1", bytes(32)))
    assert Keyring.from_secret(encoded).unwrap("dk-1", wrapped).key == bytes(32)


@pytest.mark.parametrize("text", ["not base64!", "QUJD*REVG", "@@@@", "ab"])
def test_from_secret_rejects_text_that_is_not_base64(text: str) -> None:
    with pytest.raises(CryptoError, match="BASTION_MASTER_KEY is not valid base64"):
        Keyring.from_secret(text)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_from_secret_rejects_a_key_of_the_wrong_length(size: int) -> None:
    encoded = base64.b64encode(bytes(size)).decode()
    with pytest.raises(CryptoError, match=f"must hold 32 bytes \\(256 bits\\), not {size}$"):
        Keyring.from_secret(encoded)


# -- the key file ------------------------------------------------------------------


def test_the_key_file_is_created_0600_in_a_0700_directory(
    tmp_path: Path, strict_umask: None
) -> None:
    path = tmp_path / "data" / "master.key"
    ring = KeyFile(path).load_or_create()
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    doc = _doc(path)
    assert doc["format"] == 1 and doc["active"] == ring.active
    assert list(ring.keys) == [ring.active] and len(ring.keys[ring.active]) == 32
    assert [p.name for p in path.parent.iterdir()] == ["master.key"]  # no temp file left


def test_load_or_create_keeps_an_existing_file(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "master.key")
    first = key_file.load_or_create()
    again = key_file.load_or_create()
    assert (again.active, again.keys) == (first.active, first.keys)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660, 0o602])
def test_a_key_file_readable_by_others_is_refused_naming_chmod(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    KeyFile(path).load_or_create()
    path.chmod(mode)
    with pytest.raises(CryptoError, match="readable by other users") as caught:
        KeyFile(path).load()
    assert f"chmod 600 {path}" in str(caught.value)


def test_a_damaged_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    for text in ("not json", '{"active": "a"}', '{"active": "a", "keys": []}'):
        path.write_text(text)
        path.chmod(0o600)
        with pytest.raises(CryptoError, match="is not a Bastion key file"):
            KeyFile(path).load()
    path.write_text(json.dumps({"active": "a", "keys": {"a": base64.b64encode(b"short").decode()}}))
    with pytest.raises(CryptoError, match="key a must hold 32 bytes"):
        KeyFile(path).load()


def test_add_key_makes_a_new_active_kek_and_keeps_the_old(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "master.key")
    first = key_file.load_or_create()
    wrapped = first.wrap(DataKey("dk-1", bytes(32)))
    new_id = key_file.add_key()
    ring = key_file.load()
    assert ring.active == new_id != first.active
    assert set(ring.keys) == {first.active, new_id}
    assert ring.keys[first.active] == first.keys[first.active]
    assert ring.unwrap("dk-1", wrapped).key == bytes(32)  # old wraps still open
    assert ring.wrap(DataKey("dk-2", bytes(32))).startswith(f"v1:{new_id}:")
    assert _mode(key_file.path) == 0o600


def test_retire_removes_an_old_kek_and_its_wraps_become_unavailable(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "master.key")
    first = key_file.load_or_create()
    wrapped = first.wrap(DataKey("dk-1", bytes(32)))
    new_id = key_file.add_key()
    key_file.retire(first.active)
    ring = key_file.load()
    assert (list(ring.keys), ring.active) == ([new_id], new_id)
    with pytest.raises(KeyUnavailable) as caught:
        ring.unwrap("dk-1", wrapped)
    assert caught.value.key_id == first.active
    assert _mode(key_file.path) == 0o600


def test_the_active_kek_cannot_be_retired(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "master.key")
    ring = key_file.load_or_create()
    with pytest.raises(CryptoError, match="active key cannot be retired"):
        key_file.retire(ring.active)
    assert key_file.load().keys == ring.keys


def test_a_rewrite_never_exposes_keys_through_a_stale_temp_file(
    tmp_path: Path, strict_umask: None
) -> None:
    # A temp file left over (a crash, another user's doing) with loose permissions
    # must not become the key file: the new KEK would be readable by everyone.
    key_file = KeyFile(tmp_path / "master.key")
    key_file.load_or_create()
    stale = tmp_path / "master.tmp"
    stale.write_text("left over")
    stale.chmod(0o644)
    key_file.add_key()
    assert _mode(key_file.path) == 0o600
    assert len(key_file.load().keys) == 2
