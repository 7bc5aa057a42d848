"""The audit log: append-only, hash-chained, written in the same transaction as the change.

Each event's hash is SHA-256 over the canonical encoding of its fields and the
previous event's hash, so editing, deleting, inserting or reordering any event
breaks the chain at that point, and ``verify`` names the first broken link.
Details that could hold confidential content (definition diffs, error text) are
sealed; the hash covers the sealed text, so verification needs no key.
"""

from bastion.audit.chain import AuditChain, Breach, verify_events
from bastion.audit.events import Actor, AuditEvent, AuditTag
from bastion.audit.export import verify_export
from bastion.audit.models import AuditEventRow, AuditHeadRow
from bastion.audit.service import AuditLog

__all__ = [
    "Actor",
    "AuditChain",
    "AuditEvent",
    "AuditEventRow",
    "AuditHeadRow",
    "AuditLog",
    "AuditTag",
    "Breach",
    "verify_events",
    "verify_export",
]
