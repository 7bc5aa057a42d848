"""Identity: who is calling.

- API tokens (``bst_`` prefix, shown once, stored as a keyed digest, scoped, expiring).
- People: users with argon2id passwords and roles; the first administrator is
  made with a one-time setup token printed by ``bastion init``.
- Signing in: ``IdentityService.login`` (password) returns a challenge, never a
  session; a TOTP code, a recovery code or an enrolment-only session finishes it.
  Failures lock the account for a while; every attempt is audited.
- Sessions: server-side, idle and absolute timeouts, a new id at every step up,
  revocable one by one or all at once; ``SessionService.validate`` turns a
  session id into a ``Principal``.
"""

from bastion.identity.deps import IdentityDeps
from bastion.identity.errors import (
    AlreadyEnrolled,
    ClockOutOfSync,
    CodeReplayed,
    EmailTaken,
    InvalidChallenge,
    InvalidCode,
    InvalidCredentials,
    InvalidEmail,
    InvalidSession,
    InvalidSetupToken,
    MfaRequired,
    WeakPassword,
)
from bastion.identity.mfa import Enrolled, MfaService, TotpEnrolment
from bastion.identity.models import ApiTokenRow
from bastion.identity.ports import BreachCheck, CommonPasswordList, NullBreachCheck
from bastion.identity.service import IdentityService, LoginChallenge
from bastion.identity.sessions import NewSession, SessionInfo, SessionService
from bastion.identity.tokens import CreatedToken, TokenService
from bastion.identity.users import SetupToken, UserInfo, UserService

__all__ = [
    "AlreadyEnrolled",
    "ApiTokenRow",
    "BreachCheck",
    "ClockOutOfSync",
    "CodeReplayed",
    "CommonPasswordList",
    "CreatedToken",
    "EmailTaken",
    "Enrolled",
    "IdentityDeps",
    "IdentityService",
    "InvalidChallenge",
    "InvalidCode",
    "InvalidCredentials",
    "InvalidEmail",
    "InvalidSession",
    "InvalidSetupToken",
    "LoginChallenge",
    "MfaRequired",
    "MfaService",
    "NewSession",
    "NullBreachCheck",
    "SessionInfo",
    "SessionService",
    "SetupToken",
    "TokenService",
    "TotpEnrolment",
    "UserInfo",
    "UserService",
    "WeakPassword",
]
