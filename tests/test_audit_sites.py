"""``audit verify`` and the sites: values only audited commands set.

A site's time zone, closed weekdays and holidays (``site add``), its closings
(``site close``) and its caps (``site capacity``) must be what their audit rows
set: a time zone changed in the file moves every timed visit of the site's
calendars, a closing removed or slipped in changes where visits are planned.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.test_audit_chain import broken, ok, scenario, tamper

Cli = Callable[..., CliResult]

WUH = "(SELECT id FROM sites WHERE code = 'WUH')"


def sites_scenario(cli: Cli) -> None:
    scenario(cli)
    ok(cli("site", "add", "NYC", "--timezone", "America/New_York", "--closed", "sat,sun",
           "--holidays", "US"))  # fmt: skip
    ok(cli("site", "close", "WUH", "2026-10-01", "--to", "2026-10-07", "--reason", "National Day"))
    ok(cli("site", "close", "WUH", "2026-10-01", "--to", "2026-10-07"))  # the same, twice
    ok(cli("site", "capacity", "WUH", "--kind", "infusion", "--per-day", "4"))
    ok(cli("site", "capacity", "WUH", "--kind", "infusion", "--per-day", "6"))
    ok(cli("site", "capacity", "WUH", "--kind", "visit", "--per-day", "3"))
    ok(cli("site", "capacity", "WUH", "--kind", "visit", "--per-day", "0"))  # removed


def test_sites_as_their_commands_left_them_verify_intact(cli: Cli) -> None:
    sites_scenario(cli)
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("UPDATE sites SET timezone = 'Asia/Tokyo' WHERE code = 'WUH'",
         "site WUH: timezone is 'Asia/Tokyo', but its audit row set 'Asia/Shanghai'"),
        ("UPDATE sites SET closed_weekdays = '' WHERE code = 'NYC'",
         "site NYC: closed is '', but its audit row set 'sat,sun'"),
        ("UPDATE sites SET holidays = NULL WHERE code = 'NYC'",
         "site NYC: holidays is None, but its audit row set 'US'"),
        ("DELETE FROM site_closures WHERE id = (SELECT min(id) FROM site_closures)",
         "site WUH: the closing 2026-10-01 to 2026-10-07 (National Day) is audited but no "
         "longer stored as it was"),
        (f"INSERT INTO site_closures (site_id, start, \"end\", reason, created_at) VALUES"
         f" ({WUH}, '2026-12-24', '2026-12-26', '', '2026-12-01 00:00:00')",
         "site WUH: the closing 2026-12-24 to 2026-12-26 (no reason) has no audit row"),
        ("UPDATE site_closures SET \"end\" = '2026-10-03'"
         " WHERE id = (SELECT max(id) FROM site_closures)",
         "site WUH: the closing 2026-10-01 to 2026-10-07 (no reason) is audited but no longer"
         " stored as it was"),
        # The site calendar shows a closing's reason.
        ("UPDATE site_closures SET reason = 'Strike' WHERE reason = 'National Day'",
         "site WUH: the closing 2026-10-01 to 2026-10-07 (National Day) is audited but no "
         "longer stored as it was"),
        ("UPDATE site_capacity SET per_day = 60 WHERE kind = 'infusion'",
         "site WUH: the cap on infusion is 60, but its last audit row set 6"),
        ("UPDATE site_capacity SET per_day = 0 WHERE kind = 'infusion'",
         "site WUH: the cap on infusion is 0, but its last audit row set 6"),
        ("DELETE FROM site_capacity WHERE kind = 'infusion'",
         "site WUH: the cap on infusion is none, but its last audit row set 6"),
        (f"INSERT INTO site_capacity (site_id, kind, per_day) VALUES ({WUH}, 'call', 1)",
         "site WUH: the cap on call is 1, but its last audit row set none"),
        ("INSERT INTO sites (code, name, timezone, created_at, closed_weekdays) VALUES"
         " ('PAR', '', 'Europe/Paris', '2026-12-01 00:00:00', '')",
         "site PAR has no audit row (added without one)"),
        # A visit moved to another site: it leaves WUH's lists and calendars for NYC's.
        ("UPDATE visits SET site_id = (SELECT id FROM sites WHERE code = 'NYC') WHERE id ="
         " (SELECT v.id FROM visits v JOIN participants p ON p.id = v.participant_id"
         " WHERE p.code = 'WUH-002' AND v.event = 'FU' AND v.occurrence = 1)",
         "visit WUH-002/FU/1 is stored at site NYC, but its participant is at WUH"),
    ],
)  # fmt: skip
def test_a_site_changed_without_an_audit_row_is_named(
    cli: Cli, db_path: Path, statement: str, says: str
) -> None:
    sites_scenario(cli)
    tamper(db_path, statement)
    broken(cli("audit", "verify"), says)
