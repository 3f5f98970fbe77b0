"""The JSON API of a real ``planner serve``: the same rows as the command line's
``--format json`` for the same question, restricted to the caller's sites,
by session or bearer token, and described by an OpenAPI document that
validates (and that every answer here validates against).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate

from tests.test_server import Server
from tests.web import Browser, Seeded, cli, close_clients, logged_in, seed, serving

__all__ = ["close_clients"]  # an autouse fixture: every client is closed after each test


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seeded, Server]]:
    folder = tmp_path_factory.mktemp("api")
    seeded = seed(str(folder / "planner.db"))
    with serving(seeded.db, folder / "server.log") as server:
        yield seeded, server


def cli_json(db: str, *args: str) -> Any:
    return json.loads(cli(db, *args, "--format", "json").stdout)


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}", "components": document["components"]}


def test_the_api_answers_what_the_command_line_answers(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    db, today = seeded.db, seeded.today
    root = logged_in(server, "root")  # all sites: the command line's whole answer
    alice = logged_in(server, "alice")  # WUH only
    document = root.get("/api/v1/openapi.json").json()
    later = (today + timedelta(days=5)).isoformat()
    cases = [
        ("due", {}, ["due"], "DueList"),
        ("due", {"as_of": later}, ["due", "--as-of", later], "DueList"),
        ("due", {"kind": "infusion", "protocol": "ucmsc-dlc"},
         ["due", "--kind", "infusion", "--protocol", "ucmsc-dlc"], "DueList"),
        ("overdue", {}, ["overdue"], "OverdueList"),
        ("overdue", {"as_of": later, "site": "WUH"},
         ["overdue", "--as-of", later, "--site", "WUH"], "OverdueList"),
        ("upcoming", {}, ["upcoming"], "VisitList"),
        ("upcoming", {"from": today.isoformat(), "days": "40", "kind": "visit"},
         ["upcoming", "--from", today.isoformat(), "--days", "40", "--kind", "visit"],
         "VisitList"),
        ("participants", {}, ["participants"], "ParticipantList"),
        ("participants", {"site": "NYC"}, ["participants", "--site", "NYC"], "ParticipantList"),
        ("participants/WUH-001/schedule", {}, ["schedule", "WUH-001"], "VisitList"),
        ("participants/NYC-001/schedule", {}, ["schedule", "NYC-001"], "VisitList"),
        ("audit", {}, ["audit"], "AuditList"),
        ("audit", {"participant": "WUH-001"}, ["audit", "WUH-001"], "AuditList"),
    ]  # fmt: skip
    for path, query, args, schema in cases:
        answer = root.get(f"/api/v1/{path}", params=query)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        expected = cli_json(db, *args)
        assert answer.json() == expected, (path, query)
        jsonschema.validate(answer.json(), schema_of(document, schema))
        if path.startswith(("participants/", "audit")):
            continue
        if "--site" not in args:  # WUH's coordinator: the command line's answer for WUH
            mine = alice.get(f"/api/v1/{path}", params={**query, "site": "WUH"}).json()
            assert mine == cli_json(db, *args, "--site", "WUH")
    assert len(cli_json(db, "due")) >= 2  # the cases above were not all empty
    assert {row["site"] for row in cli_json(db, "due")} == {"WUH", "NYC"}


def test_a_user_gets_only_their_sites(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    alice = logged_in(server, "alice")
    for path in ("due", "overdue", "upcoming", "participants"):
        everything = alice.get(f"/api/v1/{path}").json()
        assert everything == cli_json(seeded.db, path, "--site", "WUH")
        assert alice.get(f"/api/v1/{path}", params={"site": "NYC"}).json() == []
        assert alice.get(f"/api/v1/{path}", params={"site": "NOWHERE"}).json() == []
        assert "NYC-001" not in alice.get(f"/api/v1/{path}").text
    assert cli_json(seeded.db, "participants", "--site", "NYC") != []
    # One participant's schedule and audit rows: another site's is unknown, as is nobody.
    mine = alice.get("/api/v1/participants/WUH-001/schedule")
    assert mine.status_code == 200 and mine.json() == cli_json(seeded.db, "schedule", "WUH-001")
    for code in ("NYC-001", "NOBODY-1"):
        for path, query in (
            (f"participants/{code}/schedule", {}),
            ("audit", {"participant": code}),
        ):
            answer = alice.get(f"/api/v1/{path}", params=query)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json() == {
                "error": f"unknown participant {code!r}",
                "field": "participant",
            }
    trail = alice.get("/api/v1/audit").json()
    assert trail and {row["participant"] for row in trail} <= {"WUH-001", "WUH-002", None}
    assert "NYC-001" not in alice.get("/api/v1/audit").text
    assert any(row["participant"] == "NYC-001" for row in cli_json(seeded.db, "audit"))


def test_bearer_tokens(site: tuple[Seeded, Server]) -> None:
    seeded, server = site
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        good = client.get("/api/v1/due", headers={"Authorization": f"Bearer {seeded.token}"})
        assert good.status_code == 200
        assert good.json() == cli_json(seeded.db, "due", "--site", "WUH")
        wrong = "Bearer " + seeded.token[:-2] + ("AA" if seeded.token[-2:] != "AA" else "BB")
        for header in (wrong, "Bearer", f"Basic {seeded.token}", "Bearer " + "x" * 43):
            answer = client.get("/api/v1/due", headers={"Authorization": header})
            assert answer.status_code == 401, header
            assert answer.headers["www-authenticate"] == 'Bearer realm="planner"'
            assert answer.json()["error"].startswith("authentication required")
        # A token is all the caller has: a session cookie does not rescue a bad token.
        browser = logged_in(server, "root")
        answer = browser.get("/api/v1/due", headers={"Authorization": wrong})
        assert answer.status_code == 401
        # A disabled user's token stops working.
        token = json.loads(cli(seeded.db, "user", "token", "vic", "--format", "json").stdout)
        vic = {"Authorization": f"Bearer {token['token']}"}
        assert client.get("/api/v1/participants", headers=vic).status_code == 200
        cli(seeded.db, "user", "disable", "vic")
        assert client.get("/api/v1/participants", headers=vic).status_code == 401


def test_without_login_the_api_answers_401(site: tuple[Seeded, Server]) -> None:
    _, server = site
    browser = Browser(server)
    for path in ("due", "overdue", "upcoming", "participants"):
        answer = browser.get(f"/api/v1/{path}", params={"site": "WUH"})
        assert answer.status_code == 401
        assert answer.json() == {
            "error": "authentication required: send Authorization: Bearer <token>, or log in",
            "field": None,
        }
        assert "WUH-" not in answer.text


def test_bad_parameters_are_400_naming_the_parameter(site: tuple[Seeded, Server]) -> None:
    _, server = site
    root = logged_in(server, "root")
    document = root.get("/api/v1/openapi.json").json()
    for path, query, name in (
        ("due", {"as_of": "2026-02-30"}, "as_of"),
        # The command line's rules: YYYY-MM-DD in ASCII digits, in 1900-2200.
        ("upcoming", {"from": "9999-12-31"}, "from"),
        ("overdue", {"as_of": "9999-12-31"}, "as_of"),
        ("due", {"as_of": "1899-12-31"}, "as_of"),
        ("due", {"as_of": "20261206"}, "as_of"),
        ("due", {"as_of": "2026-W49-7"}, "as_of"),
        ("due", {"as_of": "２０２６-１２-０６"}, "as_of"),
        ("upcoming", {"days": "１４"}, "days"),
        ("upcoming", {"days": "1_4"}, "days"),
        ("upcoming", {"days": "+14"}, "days"),
        ("upcoming", {"days": "0"}, "days"),
        ("upcoming", {"days": "many"}, "days"),
        ("due", {"kind": "teleport"}, "kind"),
        ("due", {"arm": "g1"}, "arm"),
        ("upcoming", {"arm": "LOW", "protocol": "ucmsc-dlc"}, "arm"),
        ("due", {"protocol": "nope"}, "protocol"),
        ("due", {"sites": "WUH"}, "sites"),
        ("participants", {"status": "asleep"}, "status"),
        ("participants/WUH-001/schedule", {"site": "WUH"}, "site"),
        ("audit", {"from": "2026-13-01"}, "from"),
        ("audit", {"from": "2026-12-06", "to": "2026-12-05"}, "to"),
        ("audit", {"visit": "WUH-001/INF/1"}, "visit"),
        # Given with no value: not "everything", as on the command line.
        ("audit", {"participant": ""}, "participant"),
        ("due", {"site": ""}, "site"),
        ("upcoming", {"from": " "}, "from"),
        ("participants", {"status": ""}, "status"),
    ):
        answer = root.get(f"/api/v1/{path}", params=query)
        assert answer.status_code == 400, (path, query, answer.text)
        assert answer.json()["field"] == name
        jsonschema.validate(answer.json(), schema_of(document, "Error"))
    assert root.get("/api/v1/upcoming", params={"days": "0"}).json()["error"] == (
        "days must be between 1 and 3660, not 0"
    )
    assert root.get("/api/v1/upcoming", params={"from": "9999-12-31"}).json()["error"] == (
        "from '9999-12-31' is outside 1900-2200"
    )


def test_repeated_parameters_and_unknown_paths_answer_in_json(site: tuple[Seeded, Server]) -> None:
    _, server = site
    root = logged_in(server, "root")
    document = root.get("/api/v1/openapi.json").json()
    twice = root.get("/api/v1/due?site=WUH&site=NYC")
    assert twice.status_code == 400
    assert twice.json() == {
        "error": "parameter 'site' is given more than once; give it once",
        "field": "site",
    }
    missing = root.get("/api/v1/schedules")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/json"
    assert missing.json() == {"error": "no such API path: /api/v1/schedules", "field": None}
    posted = root.post("/api/v1/due")
    assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD"
    assert posted.json()["error"] == "POST is not allowed here: use GET, HEAD"
    for answer in (twice, missing, posted):
        jsonschema.validate(answer.json(), schema_of(document, "Error"))
    # Elsewhere a miss is still the one plain 404 every unknown feed gets.
    assert root.get("/nothing/here").text == root.get("/feeds/" + "A" * 32 + ".ics").text


def test_the_openapi_document_validates(site: tuple[Seeded, Server], tmp_path: Path) -> None:
    _, server = site
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as client:
        answer = client.get("/api/v1/openapi.json")  # a description: no login needed
    assert answer.status_code == 200
    document = answer.json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/api/v1/due",
        "/api/v1/overdue",
        "/api/v1/upcoming",
        "/api/v1/participants",
        "/api/v1/participants/{code}/schedule",
        "/api/v1/audit",
    }
    # The schema of a visit has exactly the command line's keys.
    visit = document["components"]["schemas"]["Visit"]
    row = cli_json(site[0].db, "upcoming", "--days", "60")[0]
    assert set(visit["required"]) == set(row)
