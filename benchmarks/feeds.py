"""Benchmark of ``planner serve``: revalidations under load, full feed fetches.

    python benchmarks/feeds.py                  # 50 clients, 2 x 20 s, a 5,000-visit site
    python benchmarks/feeds.py --tiny           # seconds: 10 clients for 2 s, 500 visits
    python benchmarks/feeds.py --duration 60 --clients 100 --workers 2

Builds an SQLite database in a temporary folder, starts ``planner serve`` on a
free 127.0.0.1 port (loopback only), and prints one line per figure:

- revalidations: ``--clients`` connections sending ``GET`` with
  ``If-None-Match`` for ``--duration`` seconds, first back to back (as fast
  as the answers, 304s, come back: the most the server answers per second;
  latency there is mostly time spent queueing behind the other clients),
  then paced at ``--rate`` requests per second in all (the latency of a
  server under that load, counted from each request's planned moment):
  requests per second, p50 and p99 latency each time. The load generator is a
  plain asyncio HTTP/1.1 client, so that it takes as little of the machine's
  CPU as possible from the server it measures (both share it);
- the first fetch of the site feed after the server started (every event
  rendered), then full fetches: after a change of one visit (the server
  makes the calendar again, rendering only the events that changed), and
  unchanged (served from its cache), plain and gzip.

Bounded: at most 300 clients, 20,000 requests/s, 120 seconds per phase and
200 full fetches. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx

from planner.app import FeedScope, Planner
from planner.app.feed_cache import RECENT_SECONDS
from planner.core.enrolment import Enrolment

HOST = "127.0.0.1"
DAY1 = date(2026, 3, 2)
TARGETS = {
    "revalidations/s, most": 1000.0,
    "most p99 ms": 50.0,
    "paced p99 ms": 50.0,
    "full fetch ms": 150.0,
}


@dataclass(frozen=True)
class Sizes:
    clients: int
    duration: float
    visits: int
    fetches: int


FULL = Sizes(clients=50, duration=20.0, visits=5_000, fetches=20)
TINY = Sizes(clients=10, duration=2.0, visits=500, fetches=3)


def build(db: str, visits: int) -> tuple[str, list[str]]:
    """A site with at least ``visits`` visits, and a feed of it: its path and the visits."""
    with Planner(db, actor="benchmark") as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        per = len(planner.enroll("P0000", "cs-huc-mscs", "MED", "WUH", DAY1))
        count = -(-visits // per)
        planner.enroll_many(
            [
                Enrolment(f"P{i:04d}", "cs-huc-mscs", "MED", "WUH", DAY1 + timedelta(days=i % 90))
                for i in range(1, count)
            ]
        )
        feed = planner.feeds.create(FeedScope("site", "WUH"), "benchmark")
        scheduled = [
            v.visit_id
            for v in planner.visits()
            if v.status == "scheduled" and v.window_end > v.target
        ]
        return feed.path, scheduled


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(db: str, port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    command = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    process = subprocess.Popen(
        [command, "--db", db, "serve", "--port", str(port), "--no-access-log",
         "--workers", str(workers)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://{HOST}:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


# ------------------------------------------------------------ revalidations


async def _poller(
    port: int, request: bytes, until: float, latencies: list[float], pace: tuple[float, float]
) -> int:
    """One keep-alive connection sending ``request`` until ``until``; non-304 answers.

    ``pace`` is (first send, interval): with an interval, each request has its
    planned moment and its latency counts from then, so a slow answer that
    delays the next request is counted too; with 0, requests go back to back."""
    reader, writer = await asyncio.open_connection(HOST, port)
    wrong = 0
    planned, interval = pace
    try:
        while time.perf_counter() < until:
            if interval:
                await asyncio.sleep(max(0.0, planned - time.perf_counter()))
                start, planned = planned, planned + interval
            else:
                start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            wrong += head[9:12] != b"304"
    finally:
        writer.close()
    return wrong


async def _load(
    port: int, path: str, etag: str, clients: int, seconds: float, rate: float
) -> tuple[list[float], float, int]:
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nIf-None-Match: {etag}\r\n\r\n".encode()
    latencies: list[float] = []
    start = time.perf_counter()
    interval = clients / rate if rate else 0.0
    paces = [(start + i * interval / clients, interval) for i in range(clients)]
    wrong = await asyncio.gather(
        *(_poller(port, request, start + seconds, latencies, pace) for pace in paces)
    )
    return latencies, time.perf_counter() - start, sum(wrong)


def revalidations(port: int, path: str, clients: int, seconds: float, rate: float) -> list[str]:
    """Back to back (the most the server answers), then paced at ``rate`` (latency)."""
    etag = httpx.get(f"http://{HOST}:{port}{path}", headers={"Accept-Encoding": "identity"})
    lines = []
    for offered in (0.0, rate):
        latencies, elapsed, wrong = asyncio.run(
            _load(port, path, etag.headers["etag"], clients, seconds, offered)
        )
        if wrong:
            raise SystemExit(f"{wrong} revalidations were not answered 304")
        cuts = statistics.quantiles(latencies, n=100)
        how = f"paced at {offered:g}/s" if offered else "back to back"
        note = f"{clients} clients {how}, {seconds:g} s, {len(latencies)} requests"
        name = "paced" if offered else "most"
        lines += [
            figure(f"revalidations/s, {name}", len(latencies) / elapsed, note),
            figure(f"{name} p50 ms", cuts[49] * 1000),
            figure(f"{name} p99 ms", cuts[98] * 1000),
        ]
    return lines


# ------------------------------------------------------------ full fetches


def full_fetches(db: str, port: int, path: str, moves: list[str], runs: int) -> list[str]:
    url = f"http://{HOST}:{port}{path}"
    changed, unchanged, zipped = [], [], []
    size, etag = 0, ""
    with httpx.Client(headers={"Accept-Encoding": "identity"}) as client, Planner(db) as planner:
        for visit in moves[:runs]:
            planner.miss(visit)  # the next fetch renders the calendar again,
            time.sleep(RECENT_SECONDS * 2)  # once the last answer is no longer reused
            start = time.perf_counter()
            response = client.get(url)
            changed.append(time.perf_counter() - start)
            if response.headers["etag"] == etag:
                raise SystemExit("a change did not change the feed's ETag")
            body, etag = response.content, response.headers["etag"]
            size = len(body)
            start = time.perf_counter()
            client.get(url)
            unchanged.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.get(url, headers={"Accept-Encoding": "gzip"})
            zipped.append(time.perf_counter() - start)
    events = body.count(b"BEGIN:VEVENT")
    note = f"{events} events, {size / 1e6:.1f} MB, median of {len(changed)}"
    return [
        figure("full fetch ms", statistics.median(changed) * 1000, f"after a change; {note}"),
        figure("full fetch unchanged ms", statistics.median(unchanged) * 1000, "cached"),
        figure("full fetch gzip ms", statistics.median(zipped) * 1000, "cached, gzip"),
    ]


def first_fetch(port: int, path: str) -> str:
    """The first fetch of the feed after the server started: every event rendered."""
    start = time.perf_counter()
    response = httpx.get(f"http://{HOST}:{port}{path}", headers={"Accept-Encoding": "identity"})
    elapsed = time.perf_counter() - start
    events = response.content.count(b"BEGIN:VEVENT")
    return figure("first fetch ms", elapsed * 1000, f"after start, nothing kept; {events} events")


def figure(name: str, value: float, note: str = "") -> str:
    target = TARGETS.get(name)
    if target is None:
        verdict = ""
    else:
        rate = "/s" in name
        met = value >= target if rate else value <= target
        limit = ">=" if rate else "<="
        verdict = f"target {limit} {target:g}  {'met' if met else 'MISSED'}"
    return f"{name:<26} {value:>10.1f}  {verdict:<24} {note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiny", action="store_true", help="seconds, small sizes")
    parser.add_argument("--duration", type=float, help="seconds of revalidation load")
    parser.add_argument("--clients", type=int, help="concurrent revalidating clients")
    parser.add_argument("--visits", type=int, help="visits in the site feed")
    parser.add_argument("--rate", type=float, default=1000.0, help="paced requests/s in all")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    clients = min(args.clients or sizes.clients, 300)
    duration = min(args.duration or sizes.duration, 120.0)
    visits = min(args.visits or sizes.visits, 200_000)
    folder = tempfile.mkdtemp(prefix="planner-feeds-bench-")
    try:
        db = os.path.join(folder, "bench.db")
        path, moves = build(db, visits)
        port = free_port()
        print(f"planner serve --workers {args.workers}, {os.cpu_count()} CPUs, loopback")
        with server(db, port, args.workers):
            lines = [first_fetch(port, path)]
            lines += revalidations(port, path, clients, duration, min(args.rate, 20_000.0))
            lines += full_fetches(db, port, path, moves, min(sizes.fetches, 200))
        print("\n".join(lines))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
