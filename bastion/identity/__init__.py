"""Identity: who is calling. For now API tokens (``bst_`` prefix, shown once,
stored as a keyed digest, scoped and expiring)."""

from bastion.identity.models import ApiTokenRow
from bastion.identity.tokens import CreatedToken, TokenService

__all__ = ["ApiTokenRow", "CreatedToken", "TokenService"]
