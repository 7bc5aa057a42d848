"""What every identity service works with, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from bastion.audit import AuditLog
from bastion.clock import Clock
from bastion.identity.digests import Digests
from bastion.identity.passwords import PasswordHasher, PasswordPolicy
from bastion.identity.ports import BreachCheck, CommonPasswordList
from bastion.settings import Settings
from bastion.store.datakeys import Sealer
from bastion.store.db import Database


@dataclass
class IdentityDeps:
    db: Database
    sealer: Sealer
    audit: AuditLog
    clock: Clock
    settings: Settings
    breach_check: BreachCheck = field(default_factory=CommonPasswordList)
    digests: Digests = field(init=False)
    hasher: PasswordHasher = field(init=False)
    policy: PasswordPolicy = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.digests = Digests(self.sealer, self.clock)
        self.hasher = PasswordHasher(
            memory_kib=s.password_hash_memory_kib,
            iterations=s.password_hash_iterations,
            parallelism=s.password_hash_parallelism,
        )
        self.policy = PasswordPolicy(min_password_length(s), self.breach_check)


# NIST SP 800-63B rev 4: 15 characters when a password is the only factor, 8 when it is
# one of two. With ``mfa: optional`` a person may never enrol, so the longer rule holds.
SINGLE_FACTOR_MINIMUM = 15


def min_password_length(settings: Settings) -> int:
    if settings.mfa == "required":
        return settings.password_min_length
    return max(settings.password_min_length, SINGLE_FACTOR_MINIMUM)
