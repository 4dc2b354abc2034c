"""`jullix-logger backfill --undo`: exactly the cloud points of the range go, nothing else.

Against a real influxd, through the real command (a process). The expected set is computed
here from the points the test wrote.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from harness import Process, write_config

from logger.app.backfill.state import STATE_FILE

BASE = int(datetime(2026, 10, 24, 22, 0, tzinfo=UTC).timestamp())
SINCE, UNTIL = BASE + 1000, BASE + 2000  # [since, until)


def cli(tmp_path: Path, name: str, *args: str) -> tuple[int, str]:
    proc = Process(list(args), tmp_path / f"{name}.log")
    try:
        return proc.wait(60), proc.output()
    finally:
        proc.close()


def stored(influxd, db: str) -> set[tuple[str, str, str, int]]:
    rows = set()
    for measurement in ("power_flow", "meter"):
        for row in influxd.points(db, measurement):
            rows.add((measurement, row.get("installation"), row.get("source"), row["time"]))
    return rows


@pytest.mark.integration
def test_undo_removes_exactly_the_cloud_points_of_the_range(tmp_path, influxd, influx_db):
    moments = sorted({*range(BASE, BASE + 3000, 10), SINCE - 1, SINCE, SINCE + 1, UNTIL - 1,
                      UNTIL, UNTIL + 1})
    lines = []
    for t in moments:
        lines += [f"power_flow,installation=home,source=cloud grid_w=1.0,solar_w=2.0 {t}",
                  f"power_flow,installation=home,source=local grid_w=3.0 {t}",
                  f"power_flow,installation=other,source=cloud grid_w=4.0 {t}",
                  f"meter,installation=home,meter_id=M power_import_w=5.0 {t}"]
    influxd.write(influx_db, "\n".join(lines))
    before = stored(influxd, influx_db)
    doomed = {("power_flow", "home", "cloud", t) for t in moments if SINCE <= t < UNTIL}
    assert len(doomed) == 102

    outbox = tmp_path / "state" / "outbox.sqlite"
    state = outbox.parent / STATE_FILE
    state.parent.mkdir()
    state.write_text(json.dumps({"version": 1, "installations": {
        "home": [[SINCE + 100, SINCE + 200, BASE + 5000], [BASE + 2500, BASE + 2600, BASE + 5000]],
        "other": [[SINCE + 100, SINCE + 200, BASE + 5000]]}}))
    config = write_config(tmp_path / "config.toml", {
        "influx": {"url": influxd.url, "database": influx_db},
        "outbox": {"path": str(outbox)},
    }, installation="home")
    bounds = ["--since", datetime.fromtimestamp(SINCE, UTC).isoformat(),
              "--until", datetime.fromtimestamp(UNTIL, UTC).isoformat()]

    code, output = cli(tmp_path, "dry", "backfill", "--undo", "--dry-run", *bounds,
                       "-c", str(config))
    assert code == 0, output
    assert "would remove 102 power_flow source=cloud points" in output
    assert stored(influxd, influx_db) == before

    code, output = cli(tmp_path, "undo", "backfill", "--undo", *bounds, "-c", str(config))
    assert code == 0, output
    assert "removed 102 power_flow source=cloud points" in output
    assert stored(influxd, influx_db) == before - doomed
    saved = json.loads(state.read_text())["installations"]
    assert saved["home"]["fetched"] == [[BASE + 2500, BASE + 2600, BASE + 5000]]
    assert saved["other"] == [[SINCE + 100, SINCE + 200, BASE + 5000]]  # not ours: untouched
    assert state.stat().st_mode & 0o777 == 0o600

    code, output = cli(tmp_path, "again", "backfill", "--undo", *bounds, "-c", str(config))
    assert code == 0 and "removed 0 " in output, output

    code, output = cli(tmp_path, "unbounded", "backfill", "--undo", "--since",
                       "2026-10-24", "-c", str(config))
    assert code == 2 and "--undo needs --since and --until" in output
    assert stored(influxd, influx_db) == before - doomed
