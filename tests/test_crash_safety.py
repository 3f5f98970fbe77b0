"""A large ``planner enroll --csv`` killed with SIGKILL at random moments.

Each run starts the real ``planner`` script on an 8,000-participant CSV and
kills it (seeded random delays): some before it takes the write lock, some
while it holds it and writes, some by luck after it committed. The file is
larger than a connection's page cache (``CACHE_KIB``, 16 MiB: the transaction
writes about 24 MB), so pages reach the WAL well before the commit and some
kills land while the WAL holds frames that no commit frame covers. Afterwards the
database must pass ``PRAGMA integrity_check`` and ``foreign_key_check``, and
hold either every participant with all its visits or none of them (then
nothing at all has changed). The next run starts from whatever the killed one
left; a last run, not killed, must succeed.

Run with ``pytest -s`` to see how the kills fell.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from planner.app import Planner
from tests.conftest import dump

PARTICIPANTS = 8000
RUNS = 11
SEED = 20261122
TIMEOUT = 90  # seconds, for any one run
#: Visits per participant, by (protocol, arm).
VISITS = {
    ("ucmsc-dlc", "G1"): 10,
    ("ucmsc-dlc", "G2"): 8,
    ("ucmsc-dlc", "CTRL"): 6,
    ("cs-huc-mscs", "LOW"): 14,
    ("cs-huc-mscs", "MED"): 14,
    ("cs-huc-mscs", "HIGH"): 14,
}
#: How each run chooses its moment: soon after the start; while it holds the write
#: lock; once it has written pages to the WAL; after it committed; or at any time.
MODES = ["early", "in-transaction", "writing", "anytime", "early", "committed",
         "writing", "in-transaction", "anytime", "early", "writing"]  # fmt: skip


def planner_script() -> str:
    found = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    assert Path(found).exists(), "the planner script is not installed"
    return found


def write_csv(path: Path) -> dict[str, tuple[str, str]]:
    """The enrolment file; returns each participant's (protocol, arm)."""
    arms = list(VISITS)
    wanted: dict[str, tuple[str, str]] = {}
    lines = ["participant,protocol,arm,site,day1,weight_kg"]
    for i in range(PARTICIPANTS):
        protocol, arm = arms[i % len(arms)]
        code = f"K-{i:05d}"
        day1 = date(2026, 1, 5) + timedelta(days=i % 200)
        weight = "" if arm in ("CTRL", "LOW") else str(50 + i % 40)
        lines.append(f"{code},{protocol},{arm},{'WUH' if i % 2 else 'NYC'},{day1},{weight}")
        wanted[code] = (protocol, arm)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return wanted


def holds_write_lock(db: Path) -> bool:
    """Whether another connection holds the write lock (probed without waiting)."""
    connection = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        connection.execute("ROLLBACK")
        return False
    finally:
        connection.close()


def wal_signature(db: Path) -> tuple[int, int]:
    """Size and modification time of the WAL file: it changes when pages are written."""
    wal = Path(f"{db}-wal")
    if not wal.exists():
        return (0, 0)
    stat = wal.stat()
    return (stat.st_size, stat.st_mtime_ns)


class Watch:
    """Follows one run of the command: when it took the write lock, when it wrote."""

    def __init__(self, command: list[str], db: Path) -> None:
        self.db = db
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.started = time.monotonic()
        self.locked_at: float | None = None
        self.wrote_at: float | None = None
        self.unlocked_at: float | None = None
        self._wal_at_lock = (0, 0)
        self.stderr = b""

    def running(self) -> bool:
        return self.process.poll() is None

    def poll(self) -> None:
        """Note the phase the process is in now."""
        if not self.running():
            return
        now = time.monotonic() - self.started
        locked = holds_write_lock(self.db)
        if locked and self.locked_at is None:
            self.locked_at = now
            self._wal_at_lock = wal_signature(self.db)
        elif locked and self.wrote_at is None and wal_signature(self.db) != self._wal_at_lock:
            self.wrote_at = now
        elif not locked and self.locked_at is not None and self.unlocked_at is None:
            self.unlocked_at = now

    def wait_for(self, phase: str) -> None:
        while self.running() and getattr(self, phase) is None:
            assert time.monotonic() - self.started < TIMEOUT
            self.poll()
            time.sleep(0.005)

    def finish(self) -> float:
        while self.running():
            assert time.monotonic() - self.started < TIMEOUT
            self.poll()
            time.sleep(0.005)
        took = time.monotonic() - self.started
        _, self.stderr = self.process.communicate(timeout=TIMEOUT)
        return took


def check_state(db: Path, wanted: dict[str, tuple[str, str]], empty: str) -> int:
    """Check the database after a run; return how many participants it holds."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = connection.execute(
            "SELECT p.code, pv.protocol_id, p.arm, count(v.id) FROM participants p"
            " JOIN protocol_versions pv ON pv.id = p.protocol_version_id"
            " LEFT JOIN visits v ON v.participant_id = p.id GROUP BY p.id"
        ).fetchall()
        orphans = connection.execute(
            "SELECT count(*) FROM visits WHERE participant_id NOT IN (SELECT id FROM participants)"
        ).fetchone()[0]
        enrolled_audit = connection.execute(
            "SELECT count(*) FROM audit WHERE action = 'enroll'"
        ).fetchone()[0]
    finally:
        connection.close()
    assert orphans == 0
    if not rows:
        assert dump(db) == empty, "nothing was enrolled, yet the database changed"
        return 0
    found = {code: (protocol, arm, count) for code, protocol, arm, count in rows}
    assert set(found) == set(wanted), "some participants of the file, but not all"
    for code, (protocol, arm, count) in found.items():
        assert (protocol, arm) == wanted[code]
        assert count == VISITS[(protocol, arm)], f"{code} has {count} visits"
    assert enrolled_audit == len(found)
    return len(found)


def restore(template: Path, db: Path) -> None:
    """Start afresh: ``db`` becomes a copy of ``template``, without any WAL left over."""
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, db)


@dataclass(frozen=True)
class Phases:
    """When a run not killed took the write lock, first wrote, committed and ended."""

    locked_at: float
    wrote_at: float
    unlocked_at: float
    total: float

    @property
    def holding(self) -> float:
        return self.unlocked_at - self.locked_at

    @property
    def writing(self) -> float:
        return self.unlocked_at - self.wrote_at


def calibrate(command: list[str], db: Path) -> Phases:
    """One run not killed, to learn how long the phases last on this machine."""
    calibration = Watch(command, db)
    total = calibration.finish()
    assert calibration.process.returncode == 0, calibration.stderr
    assert None not in (calibration.locked_at, calibration.wrote_at, calibration.unlocked_at)
    assert calibration.locked_at and calibration.wrote_at and calibration.unlocked_at
    return Phases(calibration.locked_at, calibration.wrote_at, calibration.unlocked_at, total)


def kill_delay(rng: random.Random, mode: str, phases: Phases) -> float:
    """How long to wait (after the phase ``mode`` waits for) before the kill.

    Draws all five delays every time, so that each run's delay depends only on
    ``SEED`` and the runs before it.
    """
    return {
        "early": rng.uniform(0.0, 0.8 * phases.locked_at),
        "in-transaction": rng.uniform(0.0, 0.9 * phases.holding),
        "writing": rng.uniform(0.0, 0.8 * phases.writing),
        "anytime": rng.uniform(0.0, 1.1 * phases.total),
        "committed": rng.uniform(0.0, 0.5 * (phases.total - phases.unlocked_at)),
    }[mode]


def wait_for_mode(watch: Watch, mode: str) -> None:
    """Wait until the run reaches the phase that ``mode`` kills it in."""
    if mode == "in-transaction":
        watch.wait_for("locked_at")
    elif mode == "writing":
        watch.wait_for("wrote_at")
    elif mode == "committed":
        watch.wait_for("unlocked_at")


def keep_watching(watch: Watch, delay: float) -> None:
    """Follow the run for ``delay`` seconds, or until it ends."""
    since = time.monotonic()
    while watch.running() and time.monotonic() - since < delay:
        watch.poll()
        time.sleep(0.005)


@dataclass(frozen=True)
class Kill:
    """How a run stood when SIGKILL was sent."""

    locked: bool  # it held the write lock
    wrote: bool  # ... and had written pages to the WAL
    finished_alone: bool  # it had already ended, by itself

    @property
    def state(self) -> str:
        return "pages in the WAL" if self.wrote else "lock held" if self.locked else "no lock"

    def outcome(self, count: int) -> str:
        """What happened, given that the database now holds ``count`` participants."""
        if self.finished_alone:
            return "finished before the kill"
        if count:
            return "killed after the commit"
        if self.locked:
            return "killed mid-write"
        return "killed before writing"


def run_and_kill(command: list[str], db: Path, mode: str, delay: float) -> Kill:
    """Start ``command``, kill it with SIGKILL ``delay`` seconds into the phase ``mode``."""
    watch = Watch(command, db)
    try:
        wait_for_mode(watch, mode)
        keep_watching(watch, delay)
        locked = watch.running() and holds_write_lock(db)
        wrote = locked and watch.wrote_at is not None
        finished_alone = not watch.running()
        watch.process.send_signal(signal.SIGKILL)
        _, err = watch.process.communicate(timeout=TIMEOUT)
    finally:
        if watch.running():
            watch.process.kill()
            watch.process.wait(timeout=TIMEOUT)
    # A command may also finish on its own between the last look and the signal.
    finished_alone = finished_alone or watch.process.returncode == 0
    if finished_alone:
        assert watch.process.returncode == 0, err.decode()
    else:
        assert watch.process.returncode == -signal.SIGKILL
    return Kill(locked, wrote, finished_alone)


@pytest.mark.slow
def test_enrolment_killed_at_random_moments_is_all_or_nothing(tmp_path: Path) -> None:
    template = tmp_path / "template.db"
    with Planner(str(template), actor="setup") as api:
        api.add_site("WUH", "Asia/Shanghai")
        api.add_site("NYC", "America/New_York")
    assert not Path(f"{template}-wal").exists()
    empty = dump(template)
    csv_path = tmp_path / "many.csv"
    wanted = write_csv(csv_path)
    db = tmp_path / "planner.db"

    command = [
        planner_script(),
        "--db",
        str(db),
        "--actor",
        "crash",
        "enroll",
        "--csv",
        str(csv_path),
    ]

    # One run not killed, to learn how long the phases last on this machine.
    restore(template, db)
    phases = calibrate(command, db)
    assert check_state(db, wanted, empty) == PARTICIPANTS
    assert phases.writing > 0.2, (
        f"pages reached the WAL only {phases.writing:.2f}s before the commit: "
        "make the file larger than the page cache"
    )
    restore(template, db)

    rng = random.Random(SEED)
    outcomes: list[str] = []
    details: list[str] = []
    for run, mode in enumerate(MODES[:RUNS]):
        delay = kill_delay(rng, mode, phases)
        kill = run_and_kill(command, db, mode, delay)
        count = check_state(db, wanted, empty)
        outcome = kill.outcome(count)
        assert not (kill.finished_alone and count == 0)
        outcomes.append(outcome)
        details.append(f"run {run}: {mode} +{delay:.2f}s ({kill.state}) -> {outcome}")
        if count:  # everything committed: start the next run afresh
            restore(template, db)

    # The same command, not killed, succeeds on what the last killed run left.
    finished = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == f"enrolled {PARTICIPANTS} participants from {csv_path}"
    assert check_state(db, wanted, empty) == PARTICIPANTS

    tally = Counter(outcomes)
    print(f"\ncrash safety: {RUNS} runs of enroll --csv ({PARTICIPANTS} participants; "
          f"a whole run {phases.total:.2f}s, write lock taken at {phases.locked_at:.2f}s, "
          f"first WAL write at {phases.wrote_at:.2f}s, commit at "
          f"{phases.unlocked_at:.2f}s): {dict(sorted(tally.items()))}\n  "
          + "\n  ".join(details))  # fmt: skip
    assert len(outcomes) >= 10
    assert tally["killed before writing"] >= 1
    assert tally["killed mid-write"] >= 1
    assert any("pages in the WAL" in line and "mid-write" in line for line in details)
