"""ENC-2 for identity data: no address, password, TOTP seed, recovery code, session
id, sign-in challenge or setup token reaches the database file in clear (searched
byte for byte in the SQLite file and its WAL, in common encodings)."""

from __future__ import annotations

import base64
from pathlib import Path

from bastion.app import build
from bastion.clock import FrozenClock
from bastion.identity.totp import encode_seed
from bastion.settings import Settings
from tests.factories.identity import IP, PASSWORD, enrol
from tests.fixtures.services import OPERATOR


def _encodings(text: str | bytes) -> list[bytes]:
    raw = text.encode() if isinstance(text, str) else text
    return [raw, raw.hex().encode(), base64.b64encode(raw), base64.urlsafe_b64encode(raw)]


def test_identity_secrets_never_reach_the_database_file(
    sqlite_template: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "bastion.db").write_bytes(sqlite_template.read_bytes())
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'bastion.db'}")
    clock = FrozenClock()
    services = build(settings, clock, migrate=False)
    setup = services.identity.users.issue_setup_token(OPERATOR)
    assert setup is not None
    enrolled = enrol(services, clock, "canary.person.7f3a@example.org")
    clock.advance(30)
    challenge = services.identity.login(enrolled.user.email, PASSWORD, IP)
    services.db.dispose()

    blob = b"".join(p.read_bytes() for p in sorted(data.glob("bastion.db*")))
    assert b"users" in blob  # the search works
    secrets: list[str | bytes] = [
        "canary.person.7f3a", PASSWORD, enrolled.seed, encode_seed(enrolled.seed),
        enrolled.session.token, challenge.token, setup.token.removeprefix("bsu_"),
        *(code.replace("-", "") for code in enrolled.recovery_codes),
        *enrolled.recovery_codes,
    ]  # fmt: skip
    for secret in secrets:
        for form in _encodings(secret):
            assert form not in blob, f"{secret!r} found in the database file"
