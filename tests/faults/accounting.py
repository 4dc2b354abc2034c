"""Exact accounting for fault scenarios: what the box served versus what InfluxDB holds.

Ground truth comes from the simulator (`GET /_sim/served`: every meter reading it delivered);
InfluxDB is read by timestamp. A scenario passes only with nothing missing (beyond what the
scenario proves was never accepted), nothing duplicated, nothing unexpected.

Extension point: `GROUND_TRUTH` maps a source name to a function that returns that source's
expected points as {epoch second: served values}; a scenario lists its sources. The local API's
meter is registered here; the P1 stream and the cloud backfill register theirs the same way
(the measurement they write, and the simulator endpoint that says what was served).
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from logger.core.line_protocol import identity_of_line
from logger.outbox.keys import CONFIRMED_UPTO
from logger.testbed.influxd import InfluxServer, quote_ident


@dataclass(frozen=True)
class Truth:
    """How one source's served data becomes expected points in one measurement."""

    measurement: str
    served: Callable[[Any], dict[int, dict[str, Any]]]  # simulator -> {epoch s: values}
    fingerprint: Callable[[dict[str, Any]], tuple]  # InfluxDB row -> comparable values
    expected_fingerprint: Callable[[dict[str, Any]], tuple]  # served values -> same shape


def _local_served(sim: Any) -> dict[int, dict[str, Any]]:
    return {
        int(datetime.fromisoformat(r["utc"]).timestamp()): r["values"] for r in sim.served()
    }


def _meter_row_fingerprint(row: dict[str, Any]) -> tuple:
    return (
        round(row.get("power_import_w") or 0.0, 3),
        round(row.get("power_export_w") or 0.0, 3),
        round(row.get("energy_import_t1_kwh") or 0.0, 3),
        round(row.get("energy_import_t2_kwh") or 0.0, 3),
    )


def _meter_served_fingerprint(values: dict[str, Any]) -> tuple:
    power, energy = values["power"], values["energy"]
    return (
        round(power["in"] * 1000, 3),
        round(power["out"] * 1000, 3),
        round(energy["in_1"], 3),
        round(energy["in_2"], 3),
    )


def _p1_served(sim: Any) -> dict[int, dict[str, Any]]:
    """Valid telegrams the P1 stream delivered while a logger was connected (`GET /_sim/p1`),
    with the values of the house model at each telegram's second.

    `sim` must carry the `seed`, `start` (aware datetime) and `devices` it was started with:
    the model is deterministic, so a fresh copy here reproduces every telegram's registers.
    Damaged telegrams and telegrams sent to no connected logger (a hung link) are not served.
    """
    from logger.testbed.simulator import SimulatorConfig
    from logger.testbed.simulator.model import HouseModel

    sent = sorted(
        (s for s in sim.control("GET", "p1")["sent"] if s["clients"] > 0 and s["kind"] == "valid"),
        key=lambda s: s["t"],
    )
    features = SimulatorConfig(devices=frozenset(sim.devices)).features()
    model = HouseModel(sim.seed, features, sim.start)
    served: dict[int, dict[str, Any]] = {}
    for s in sent:
        snap = model.advance_to(s["t"])
        served[s["t"]] = {"time": s["time"], "import_w": snap.import_w,
                          "export_w": snap.export_w, "import_j": snap.import_j,
                          "voltage_dv": snap.voltage_dv}
    return served


def _p1_row_fingerprint(row: dict[str, Any]) -> tuple:
    return (
        round(row.get("power_import_w") or 0.0, 3),
        round(row.get("power_export_w") or 0.0, 3),
        round(row.get("energy_import_t1_kwh") or 0.0, 3),
        round(row.get("energy_import_t2_kwh") or 0.0, 3),
        round(row.get("voltage_l1_v") or 0.0, 1),
    )


def _p1_served_fingerprint(values: dict[str, Any]) -> tuple:
    # As the meter prints them: whole W, energy registers floored to whole Wh, volts to 0.1 V.
    return (
        float(values["import_w"]),
        float(values["export_w"]),
        (values["import_j"][0] // 3600) / 1000,
        (values["import_j"][1] // 3600) / 1000,
        values["voltage_dv"][0] / 10,
    )


GROUND_TRUTH: dict[str, Truth] = {
    "local": Truth("meter", _local_served, _meter_row_fingerprint, _meter_served_fingerprint),
    "p1": Truth("p1", _p1_served, _p1_row_fingerprint, _p1_served_fingerprint),
}


@dataclass
class Accounting:
    """The result of one comparison; `line()` is what CI logs show."""

    scenario: str
    measurement: str
    expected: int
    present: int
    missing: list[int]
    duplicated: int
    unexpected: list[int]
    series: int
    value_mismatches: int
    allowed_missing: list[int] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        extra = "".join(f", {k}={v}" for k, v in self.notes.items())
        allowed = (f", explained_missing={len(self.allowed_missing)}"
                   if self.allowed_missing else "")
        return (
            f"[accounting] {self.scenario}: {self.measurement} expected={self.expected} "
            f"present={self.present} missing={len(self.missing)} "
            f"duplicated={self.duplicated} unexpected={len(self.unexpected)} "
            f"series={self.series} value_mismatches={self.value_mismatches}{allowed}{extra}"
            f" ({self.seconds:.1f} s)"
        )

    def assert_exact(self) -> None:
        assert not self.missing, f"{self.line()}\nmissing: {self.missing[:20]}"
        assert self.duplicated == 0, self.line()
        assert not self.unexpected, f"{self.line()}\nunexpected: {self.unexpected[:20]}"
        assert self.series == 1, self.line()
        assert self.value_mismatches == 0, self.line()
        assert self.expected > 0, self.line()


def series_count(server: InfluxServer, db: str, measurement: str) -> int:
    result = server.query(f'SHOW SERIES FROM "{measurement}"', db=db)["results"][0]
    return sum(len(s.get("values", [])) for s in result.get("series", []))


def account(
    scenario: str,
    server: InfluxServer,
    db: str,
    served: dict[int, dict[str, Any]],
    truth: Truth = GROUND_TRUTH["local"],
    expected: Iterable[int] | None = None,
    allowed_missing: Iterable[int] = (),
) -> Accounting:
    """Compare served readings with the rows InfluxDB holds.

    - expected: the served instants that must be present (default: all served);
    - allowed_missing: served instants the scenario judged never accepted (a SIGKILL in the
      uncommitted window, an overflow drop); absent, or present with exactly the values served
      at that instant (fetched again after a restart), never anything else;
    - duplicated: rows beyond one per instant (a second series) plus rows at an instant that
      was never served but carry the values of a served reading (a re-send stamped elsewhere);
    - unexpected: any other row at an instant that was never served (or must be absent).
    """
    rows = server.points(db, truth.measurement)
    per_time = Counter(row["time"] for row in rows)
    stored = set(per_time)
    allowed = set(allowed_missing)
    expected_set = set(served) - allowed if expected is None else set(expected)
    served_prints = {truth.expected_fingerprint(v): t for t, v in served.items()}
    duplicated = sum(n - 1 for n in per_time.values() if n > 1)
    duplicates: list[tuple[int, int, bool]] = []  # (stored at, same values served at, served?)
    unexpected = []
    for t in sorted(stored & allowed):
        # Judged lost at a kill, yet stored with exactly the values served at that instant:
        # the restarted logger fetched the same meter second again (the box serves one reading
        # per second). Nothing is wrong with that; anything else at such an instant is.
        row = next(r for r in rows if r["time"] == t)
        if not _same(truth.fingerprint(row), truth.expected_fingerprint(served[t])):
            unexpected.append(t)
    for t in sorted(stored - set(served)):
        row = next(r for r in rows if r["time"] == t)
        twin = served_prints.get(truth.fingerprint(row))
        if twin is not None:
            duplicated += 1
            duplicates.append((t, twin, False))
        else:
            unexpected.append(t)
    mismatches = 0
    for row in rows:
        values = served.get(row["time"])
        if values is not None and not _same(truth.fingerprint(row),
                                            truth.expected_fingerprint(values)):
            mismatches += 1
    return Accounting(
        scenario=scenario,
        measurement=truth.measurement,
        expected=len(expected_set),
        present=len(expected_set & stored),
        missing=sorted(expected_set - stored),
        duplicated=duplicated,
        unexpected=unexpected,
        series=series_count(server, db, truth.measurement),
        value_mismatches=mismatches,
        allowed_missing=sorted(allowed),
        notes={"duplicates": duplicates} if duplicates else {},
    )


def _same(a: tuple, b: tuple) -> bool:
    """Equal within 1 Wh (W), or the same float32: the box sends float32, whose step above
    16,384 kWh is 2 Wh, and the logger stores the shortest decimal of that float32
    (16596.11 for the box's 16596.109375, which this oracle rounds to 16596.109)."""
    return all(math.isclose(x, y, abs_tol=1e-3) or _float32(x) == _float32(y)
               for x, y in zip(a, b, strict=True))


def _float32(value: float) -> bytes:
    return struct.pack("<f", value)


# -- the outbox, read from outside the logger process -----------------------------------------


def integrity(path: Path) -> str:
    """SQLite's own check of the outbox file ("ok" when sound), read-only."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def outbox_identities(path: Path) -> set[str]:
    """Identities of the rows committed to the outbox and still waiting (read-only; safe next
    to the logger): rows up to the drain's watermark are confirmed, only not deleted yet."""
    if not path.exists():
        return set()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        mark = db.execute("SELECT value FROM meta WHERE key = ?", (CONFIRMED_UPTO,)).fetchone()
        return {identity_of_line(line) for (line,) in db.execute(
            "SELECT line FROM outbox WHERE id > ?", (int(mark[0]) if mark else 0,))}
    finally:
        db.close()


def outbox_counters(path: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return dict(db.execute("SELECT name, value FROM counters"))
    finally:
        db.close()


def influx_identities(server: InfluxServer, db: str) -> set[str]:
    """Identities (series key + time, as `Point.identity`) of every point InfluxDB holds."""
    result = server.query("SHOW TAG KEYS", db=db)["results"][0]
    tag_keys = {s["name"]: {row[0] for row in s["values"]} for s in result.get("series", [])}
    identities = set()
    for measurement, keys in tag_keys.items():
        if measurement.startswith("_"):
            continue  # the logger's own bookkeeping (applied migrations)
        for row in server.points(db, measurement):
            tags = ",".join(f"{k}={row[k]}" for k in sorted(keys) if row.get(k) is not None)
            identities.add(f"{quote_free(measurement)},{tags} {row['time']}")
    return identities


def quote_free(name: str) -> str:
    assert quote_ident(name) == f'"{name}"', "test data has no characters to escape"
    return name


def identity_time(identity: str) -> int:
    return int(identity.rsplit(" ", 1)[1])
