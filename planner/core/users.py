"""User accounts, pure: roles and what they may do, names and passwords,
secrets' digests, CSRF tokens, the login back-off and session lifetimes.

Nothing here makes secrets or reads the clock: random values come from the
application (:mod:`secrets`), "now" is an argument.

>>> check_role("coordinator")
'coordinator'
>>> [int(backoff(n).total_seconds()) for n in range(1, 8)]
[0, 0, 1, 2, 4, 8, 16]
>>> backoff(40) == MAX_BACKOFF
True
>>> csrf_token("abc") == csrf_token("abc") != csrf_token("abd")
True
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime, timedelta
from typing import Literal, get_args

from planner.core.errors import InputError, PlannerError

Role = Literal["admin", "coordinator", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)

#: Viewers read; coordinators also record visits and manage their sites' feeds; admins
#: also manage users.
RECORDING_ROLES: frozenset[str] = frozenset({"admin", "coordinator"})
ADMIN_ROLES: frozenset[str] = frozenset({"admin"})

#: A user name: a letter or digit, then letters, digits, ``.``, ``_``, ``-`` or ``@``.
#: Names are kept in lower case, so ``Alice`` and ``alice`` are one user.
NAME_MAX = 64
_NAME = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")

#: Passwords: at least 12 characters (NIST SP 800-63B asks for 8 at least);
#: at most 1024, so that nobody makes the server hash megabytes.
PASSWORD_MIN = 12
PASSWORD_MAX = 1024

#: Random bytes in a session id, an API token and a generated password:
#: 256 bits, written as 43 URL-safe base64 characters.
SECRET_BYTES = 32
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")

#: Failed logins in a row before the account is refused for a while.
FREE_FAILURES = 3
#: The first refusal lasts one second; each further failure doubles it, up to this.
MAX_BACKOFF = timedelta(minutes=15)

#: A session ends after 8 hours without a request, and 12 hours after login
#: in any case (a working day): then the user logs in again.
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(hours=12)
#: A session's or token's last use is written at most this often (not on every request).
TOUCH_EVERY = timedelta(minutes=1)


class LoginRefused(PlannerError):
    """A login that failed: the same sentence whether or not the name exists.

    ``retry_after`` is how many seconds the name is refused for (0: try again now).
    """

    def __init__(self, retry_after: int = 0) -> None:
        if retry_after > 0:
            message = f"too many failed logins: try again in {retry_after} seconds"
        else:
            message = "the user name or the password is wrong"
        super().__init__(message, field="password")
        self.retry_after = retry_after


def check_role(role: str) -> Role:
    for known in ROLES:
        if role == known:
            return known
    raise InputError(
        f"unknown role {role!r} (roles: {', '.join(ROLES)})",
        field="role",
        value=role,
        choices=ROLES,
    )


def normal_name(name: str) -> str:
    """A user name as stored and looked up: lower case, no surrounding blanks."""
    return name.strip().lower()


def check_name(name: str) -> str:
    """A new user's name, normalised; InputError naming what is wrong."""
    normal = normal_name(name)
    if _NAME.fullmatch(normal) is None:
        raise InputError(
            f"the user name {name!r} is not 1 to {NAME_MAX} letters, digits, '.', '_', '-' "
            "or '@', starting with a letter or digit",
            field="name",
            value=name,
            allowed=f"1..{NAME_MAX} characters of a-z 0-9 . _ - @",
        )
    return normal


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN or len(password) > PASSWORD_MAX:
        raise InputError(
            f"the password is {len(password)} character{'' if len(password) == 1 else 's'} "
            f"long; it must have {PASSWORD_MIN} to {PASSWORD_MAX}",
            field="password",
            value="[hidden]",
            allowed=f"{PASSWORD_MIN}..{PASSWORD_MAX} characters",
        )
    return password


def can_record(role: str) -> bool:
    return role in RECORDING_ROLES


def can_admin(role: str) -> bool:
    return role in ADMIN_ROLES


def sees(all_sites: bool, sites: tuple[str, ...], site: str) -> bool:
    """Whether a user of these sites sees a site's participants and visits."""
    return all_sites or site in sites


# ------------------------------------------------------------- secrets


def is_secret(text: str) -> bool:
    """Whether ``text`` has the shape of a session id or an API token."""
    return _SECRET.fullmatch(text) is not None


def digest(secret: str) -> str:
    """The SHA-256 digest of a session id or token, as stored (64 hex characters)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def same(stored: str, given: str) -> bool:
    """Compare two secrets or digests in constant time."""
    return hmac.compare_digest(stored.encode("utf-8"), given.encode("utf-8"))


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 keyed by the session id, hex.

    It is bound to the session (a new login gives a new one) and needs no storage."""
    return hmac.new(session_id.encode("utf-8"), b"csrf", hashlib.sha256).hexdigest()


def csrf_ok(session_id: str, given: str | None) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    return given is not None and same(csrf_token(session_id), given)


# ------------------------------------------------------ back-off, expiry


def backoff(failures: int) -> timedelta:
    """How long a name is refused after ``failures`` failed logins in a row:
    nothing for the first two, then 1 s, 2 s, 4 s ... up to 15 minutes."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    exponent = failures - FREE_FAILURES
    if exponent >= 20:  # 2**20 s is far beyond the cap
        return MAX_BACKOFF
    return min(timedelta(seconds=2**exponent), MAX_BACKOFF)


def locked_until(failures: int, now: datetime) -> datetime | None:
    """Until when a name is refused after a failure at ``now``, or None."""
    wait = backoff(failures)
    return now + wait if wait else None


def retry_after(until: datetime | None, now: datetime) -> int:
    """Whole seconds until ``until`` (rounded up); 0 when it has passed."""
    if until is None or until <= now:
        return 0
    return math.ceil((until - now).total_seconds())


def session_expiry(created: datetime, last_seen: datetime) -> datetime:
    """When a session ends: 8 h after its last request, 12 h after login at most."""
    return min(last_seen + SESSION_IDLE, created + SESSION_MAX)
