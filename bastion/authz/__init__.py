"""Authorization: permissions as data and the one ``authorize`` that decides.

Permissions are ``domain:resource:action`` strings. A principal holds a set of
them (for API tokens: its scopes); deny by default.
"""

from bastion.authz.permissions import TOKEN_PERMISSIONS, Permission, parse_scopes
from bastion.authz.principal import Principal, authorize

__all__ = ["TOKEN_PERMISSIONS", "Permission", "Principal", "authorize", "parse_scopes"]
