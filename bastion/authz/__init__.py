"""Authorization: permissions and roles as data, and the one ``authorize`` that decides.

Permissions are ``domain:resource:action`` strings. A principal holds a set of
them: an API token its scopes, a person the union of their roles' permissions
(``roles.py``). ``AUTH_METHODS`` says which kind of credential may exercise which
permission, so a token can never do what only a person may. Sensitive and
critical automations need an explicit grant to be seen or used, in a single
decision (``authorize``) and in SQL (``restrict``). Deny by default.
"""

from bastion.authz.grants import GrantService, restrict
from bastion.authz.models import AutomationGrantRow
from bastion.authz.permissions import AUTH_METHODS, TOKEN_PERMISSIONS, Permission, parse_scopes
from bastion.authz.principal import (
    GRANTED_SENSITIVITIES,
    OPEN_SENSITIVITIES,
    AutomationResource,
    MissingPermission,
    NotGranted,
    Principal,
    WrongAuthMethod,
    authorize,
    may_see,
)
from bastion.authz.roles import ROLE_PERMISSIONS, SELF_SERVICE, Role, parse_roles, permissions_for

__all__ = [
    "AUTH_METHODS",
    "GRANTED_SENSITIVITIES",
    "OPEN_SENSITIVITIES",
    "ROLE_PERMISSIONS",
    "SELF_SERVICE",
    "TOKEN_PERMISSIONS",
    "AutomationGrantRow",
    "AutomationResource",
    "GrantService",
    "MissingPermission",
    "NotGranted",
    "Permission",
    "Principal",
    "Role",
    "WrongAuthMethod",
    "authorize",
    "may_see",
    "parse_roles",
    "parse_scopes",
    "permissions_for",
    "restrict",
]
