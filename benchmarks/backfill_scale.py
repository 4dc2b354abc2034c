"""Gap detection at the scale users live in: N days of 1 s data, `backfill --dry-run`.

1. A private influxd (Debian's 1.6) gets N days of `power_flow,source=local` points, one a
   second, straight over `/write` (line protocol, precision s, batches of 50,000 lines, four
   posts in flight), with known holes: random ones from 4 s to 6 h, one across every Belgian
   midnight of every 30th day, one across each DST night in the window, and two at the threshold
   (a step of exactly 3 s: not a gap; 4 s: a gap). Local poll interval 1 s, so the gap threshold
   is the default 3 s.
2. `python -m logger backfill --dry-run -c CONFIG --since START --until END` runs as a process,
   exactly as a user runs it. Its peak RSS is the kernel's own figure (`ru_maxrss`) reported by
   GNU time (`/usr/bin/time -f %M`), whose own footprint is about 2 MB; `ru_maxrss` read by
   this script directly would be wrong, because a child spawned from a big Python parent
   carries the parent's high-water mark across exec. Without GNU time, VmHWM in
   /proc/PID/status is sampled every 10 ms instead. Its wall time is measured around it, and the
   queries it sent are InfluxDB's own count (`/debug/vars`, httpd `queryReq`, before and after).
3. The gaps it prints (edges to the second, `gap A .. B`) are compared with the holes written.

With `--flavour "3 Core"` (or another name of tests/flavours.py) the dry run talks to that
flavour's reproduction in front of the same influxd (issue 24: InfluxDB 3 Core's 432-file limit,
the reads cut into windows of at most a day); the year's 10-minute blocks are registered with
the reproduction's file model as written, one file each.

Prints one JSON object. Targets for 366 days: every gap exact, peak RSS <= 80 MB, wall <= 120 s.
With `--before DIR` the same dry run also runs from another checkout first (`python -m logger`
imports the package from the working directory), on the same data in the same server.

    .venv/bin/python benchmarks/backfill_scale.py --days 30
    .venv/bin/python benchmarks/backfill_scale.py --days 366
    .venv/bin/python benchmarks/backfill_scale.py --days 366 --flavour "3 Core"
    git archive 4526909 | tar -x -C /tmp/before   # the code before this change
    .venv/bin/python benchmarks/backfill_scale.py --days 30 --before /tmp/before
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, InfluxServer, emit, machine, proc_status, write_config

ZONE = ZoneInfo("Europe/Brussels")
BATCH = 50_000
THRESHOLD = 3  # three local intervals of 1 s


def holes(start: int, end: int, rng: random.Random) -> list[tuple[int, int]]:
    """Removed stretches [x, y) of seconds; never touching each other or the window's ends."""
    wanted: list[tuple[int, int]] = []
    day = datetime.fromtimestamp(start, ZONE).date() + timedelta(days=1)
    while True:  # across Belgian midnight, every 30th day
        midnight = int(datetime(day.year, day.month, day.day, tzinfo=ZONE).timestamp())
        if midnight >= end - 86400:
            break
        wanted.append((midnight - 40, midnight + 25))
        day += timedelta(days=30)
    for t in range(start + 3600, end - 3600, 3600):  # across each DST night (UTC 01:00)
        before = datetime.fromtimestamp(t - 3600, ZONE).utcoffset()
        if before != datetime.fromtimestamp(t, ZONE).utcoffset():
            wanted.append((t - 600, t + 900))
    wanted += [(start + 7200, start + 7202), (start + 9000, start + 9003)]  # steps of 3 s, 4 s
    for _ in range(max(10, (end - start) // 86400 // 4)):
        x = rng.randrange(start + 600, end - 30000)
        wanted.append((x, x + rng.choice([4, 30, 300, 3600, 6 * 3600, rng.randrange(4, 20000)])))
    kept: list[tuple[int, int]] = []
    for x, y in sorted(wanted):
        if not kept or x > kept[-1][1] + 1:
            kept.append((x, y))
    return kept


def expected_gaps(removed: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The oracle: the points left around [x, y) are x - 1 and y."""
    return [(x - 1, y) for x, y in removed if y - (x - 1) > THRESHOLD]


def lines(lo: int, hi: int, removed: list[tuple[int, int]]) -> bytes:
    out = []
    for x, y in removed:
        if y <= lo or x >= hi:
            continue
        out.append((max(lo, x), min(hi, y)))
    skip = set()
    for x, y in out:
        skip.update(range(x, y))
    text = "\n".join(f"power_flow,installation=bench,source=local grid_w={(t * 37) % 4000 - 1500}.5"
                     f" {t}" for t in range(lo, hi) if t not in skip)
    return text.encode()


def load(server: InfluxServer, start: int, end: int, removed: list[tuple[int, int]]) -> int:
    def post(lo: int) -> int:
        body = lines(lo, min(end, lo + BATCH), removed)
        request = urllib.request.Request(f"{server.url}/write?db=bench&precision=s", data=body,
                                         method="POST")
        with urllib.request.urlopen(request, timeout=300) as response:
            assert response.status == 204
        return body.count(b"\n") + 1 if body else 0

    with ThreadPoolExecutor(4) as pool:
        return sum(pool.map(post, range(start, end, BATCH)))


def occupied_blocks(start: int, end: int, removed: list[tuple[int, int]], block: int = 600
                    ) -> list[int]:
    """The 10-minute blocks that hold at least one of the loaded seconds."""
    out, i = [], 0
    for b in range(start // block, (end - 1) // block + 1):
        lo, hi = max(start, b * block), min(end, (b + 1) * block)
        while i < len(removed) and removed[i][1] <= lo:
            i += 1
        j, covered, t = i, True, lo
        while t < hi:
            if j < len(removed) and removed[j][0] <= t < removed[j][1]:
                t = removed[j][1]
                j += 1
            elif j < len(removed) and removed[j][1] <= t:
                j += 1
            else:
                covered = False
                break
        if not covered:
            out.append(b)
    return out


def query_requests(server: InfluxServer) -> int:
    with urllib.request.urlopen(f"{server.url}/debug/vars", timeout=30) as response:
        stats = json.loads(response.read())
    return sum(v["values"].get("queryReq", 0) for k, v in stats.items()
               if isinstance(v, dict) and v.get("name") == "httpd")


def stored(server: InfluxServer) -> int:
    answer = server.query('SELECT count("grid_w") FROM "power_flow"', db="bench")
    return int(answer["results"][0]["series"][0]["values"][0][1])


GAP_LINE = re.compile(r"^\s+gap (\S+ \S+ \S+) \.\. (\S+ \S+ \S+) \(")


def printed_gaps(output: str) -> list[tuple[int, int]]:
    """The gaps `backfill --dry-run` printed, in Belgian time with the zone's abbreviation
    (`2026-10-25 02:30:00 CEST`: CEST is the first of the autumn's repeated hours)."""
    def epoch(text: str) -> int:
        moment, abbreviation = text.rsplit(" ", 1)
        naive = datetime.strptime(moment, "%Y-%m-%d %H:%M:%S")
        for fold in (0, 1):
            local = naive.replace(tzinfo=ZONE, fold=fold)
            if local.tzname() == abbreviation:
                return int(local.timestamp())
        raise ValueError(f"not a Belgian time: {text!r}")

    return [(epoch(m[1]), epoch(m[2])) for m in map(GAP_LINE.match, output.splitlines()) if m]


def compare(server: InfluxServer, command: list[str], tmp: Path, checkout: Path,
            expected: list[tuple[int, int]]) -> dict[str, object]:
    """The same dry run with the code of another checkout (imported from its directory)."""
    queries = query_requests(server)
    code, wall, peak_kb, _, output = run_measured(command, tmp, cwd=checkout)
    found = printed_gaps(output)
    return {"checkout": str(checkout), "exit_code": code, "wall_seconds": round(wall, 1),
            "peak_rss_mb": round(peak_kb / 1024, 1),
            "queries_counted_by_influxdb": query_requests(server) - queries,
            "gaps_found": len(found), "gaps_exact": found == expected}


def run_measured(command: list[str], tmp: Path, cwd: Path = ROOT
                 ) -> tuple[int, float, int, str, str]:
    """Run `command`; (exit code, wall seconds, peak RSS in kB, how it was measured, output)."""
    log_path, rss_path = tmp / "backfill.log", tmp / "rss.txt"
    gnu_time = Path("/usr/bin/time")
    if gnu_time.exists():
        command = [str(gnu_time), "-f", "%M", "-o", str(rss_path), *command]
    peak = 0
    with open(log_path, "wb") as log:
        began = time.monotonic()
        proc = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            if not gnu_time.exists():
                with contextlib.suppress(OSError):
                    peak = max(peak, proc_status(proc.pid).get("VmHWM", 0))
            time.sleep(0.01)
        wall = time.monotonic() - began
    if gnu_time.exists():
        peak = int(rss_path.read_text().split()[-1])
        return proc.returncode, wall, peak, "GNU time %M (ru_maxrss)", log_path.read_text()
    return proc.returncode, wall, peak, "VmHWM sampled every 10 ms", log_path.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=366)
    parser.add_argument("--flavour", default="1.6",
                        help='the InfluxDB to read through, e.g. "3 Core" (tests/flavours.py)')
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="also run the same command from another checkout (e.g. the code "
                        "before this change, from `git archive`), on the same data")
    args = parser.parse_args()
    now = int(time.time())
    end = now - now % 3600 - 3600
    start = end - args.days * 86400
    removed = holes(start, end, random.Random(args.seed))
    expected = expected_gaps(removed)
    result: dict[str, object] = {"machine": machine(), "days": args.days}
    with tempfile.TemporaryDirectory(prefix="jullix-bench-") as tmp, InfluxServer() as server:
        server.create_database("bench")
        began = time.monotonic()
        written = load(server, start, end, removed)
        result["write_seconds"] = round(time.monotonic() - began, 1)
        result["points_loaded"] = written
        result["points_in_influxdb"] = stored(server)
        import flavours  # tests/, on the path through _common

        flavour = flavours.start(args.flavour, server.url)
        if hasattr(flavour.proxy, "note_files"):
            flavour.proxy.create("bench")
            with flavour.proxy.lock:
                flavour.proxy.files[("bench", "power_flow")] = dict.fromkeys(
                    occupied_blocks(start, end, removed), 1)
        elif flavour.proxy is not None:
            flavour.prepare("bench")
        result["flavour"] = args.flavour
        config = write_config(Path(tmp) / "config.toml", {
            "local": {"interval": 1.0},
            "backfill": {"lookback_days": min(366, args.days + 1)},
            "influx": flavour.influx("bench", timeout=30.0),
            "outbox": {"path": str(Path(tmp) / "outbox.sqlite")},
        }, installation="bench")
        queries_before = query_requests(server)
        command = [sys.executable, "-m", "logger", "backfill", "--dry-run", "-c", str(config),
                   "--since", datetime.fromtimestamp(start, UTC).isoformat(),
                   "--until", datetime.fromtimestamp(end, UTC).isoformat()]
        if args.before:
            result["before"] = compare(server, command, Path(tmp), args.before, expected)
            queries_before = query_requests(server)
        code, wall, peak_kb, how, output = run_measured(command, Path(tmp))
        found = printed_gaps(output)
        result.update({
            "backfill_exit_code": code,
            "backfill_wall_seconds": round(wall, 1),
            "backfill_peak_rss_mb": round(peak_kb / 1024, 1),
            "peak_rss_from": how,
            "queries_counted_by_influxdb": query_requests(server) - queries_before,
            "queries_reported_by_backfill": int(re.search(r"InfluxDB queries: (\d+)",
                                                          output)[1]),
            "gaps_expected": len(expected),
            "gaps_found": len(found),
            "gaps_exact": found == expected,
            "gaps_missing": [g for g in expected if g not in found][:5],
            "gaps_extra": [g for g in found if g not in expected][:5],
            "summary": next((line for line in output.splitlines()
                             if line.startswith("gaps found")), output[:200]),
            "refused_by_the_reproduction": getattr(flavour.proxy, "refusals", None),
        })
        if found != expected:
            result["output_tail"] = output[-2000:]
        flavour.stop()
    emit(result)
    ok = result["gaps_exact"] and code == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
