"""Calendar feeds, pure: scopes, token digests, validators and what a feed keeps.

A feed's secret is its token: random (made by the application from
:mod:`secrets`), shown once, and stored only as its SHA-256 digest. Nothing
here makes tokens or reads the clock; "now" is an argument.

>>> FeedScope.from_string("site:WUH")
FeedScope(kind='site', value='WUH')
>>> token_from_path("/feeds/" + "A" * 32 + ".ics") == "A" * 32
True
>>> token_from_path("/feeds/short.ics") is None
True
>>> redact("/feeds/" + "A" * 32 + ".ics?x=1")
'/feeds/[redacted]'
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, datetime, time, timedelta
from typing import Literal, NamedTuple, get_args

from planner.core.errors import InputError
from planner.core.texts import refused_character

ScopeKind = Literal["site", "participant", "protocol"]
SCOPE_KINDS: tuple[ScopeKind, ...] = get_args(ScopeKind)

#: Random bytes in a token: 192 bits, written as 32 URL-safe base64 characters.
TOKEN_BYTES = 24
TOKEN_LENGTH = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_FEED_PATH = re.compile(r"/feeds/([A-Za-z0-9_-]{32})\.ics")
#: Where feeds live; everything under it is secret and redacted from logs.
FEED_PREFIX = "/feeds/"

#: Cancelled visits stay in a feed this long after their cancellation (whole
#: UTC days), so that calendars that missed the change still learn of it.
CANCELLED_RETENTION_DAYS = 90
#: How often the calendar asks to be refreshed (it says so in REFRESH-INTERVAL
#: and X-PUBLISHED-TTL, written by the renderer as in every export).
REFRESH_INTERVAL = timedelta(hours=1)
MAX_LABEL = 200


class FeedScope(NamedTuple):
    """What a feed holds: every visit of a site, a participant or a protocol."""

    kind: ScopeKind
    value: str

    def to_string(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def from_string(cls, text: str) -> FeedScope:
        kind, _, value = text.partition(":")
        for known in SCOPE_KINDS:
            if kind == known and value:
                return cls(known, value)
        raise InputError(
            f"feed scope {text!r} is not of the form KIND:VALUE with KIND one of "
            f"{', '.join(SCOPE_KINDS)}",
            field="scope",
            value=text,
            choices=SCOPE_KINDS,
        )


def digest(token: str) -> str:
    """The SHA-256 digest of a token, as stored (64 hex characters)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def same_digest(stored: str, given: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(stored.encode("ascii"), given.encode("ascii"))


def is_token(text: str) -> bool:
    return _TOKEN.fullmatch(text) is not None


def feed_path(token: str) -> str:
    return f"{FEED_PREFIX}{token}.ics"


def token_from_path(path: str) -> str | None:
    """The token of a well-formed feed path, else None."""
    found = _FEED_PATH.fullmatch(path)
    return found.group(1) if found else None


def redact(path: str) -> str:
    """A request path safe to log: no query, nothing after a ``feeds`` segment
    however the path is written (``//feeds/``, ``/./FEEDS/``), and no segment
    that could be a token elsewhere (a calendar file, or a long run of the
    token's characters: a link pasted under another path).

    >>> redact("/feeds/abc.ics?x=1"), redact("//FEEDS/abc.ics"), redact("/x/abc.ics")
    ('/feeds/[redacted]', '//FEEDS/[redacted]', '/x/[redacted]')
    >>> redact("/participants/WUH-001")
    '/participants/WUH-001'
    """
    parts = path.split("?", 1)[0].split("/")
    for index, part in enumerate(parts):
        if part.lower() == "feeds" and index + 1 < len(parts):
            return "/".join([*parts[: index + 1], "[redacted]"])
        if part.lower().endswith(".ics") or _TOKEN_LIKE.search(part):
            parts[index] = "[redacted]"
    return "/".join(parts)


#: A run of characters as long as a token's shortest part worth hiding.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{24,}")


def expired(expires: date | None, now: datetime) -> bool:
    """A feed works through its expiry date (UTC) and not after."""
    return expires is not None and now.date() > expires


def cancelled_cutoff(now: datetime) -> datetime:
    """Cancelled visits last changed before this moment are left out of feeds."""
    start_of_today = datetime.combine(now.date(), time())
    return start_of_today - timedelta(days=CANCELLED_RETENTION_DAYS)


def left_feeds_at(cancelled_at: datetime) -> datetime:
    """The moment a visit cancelled at ``cancelled_at`` left the feeds."""
    day = cancelled_at.date() + timedelta(days=CANCELLED_RETENTION_DAYS + 1)
    return datetime.combine(day, time())


def strong_etag(body: bytes, coding: str = "") -> str:
    """A strong entity tag of exactly these bytes (``coding``: a content coding)."""
    tag = hashlib.sha256(body).hexdigest()[:40]
    return f'"{tag}-{coding}"' if coding else f'"{tag}"'


def check_label(label: str) -> str:
    if len(label) > MAX_LABEL or any(ord(c) < 32 for c in label):
        raise InputError(
            f"the label must be at most {MAX_LABEL} characters on one line",
            field="label",
            value=label,
        )
    if (found := refused_character(label, allowed="")) is not None:
        raise InputError(f"the label holds {found}; remove it", field="label")
    return label
