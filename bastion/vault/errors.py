from __future__ import annotations

from bastion.errors import Conflict, Forbidden, NotFound


class CredentialNotFound(NotFound):
    code = "credential_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no credential named {name!r}")


class CredentialRevoked(Conflict):
    code = "credential_revoked"

    def __init__(self, name: str) -> None:
        super().__init__(f"credential {name!r} is revoked")


class GrantNotFound(NotFound):
    code = "grant_not_found"

    def __init__(self, credential: str, automation: str) -> None:
        super().__init__(f"automation {automation!r} holds no grant for credential {credential!r}")


class CredentialNotGranted(Forbidden):
    """An automation asked for a credential it may not use. ``reason``: ``no_grant``
    (no live grant, or no such credential) or ``revoked`` (the credential is revoked)."""

    code = "credential_not_granted"

    def __init__(self, credential: str, automation: str, reason: str) -> None:
        if reason == "revoked":
            message = (
                f"credential {credential!r} is revoked: automation {automation!r} cannot use it"
            )
        else:
            message = (
                f"automation {automation!r} holds no grant for credential {credential!r} "
                f"(grant it with: bastion credentials grant {credential} {automation})"
            )
        super().__init__(message)
        self.reason = reason
        self.credential = credential
        self.automation = automation
