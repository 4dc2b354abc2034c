"""End to end over P1: `python -m logger simulate` as the box, `python -m logger run` as the
logger, a real influxd. The simulator's ground truth (`GET /_sim/p1`) says which telegrams it
delivered valid and which damaged; InfluxDB must hold exactly the valid ones.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dsmr_parser.value_types import timestamp
from harness import ROOT, Process, SimulatorProcess, wait_until, write_config

from logger.testbed.influxd import free_port
from logger.testbed.simulator.local_api import float32

pytestmark = pytest.mark.integration


class P1Simulator(SimulatorProcess):
    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.p1_port = free_port()
        super().__init__(tmp_path, "--p1-port", str(self.p1_port), *extra)

    def truth(self) -> dict:
        return self.control("GET", "p1")

    def delivered(self, kind: str | None = None) -> list[dict]:
        return delivered_in(self.truth(), kind)

    def p1_faults(self, **changes) -> dict:
        return self.control("POST", "faults", {"p1": changes})


def delivered_in(truth: dict, kind: str | None = None) -> list[dict]:
    """Telegrams of a `/_sim/p1` answer that reached a connected logger (optionally one kind)."""
    sent = [s for s in truth["sent"] if s["clients"] > 0]
    return [s for s in sent if kind is None or s["kind"] == kind]


def config(
    tmp_path: Path,
    sim: P1Simulator,
    influx: dict | None,
    idle_timeout: float = 5.0,
    local: bool = False,
) -> Path:
    sections = {
        "local": {"enabled": local, "url": sim.url, "interval": 1.0, "timeout": 2.0},
        "p1": {
            "enabled": True,
            "host": "127.0.0.1",
            "port": sim.p1_port,
            "idle_timeout": idle_timeout,
        },
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    }
    if influx:
        sections["influx"] = {"timeout": 3.0, **influx}
    return write_config(tmp_path / "config.toml", sections)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "logger", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def p1_times(influxd, db: str, measurement: str = "p1") -> list[int]:
    return [row["time"] for row in influxd.points(db, measurement)]


def finish(sim: P1Simulator, logger: Process) -> None:
    """Stop the stream, let the logger take the last telegram in, stop the logger cleanly."""
    sim.p1_faults(paused=True)
    time.sleep(1.5)
    assert logger.stop() == 0, logger.output()


def test_ten_simulated_minutes_with_1_percent_corrupt_telegrams(tmp_path, influxd, influx_db):
    sim = P1Simulator(
        tmp_path,
        "--seed",
        "11",
        "--speed",
        "20",
        "--start",
        "2026-03-10T12:00:00+01:00",
        "--p1-corrupt-rate",
        "0.01",
    )
    cfg = config(tmp_path, sim, {"url": influxd.url, "database": influx_db})
    logger = Process(["run", "-c", str(cfg)], tmp_path / "logger.log")
    try:
        wait_until(lambda: len(sim.delivered()) >= 600, 60, what="ten simulated minutes")
        finish(sim, logger)
        truth = sim.truth()
        status = cli("status", "-c", str(cfg))
    finally:
        logger.close()
        sim.close()

    delivered = delivered_in(truth)
    valid = [s["t"] for s in delivered if s["kind"] == "valid"]
    corrupt = [s["t"] for s in delivered if s["kind"] != "valid"]
    assert len(delivered) >= 600
    assert {s["kind"] for s in delivered} == {"valid", "crc"}
    assert 1 <= len(corrupt) <= 20, corrupt  # 1 % of ~600
    stored = p1_times(influxd, influx_db)
    assert stored == valid  # exactly one point per valid telegram, in order
    assert not set(stored) & set(corrupt)
    print(f"\n{len(delivered)} telegrams delivered, {len(corrupt)} corrupt, {len(stored)} stored")

    rows = influxd.points(influx_db, "p1")
    assert {r["meter_id"] for r in rows} == {"1SAG3101021605"}
    assert all(
        r["energy_import_t1_kwh"] is not None and r["voltage_l3_v"] is not None for r in rows
    )
    gas = [r for r in influxd.points(influx_db, "p1_mbus") if r["kind"] == "gas"]
    assert 2 <= len(gas) <= 4 and all(r["time"] % 300 == 0 for r in gas[1:])
    assert len(influxd.points(influx_db, "p1_peak")) >= 11
    assert status.returncode == 0, status.stderr
    assert "p1 " in status.stdout and f"crc mismatch {len(corrupt)}" in status.stdout, status.stdout


def test_every_kind_of_fault_at_once_still_stores_exactly_the_valid_telegrams(
    tmp_path, influxd, influx_db
):
    sim = P1Simulator(
        tmp_path,
        "--seed",
        "5",
        "--speed",
        "10",
        "--p1-split",
        "--p1-corrupt-rate",
        "0.05",
        "--p1-garbage-rate",
        "0.1",
        "--p1-non-ascii-rate",
        "0.05",
        "--p1-bad-crc-field-rate",
        "0.05",
        "--p1-disconnect-rate",
        "0.02",
    )
    cfg = config(tmp_path, sim, {"url": influxd.url, "database": influx_db})
    logger = Process(["run", "-c", str(cfg)], tmp_path / "logger.log")
    try:
        wait_until(lambda: len(sim.delivered()) >= 200, 60, what="200 telegrams")
        finish(sim, logger)
        truth = sim.truth()
    finally:
        logger.close()
        sim.close()
    delivered = delivered_in(truth)
    kinds = {s["kind"] for s in delivered}
    assert {"valid", "crc", "non_ascii", "bad_crc_field"} <= kinds, truth["counts"]
    assert p1_times(influxd, influx_db) == [s["t"] for s in delivered if s["kind"] == "valid"]
    assert logger.proc.returncode == 0


def test_a_silent_half_open_link_is_detected_and_the_stream_resumes(tmp_path, influxd, influx_db):
    idle = 2.0
    sim = P1Simulator(tmp_path, "--seed", "2", "--speed", "5")
    cfg = config(tmp_path, sim, {"url": influxd.url, "database": influx_db}, idle_timeout=idle)
    logger = Process(["run", "-c", str(cfg)], tmp_path / "logger.log")
    try:
        wait_until(lambda: len(p1_times(influxd, influx_db)) >= 5, 30, what="first points")
        hung_at = time.time()
        sim.p1_faults(hang=True)
        resumed = wait_until(
            lambda: [s for s in sim.delivered() if s["sent_at"] > hung_at + 0.1],
            20,
            what="the stream to resume",
        )[0]
        truth = sim.truth()
        time.sleep(1.0)
        finish(sim, logger)
        truth = sim.truth()
        output = logger.output()
    finally:
        logger.close()
        sim.close()
    gap = resumed["sent_at"] - hung_at
    # Silence is noticed after idle_timeout, the reconnect waits one backoff step (<= 1 s), the
    # next telegram follows within 1/speed s; 0.5 s for scheduling.
    assert gap <= idle + 1.0 + 0.2 + 0.5, gap
    assert truth["connections_total"] == 2
    assert f"lost (no data for {idle:g} s)" in output and "P1: back" in output, output
    delivered = [s["t"] for s in delivered_in(truth, "valid")]
    assert p1_times(influxd, influx_db) == delivered  # nothing lost that was delivered
    print(f"\nresumed {gap:.2f} s after the link went silent (idle_timeout {idle:g} s)")


def test_autumn_dst_change_gives_strictly_increasing_times_that_match_the_flags(
    tmp_path, influxd, influx_db
):
    sim = P1Simulator(
        tmp_path, "--seed", "8", "--speed", "30", "--start", "2026-10-25T02:55:00+02:00"
    )
    cfg = config(tmp_path, sim, {"url": influxd.url, "database": influx_db}, local=True)
    logger = Process(["run", "-c", str(cfg)], tmp_path / "logger.log")
    end = int(datetime(2026, 10, 25, 1, 5, tzinfo=UTC).timestamp())  # 02:05 W
    try:
        wait_until(
            lambda: sim.delivered() and sim.delivered()[-1]["t"] >= end,
            60,
            what="the simulated clock to pass 02:05 winter time",
        )
        finish(sim, logger)
        truth = sim.truth()
    finally:
        logger.close()
        sim.close()
    delivered = delivered_in(truth)
    assert all(s["kind"] == "valid" for s in delivered)
    stored = p1_times(influxd, influx_db)
    assert stored == [s["t"] for s in delivered]
    assert all(b > a for a, b in itertools.pairwise(stored))  # strictly increasing
    for s in delivered:  # the S/W-flagged wall clock means exactly this instant
        assert int(timestamp(s["time"]).timestamp()) == s["t"], s
    texts = [s["time"] for s in delivered]
    assert "261025025959S" in texts and "261025020000W" in texts  # the clock fell back
    # The local meter endpoint tells the same story at the same seconds.
    p1_rows = {r["time"]: r for r in influxd.points(influx_db, "p1")}
    meter_rows = influxd.points(influx_db, "meter")
    assert len(meter_rows) >= 10
    for row in meter_rows:
        twin = p1_rows.get(row["time"])
        if twin is None:
            continue
        for name in ("power_import_w", "power_export_w", "voltage_l1_v", "meter_id"):
            assert row[name] == twin[name], (name, row, twin)
        # The local API carries float32: 5-digit kWh registers lose their last Wh there, the
        # telegram keeps it. Same register, same second: the same float32.
        for name in (
            "energy_import_t1_kwh",
            "energy_import_t2_kwh",
            "energy_export_t1_kwh",
            "energy_export_t2_kwh",
        ):
            assert float32(row[name]) == float32(twin[name]), (name, row, twin)
    assert sum(1 for r in meter_rows if r["time"] in p1_rows) >= 10


def test_check_waits_for_one_valid_telegram(tmp_path):
    sim = P1Simulator(tmp_path, "--seed", "1")
    try:
        good = cli("check", "-c", str(config(tmp_path, sim, None)))
        sim.p1_faults(corrupt_rate=1.0)
        bad = cli("check", "-c", str(config(tmp_path, sim, None, idle_timeout=2.0)))
    finally:
        sim.close()
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.splitlines()
    at = next(i for i, x in enumerate(lines) if " p1 " in x)
    assert lines[at].startswith("ok")
    assert lines[at + 1].strip().startswith("meter 1SAG3101021605 at ")  # what it read
    assert bad.returncode == 1
    line = next(x for x in bad.stdout.splitlines() if " p1 " in x)
    assert line.startswith("FAIL") and "crc_mismatch" in line, line
