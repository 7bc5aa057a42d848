"""Identity errors. Messages are safe to show to the person signing in, and say no
more than they must: every password-step failure has one message and one code."""

from __future__ import annotations

from bastion.errors import Conflict, Forbidden, Invalid, Unauthenticated


class InvalidCredentials(Unauthenticated):
    """Unknown email, wrong password, disabled or locked account: one answer for all,
    so the answer tells an attacker nothing about which accounts exist (ASVS V6.3.8)."""

    code = "invalid_credentials"
    MESSAGE = "the email or password is wrong, or the account is locked for a while"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class InvalidChallenge(Unauthenticated):
    """The login step this call continues is unknown, used, expired or was refused."""

    code = "invalid_challenge"

    def __init__(self) -> None:
        super().__init__("this sign-in has expired or was refused; sign in again")


class InvalidCode(Unauthenticated):
    """A second-factor code that does not match."""

    code = "invalid_code"


class CodeReplayed(InvalidCode):
    """A TOTP code of a time step already used: a code works once (ASVS V6.5.1)."""

    code = "code_replayed"


class ClockOutOfSync(InvalidCode):
    """The code matches a time step far from now: the authenticator's clock is off."""

    code = "clock_out_of_sync"


class InvalidSession(Unauthenticated):
    """Unknown, ended, expired or not-yet-authenticated session: one answer for all."""

    code = "invalid_session"

    def __init__(self) -> None:
        super().__init__("the session has ended; sign in again")


class InvalidSetupToken(Unauthenticated):
    code = "invalid_setup_token"

    def __init__(self) -> None:
        super().__init__("the setup token is wrong, used or expired; run bastion init again")


class WeakPassword(Invalid):
    """A password refused by policy; ``reason`` is a stable code (``too_short``, ...)."""

    code = "weak_password"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidEmail(Invalid):
    code = "invalid_email"


class MfaRequired(Forbidden):
    """The account has a second factor and this step needs it."""

    code = "mfa_required"


class AlreadyEnrolled(Conflict):
    code = "mfa_already_enrolled"


class EmailTaken(Conflict):
    code = "email_taken"
