"""The coordinators' page in a real browser: Debian's chromium, driven by
Playwright, against a real ``planner serve`` process.

One browser for the module (CI has two cores). The day of a coordinator: log
in with the keyboard, see today's due list, open a participant, see the
timeline, complete an infusion late and see the infusions counted from it
move, be refused a stale form, log out. Screenshots of Today and a
participant at 1280×800 and 390×844 go to ``test-artifacts/`` (checked to be
non-blank, and without horizontal scrolling on the phone). axe-core
(``tests/axe``, installed from its lock file by npm) checks every page: no
serious or critical violation.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright import sync_api as playwright

from tests.test_server import Server
from tests.web import ARTIFACTS, PASSWORD, Seeded, seed, serving, visit_row

CHROMIUM = Path(os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium"))
AXE_DIR = Path(__file__).parent / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

Page = Any  # playwright.sync_api.Page


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what}, and CI is set", pytrace=False)
    pytest.skip(f"{what} (with CI set this fails)")


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's script, installed by ``npm ci`` from tests/axe's lock file."""
    locked = json.loads((AXE_DIR / "package-lock.json").read_text(encoding="utf-8"))
    version = locked["packages"]["node_modules/axe-core"]["version"]
    manifest = AXE.parent / "package.json"
    installed = json.loads(manifest.read_text())["version"] if manifest.is_file() else None
    if installed != version:
        npm = shutil.which("npm")
        if npm is None:
            _missing("npm is needed to install axe-core")
        done = subprocess.run(
            [str(npm), "ci", "--no-audit", "--no-fund"],
            cwd=AXE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {AXE_DIR}:\n{done.stderr}"
    return AXE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        _missing(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Seeded, Server]]:
    folder = tmp_path_factory.mktemp("browser")
    seeded = seed(str(folder / "planner.db"))
    with serving(seeded.db, folder / "server.log") as server:
        yield seeded, server


def base(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}"


def check_axe(page: Page, axe: str) -> None:
    """axe-core on the page as it is: no serious or critical violation."""
    page.evaluate(axe)  # by the driver, not the page: the page's CSP allows no script
    found = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.html).slice(0, 3)})))"
    )
    bad = [v for v in found if v["impact"] in ("serious", "critical")]
    assert bad == [], f"axe on {page.url}: {json.dumps(bad, indent=1)}"


def check_screenshot(page: Page, name: str, blank: Page) -> None:
    """Save a screenshot to test-artifacts/ and check it shows something."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    data = page.screenshot(path=str(path), full_page=True)
    sample = blank.evaluate(
        """async (b64) => {
          const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
          const image = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
          const canvas = new OffscreenCanvas(image.width, image.height);
          const context = canvas.getContext('2d');
          context.drawImage(image, 0, 0);
          const pixels = context.getImageData(0, 0, image.width, image.height).data;
          const colours = new Set();
          let dark = 0;
          for (let i = 0; i < pixels.length; i += 4 * 5) {
            colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
            if (pixels[i] + pixels[i + 1] + pixels[i + 2] < 200) dark++;
          }
          return {width: image.width, colours: colours.size, dark: dark};
        }""",
        base64.b64encode(data).decode("ascii"),
    )
    assert sample["width"] == page.viewport_size["width"], name
    assert sample["colours"] > 20 and sample["dark"] > 500, (name, sample)


def no_sideways_scrolling(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths}"


def log_in_with_the_keyboard(page: Page, server: Server, name: str) -> None:
    page.goto(base(server) + "/")
    assert page.url == base(server) + "/login?next=%2F"
    page.wait_for_function("document.activeElement.id === 'username'")  # autofocus
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base(server) + "/")


def row(page: Page, visit: str) -> Any:
    return page.locator(f'table#schedule tr[data-visit="{visit}"]')


def target_of(page: Page, visit: str) -> date:
    return date.fromisoformat(row(page, visit).locator("td.target").inner_text().split()[0])


def test_the_coordinators_day(chromium: Any, site: tuple[Seeded, Server], axe_source: str) -> None:
    seeded, server = site
    today = seeded.today
    context = chromium.new_context(viewport=DESKTOP)
    page, blank = context.new_page(), context.new_page()
    log_in_with_the_keyboard(page, server, "alice")
    page.goto(base(server) + "/login?next=%2F")  # logged in: straight back
    assert page.url == base(server) + "/"

    # Today: due, overdue, counts per site; nothing of NYC.
    due = page.locator("table#due")
    assert due.locator('tr[data-visit="WUH-002/INF/1"]').count() == 1
    assert "1 day left" in due.locator('tr[data-visit="WUH-002/INF/1"]').inner_text()
    overdue = page.locator("table#overdue")
    assert "1 day late" in overdue.locator('tr[data-visit="WUH-001/INF/1"]').inner_text()
    assert "NYC" not in page.content()
    check_axe(page, axe_source)
    check_screenshot(page, "today-1280x800.png", blank)

    # A participant: the timeline picture, then an infusion completed a day late.
    overdue.get_by_role("link", name="WUH-001/INF/1").click()
    page.wait_for_url(base(server) + "/participants/WUH-001")
    picture, near = page.locator("svg#timeline-all"), page.locator("svg#timeline-near")
    assert picture.is_visible() and near.is_visible()
    assert (
        picture.locator("g.marker.scheduled").count()
        == page.locator("table#schedule tr.scheduled").count()
    )
    assert picture.locator("g.today line").count() == 1
    check_axe(page, axe_source)
    before = {f"WUH-001/INF/{n}": target_of(page, f"WUH-001/INF/{n}") for n in (1, 2, 3, 4)}
    late = row(page, "WUH-001/INF/1")
    late.locator("summary").click()
    late.get_by_label("Done on").fill(today.isoformat())
    late.get_by_role("button", name="Complete").click()
    page.wait_for_load_state()
    saved = page.locator("section.done")
    assert "WUH-001/INF/1: complete, on " + today.isoformat() in saved.inner_text()
    assert "outside its window" in saved.inner_text()
    shift = today - before["WUH-001/INF/1"]
    assert shift == timedelta(days=2)
    for n in (2, 3, 4):
        visit = f"WUH-001/INF/{n}"
        assert target_of(page, visit) == before[visit] + shift
        assert "changed" in (row(page, visit).get_attribute("class") or "")
        assert f"{visit}: replan, {before[visit]} → {before[visit] + shift}" in saved.inner_text()
    assert "completed " + today.isoformat() in row(page, "WUH-001/INF/1").inner_text()
    for shown in (picture, near):  # each re-planned infusion linked to its anchor
        assert shown.locator("path.link").count() == 3
        assert shown.locator("g.marker.completed.deviation").count() == 1
    check_axe(page, axe_source)
    check_screenshot(page, "participant-1280x800.png", blank)

    # A stale form: another tab moved INF/2 since this one opened the page.
    other = context.new_page()
    other.goto(base(server) + "/participants/WUH-001")
    page.goto(base(server) + "/participants/WUH-001")
    moved_to = target_of(other, "WUH-001/INF/2") + timedelta(days=1)
    mover = row(other, "WUH-001/INF/2")
    mover.locator("summary").click()
    mover.get_by_label("Move to").fill(moved_to.isoformat())
    mover.get_by_label("Reason").fill("the chair is taken")
    mover.get_by_role("button", name="Move").click()
    other.wait_for_load_state()
    assert "WUH-001/INF/2: move" in other.locator("section.done").inner_text()
    stale = row(page, "WUH-001/INF/2")
    stale.locator("summary").click()
    stale.get_by_label("Why (optional)").fill("given early")  # its window opens later
    stale.get_by_role("button", name="Complete").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "changed by someone else since you opened the page" in alert.inner_text()
    assert target_of(page, "WUH-001/INF/2") == moved_to
    assert visit_row(seeded.db, "WUH-001/INF/2")["status"] == "scheduled"

    # Every page passes axe, the error page too; the keyboard reaches every control.
    for path in ("/participants/NOPE", "/upcoming", "/participants", "/audit", "/feeds"):
        page.goto(base(server) + path)
        check_axe(page, axe_source)
    page.get_by_label("Calendar of").select_option("site:WUH")
    page.get_by_role("button", name="Create feed").click()
    page.wait_for_load_state()
    link = page.get_by_label("Feed link").input_value()
    assert link.startswith(base(server) + "/feeds/") and link.endswith(".ics")
    assert page.locator("figure.qr svg").is_visible()
    check_axe(page, axe_source)
    page.goto(base(server) + "/participants/WUH-001")
    reach_everything_with_the_keyboard(page)

    # Log out: the pages are closed again.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base(server) + "/login")
    check_axe(page, axe_source)
    page.goto(base(server) + "/participants/WUH-001")
    assert page.url.startswith(base(server) + "/login?next=")
    context.close()


def reach_everything_with_the_keyboard(page: Page) -> None:
    """Tab goes through every visible link, button, field and disclosure."""
    total = page.evaluate(
        """() => {
          const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]),'
            + ' select, summary, [tabindex="0"]')].filter(e => e.checkVisibility());
          all.forEach((e, i) => e.dataset.kb = String(i));
          return all.length;
        }"""
    )
    reached: set[str] = set()
    for _ in range(4 * total):  # a date field takes a Tab per part (day, month, year)
        page.keyboard.press("Tab")
        found = page.evaluate("document.activeElement && document.activeElement.dataset.kb")
        if found is not None:
            reached.add(found)
        if len(reached) == total:
            break
    missed = page.evaluate(
        "(seen) => [...document.querySelectorAll('[data-kb]')]"
        ".filter(e => !seen.includes(e.dataset.kb)).map(e => e.outerHTML.slice(0, 120))",
        sorted(reached),
    )
    assert missed == [], "not reached by Tab"
    # A disclosure opens with Enter, and its first field takes the focus next.
    page.locator('table#schedule tr[data-visit="WUH-001/FU/1"] summary').focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "on"


def test_the_pages_on_a_phone(chromium: Any, site: tuple[Seeded, Server], axe_source: str) -> None:
    _, server = site
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page, blank = context.new_page(), context.new_page()
    log_in_with_the_keyboard(page, server, "alice")
    no_sideways_scrolling(page)
    check_screenshot(page, "today-390x844.png", blank)
    page.goto(base(server) + "/participants/WUH-002")
    assert page.locator("svg#timeline-all").is_visible()
    no_sideways_scrolling(page)
    check_axe(page, axe_source)
    check_screenshot(page, "participant-390x844.png", blank)
    for path in ("/upcoming", "/participants", "/feeds", "/audit", "/login"):
        page.goto(base(server) + path)
        no_sideways_scrolling(page)
    context.close()
    # The narrowest phones in use (360 px): no page scrolls sideways, and no page
    # logs an error in the console (a missing icon did, on every page).
    narrow = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = narrow.new_page()
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    log_in_with_the_keyboard(page, server, "alice")
    for path in ("/", "/upcoming", "/participants", "/participants/WUH-002", "/feeds", "/audit"):
        page.goto(base(server) + path)
        page.wait_for_load_state("networkidle")
        no_sideways_scrolling(page)
        # A cell's label stands apart from its value ("Outside window3" it read).
        gaps = page.evaluate(
            "() => [...document.querySelectorAll('td[data-label], tbody th[data-label]')]"
            ".map(cell => getComputedStyle(cell, '::before').marginRight)"
        )
        assert all(gap not in ("", "0px") for gap in gaps), (path, gaps)
    assert errors == []
    narrow.close()
