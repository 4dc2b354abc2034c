"""Cost of the logger's whole P1 path per telegram, relative to dsmr_parser's bare `parse()`.

Path measured: bytes -> TelegramBuffer (bounded) -> guarded strict parse -> points -> outbox put
-> durable, as the service does it with the memory-first outbox (issue 14), in two cases:

- `outage` (the worst case, "bytes to a durable row"): InfluxDB confirms nothing, so every point
  is committed (fsynced) by the service's commit policy: `Outbox.commit_due` once per second of
  a clock that advances one second per telegram (the meter's 1 Hz and the 1 s commit tick of the
  default `commit_interval`), committing everything pending once the oldest point is due;
- `healthy`: InfluxDB confirms each telegram's point from memory (`peek` + `ack`, no disk).

For reference, `commit_each` is the old outbox's way: one commit per telegram. Baseline:
`TelegramParser(BELGIUM_FLUVIUS).parse(text)` (CRC validation on, the library default) on the
same telegram texts, interleaved in the same run (best of `--repeat` rounds each).

Telegrams come from the simulator (Fluvius layout, 13 months of peaks, gas and water; distinct
seconds so that every telegram yields a `p1` point). Prints one JSON object; target: the
`outage` path <= 1.5 x the bare parse.

    .venv/bin/python benchmarks/p1_path.py [--telegrams 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from logger.outbox import Outbox
from logger.sources.p1.decoder import P1Decoder
from logger.testbed.simulator.model import HouseModel, InstallationFeatures
from logger.testbed.simulator.telegram import TelegramPrinter


def telegrams(count: int) -> list[bytes]:
    model = HouseModel(7, InstallationFeatures(), datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    printer = TelegramPrinter(model.features, 7)
    printer.observe(model.snapshot())
    out = []
    for _ in range(count):
        snap = model.advance_by(1)
        printer.observe(snap)
        out.append(printer.render(snap))
    return out


def bare_parse(texts: list[str]) -> float:
    parser = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS)
    start = time.perf_counter()
    for text in texts:
        parser.parse(text)
    return (time.perf_counter() - start) / len(texts)


class TelegramClock:
    """Monotonic seconds advancing one second per telegram (the meter's rate)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def whole_path(raw: list[bytes], directory: Path, case: str) -> tuple[float, int]:
    clock = TelegramClock()
    outbox = Outbox(directory / f"outbox-{time.monotonic_ns()}.sqlite", clock=clock)
    decoder = P1Decoder("home")
    start = time.perf_counter()
    for data in raw:
        outbox.put(decoder.feed(data))
        if case == "outage":
            outbox.commit_due()
        elif case == "healthy":
            outbox.ack(outbox.peek(100))
        else:
            outbox.commit()
        clock.now += 1.0
    elapsed = time.perf_counter() - start
    outbox.commit()
    rows = outbox.committed_depth()
    outbox.close()
    return elapsed / len(raw), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--telegrams", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    args = parser.parse_args()
    raw = telegrams(args.telegrams)
    texts = [r.decode("ascii") for r in raw]
    cases = ("outage", "healthy", "commit_each")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        directory = Path(tmp)
        # Interleaved rounds, best of each: a busy machine slows all of them alike.
        bases: list[float] = []
        paths: dict[str, list[float]] = {case: [] for case in cases}
        rows: dict[str, int] = {}
        for _ in range(args.repeat):
            bases.append(bare_parse(texts))
            for case in cases:
                elapsed, rows[case] = whole_path(raw, directory, case)
                paths[case].append(elapsed)
    base = min(bases)
    best = {case: min(values) for case, values in paths.items()}
    print(
        json.dumps(
            {
                "telegrams": args.telegrams,
                "telegram_bytes": len(raw[0]),
                "bare_parse_us": round(base * 1e6, 1),
                **{f"{case}_path_us": round(best[case] * 1e6, 1) for case in cases},
                **{f"{case}_ratio": round(best[case] / base, 3) for case in cases},
                "rows_committed": rows,
                "outage_rounds_ratio": [round(p / b, 3) for p, b in zip(paths["outage"], bases,
                                                                         strict=True)],
                "target_outage_ratio_max": 1.5,
                "target_ok": best["outage"] / base <= 1.5,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
