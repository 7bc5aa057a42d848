"""The credential vault: write-only credentials, leased to executions at run time.

Values go in through ``VaultService.create`` and ``rotate`` and never come out
again, except as a ``Lease`` to one step of an execution whose automation holds a
live grant. Each credential's versions are sealed under its own data key. Every
change, every lease and every refusal is audited. Rotation keeps the replaced
version valid for a grace period; rotation periods make credentials due and then
overdue. The ``Masker`` hides every value the vault holds, in its common
encodings, wherever it could appear (step records, logs, API responses).
"""

from bastion.vault.errors import (
    CredentialNotFound,
    CredentialNotGranted,
    CredentialRevoked,
    GrantNotFound,
)
from bastion.vault.kinds import (
    KINDS,
    Kind,
    KindSecret,
    parse_kind,
    parse_secret,
    public_fields,
    secret_fields,
)
from bastion.vault.leases import Lease, Use, bare_name
from bastion.vault.masking import MASK, Masker
from bastion.vault.models import CredentialGrantRow, CredentialRow, CredentialVersionRow
from bastion.vault.schemas import (
    CredentialDetail,
    CredentialRead,
    DueRotation,
    GrantRead,
    OverdueCheck,
    VersionRead,
)
from bastion.vault.service import VaultService

__all__ = [
    "KINDS",
    "MASK",
    "CredentialDetail",
    "CredentialGrantRow",
    "CredentialNotFound",
    "CredentialNotGranted",
    "CredentialRead",
    "CredentialRevoked",
    "CredentialRow",
    "CredentialVersionRow",
    "DueRotation",
    "GrantNotFound",
    "GrantRead",
    "Kind",
    "KindSecret",
    "Lease",
    "Masker",
    "OverdueCheck",
    "Use",
    "VaultService",
    "VersionRead",
    "bare_name",
    "parse_kind",
    "parse_secret",
    "public_fields",
    "secret_fields",
]
