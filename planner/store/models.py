"""SQLAlchemy 2 models.

The schema is owned by the Alembic migrations in ``migrations/``; a test
checks that these models and the migrations agree. Dates are calendar dates in
the site's zone; moments (``*_at``) are UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ProtocolVersion(Base):
    """A validated protocol, stored as its source text (the snapshot)."""

    __tablename__ = "protocol_versions"
    __table_args__ = (
        UniqueConstraint("protocol_id", "version", name="uq_protocol_versions_id_version"),
        UniqueConstraint("protocol_id", "fingerprint", name="uq_protocol_versions_id_fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(Text)
    #: What visit records take from it, as JSON (:mod:`planner.core.facts`).
    facts: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: Weekdays the site is closed, as ``sat,sun`` ("" for none).
    closed_weekdays: Mapped[str] = mapped_column(String(32), default="", server_default="")
    #: Public holidays observed: ``CN``, ``US-NY``, or None.
    holidays: Mapped[str | None] = mapped_column(String(16), nullable=True)


class SiteClosure(Base):
    """A date or range on which a site is closed, with the reason."""

    __tablename__ = "site_closures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class SiteCapacity(Base):
    """At most ``per_day`` events of a kind per day at a site (reported, not enforced)."""

    __tablename__ = "site_capacity"
    __table_args__ = (UniqueConstraint("site_id", "kind", name="uq_site_capacity_site_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    kind: Mapped[str] = mapped_column(String(32))
    per_day: Mapped[int] = mapped_column(Integer)


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    protocol_version_id: Mapped[int] = mapped_column(ForeignKey("protocol_versions.id"))
    arm: Mapped[str] = mapped_column(String(32))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    day1: Mapped[date] = mapped_column(Date)
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: active, withdrawn or died
    status: Mapped[str] = mapped_column(String(16), default="active")
    ended_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


#: The partial index of visits still to happen (what is due on a day), and its condition.
SCHEDULED_INDEX = "ix_visits_scheduled_site_window_start"
SCHEDULED_ONLY = "status = 'scheduled'"


class Visit(Base):
    """One occurrence of one series for one participant."""

    __tablename__ = "visits"
    __table_args__ = (
        UniqueConstraint("participant_id", "event", "occurrence", name="uq_visits_occurrence"),
        Index("ix_visits_site_target", "site_id", "target"),
        Index("ix_visits_site_status_window_end", "site_id", "status", "window_end"),
        # What is due on a day (migration 0008 says why partial); PostgreSQL's
        # copy of the condition comes from for_postgresql().
        Index(
            SCHEDULED_INDEX,
            "site_id",
            "window_start",
            sqlite_where=text(SCHEDULED_ONLY),
        ),
        Index("ix_visits_target", "target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"))
    #: Copied from the participant, so site queries need no join.
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    event: Mapped[str] = mapped_column(String(32))
    occurrence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    #: The date the anchors give; ``target`` is the planned date.
    ideal: Mapped[date] = mapped_column(Date)
    target: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    time: Mapped[str | None] = mapped_column(String(5), nullable=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: scheduled, completed, missed or cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    actual: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: True once a coordinator moved the visit: re-planning keeps its target.
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    deviation: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    #: The label of an unscheduled visit; NULL for planned ones (the protocol's).
    label: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: Why the status last changed, when someone said.
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEntry(Base):
    """Append-only: the database refuses UPDATE and DELETE on this table.

    ``hash`` chains each row to the one before (:mod:`planner.core.chain`);
    ids are never reused (SQLite AUTOINCREMENT, a sequence elsewhere).
    """

    __tablename__ = "audit"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    participant: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    visit: Mapped[str | None] = mapped_column(String(120), nullable=True)
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    hash: Mapped[str] = mapped_column(String(64))


class Feed(Base):
    """A calendar subscription feed: a scope, and the SHA-256 digest of its secret token."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Never the token itself: only its digest, looked up and compared.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: site, participant or protocol; ``scope_value`` is its code or id.
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: The last day (UTC) the feed works, or None.
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    hits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


#: The tables themselves, for bulk Core inserts (executemany, no ORM objects).
participants_table = cast(Table, Participant.__table__)
visits_table = cast(Table, Visit.__table__)


# ------------------------------------------------------------------ users
# Accounts of the web page and the JSON API (revision 0007). Secrets are never
# stored: a password as its Argon2 hash, a session id or API token as its SHA-256 digest.


class User(Base):
    """A person who logs in: a role, and the sites they see (all, or those in ``user_sites``)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Lower case; also the audit trail's actor for the user's changes.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    #: admin, coordinator or viewer
    role: Mapped[str] = mapped_column(String(16))
    all_sites: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: Failed logins in a row, and until when the name is refused because of them.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class UserSite(Base):
    """A site a user sees (when the user does not see all sites)."""

    __tablename__ = "user_sites"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)


class UserSession(Base):
    """A login: the SHA-256 digest of its random id (the cookie), never the id."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class ApiToken(Base):
    """A bearer token of the JSON API: its SHA-256 digest, never the token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


def for_postgresql() -> None:
    """Give the models what only PostgreSQL reads: the condition of the partial
    index for that dialect. Declaring it loads SQLAlchemy's PostgreSQL dialect
    (about 65 ms here), so it is done when a PostgreSQL engine is made or
    migrated, never for an SQLite file. Idempotent."""
    index = next(one for one in visits_table.indexes if one.name == SCHEDULED_INDEX)
    if index.dialect_options["postgresql"]["where"] is None:
        index.dialect_options["postgresql"]["where"] = text(SCHEDULED_ONLY)
