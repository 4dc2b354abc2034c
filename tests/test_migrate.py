"""Migrations against a real InfluxDB: database, retention, the record in `_jullix_migrations`."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from logger.app.service import Service
from logger.cli.main import main
from logger.config import ConfigError, InfluxSettings, Settings, load_settings
from logger.core.durations import go_duration_seconds, normalise_retention
from logger.core.point import Point
from logger.sink.migration_context import retention_seconds
from logger.sink.migrator import RECORD_MEASUREMENT, Migration, ServerInfo, discover, run_migrations

# -- pure functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("INF", "INF"), ("inf", "INF"), ("0", "INF"), ("52w", "52w"), ("30D", "30d"),
     ("1w2d", "1w2d"), ("720h", "720h"), ("90m", "90m")],
)
def test_retention_accepts_inf_and_influxql_durations(given, expected):
    assert normalise_retention(given) == expected


@pytest.mark.parametrize("bad", ["forever", "52 weeks", "-1w", "1y", "30m", "10s"])
def test_retention_refuses_nonsense_and_less_than_an_hour(bad):
    with pytest.raises(ValueError):
        normalise_retention(bad)


def test_durations_in_seconds():
    assert retention_seconds("INF") == 0
    assert retention_seconds("52w") == 52 * 7 * 86400
    assert retention_seconds("1w2d") == 9 * 86400
    assert go_duration_seconds("8736h0m0s") == 8736 * 3600
    assert go_duration_seconds("0s") == 0
    assert go_duration_seconds("1h30m0s") == 5400


def test_a_bad_retention_in_the_config_names_the_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[influx]\nraw_retention = "a long time"\n')
    with pytest.raises(ConfigError, match=r"\[influx\] raw_retention: .*INF"):
        load_settings(path)


def test_the_raw_retention_may_also_be_written_by_its_older_name(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[influx]\nretention = "400d"\n')
    assert load_settings(path).influx.raw_retention == "400d"
    path.write_text('[influx]\nretention = "a long time"\n')
    with pytest.raises(ConfigError, match=r"\[influx\] retention: .*INF"):
        load_settings(path)


def test_new_keys_have_their_defaults():
    influx = Settings().influx
    assert influx.auto_migrate is True
    assert influx.raw_retention == "INF"


@pytest.mark.parametrize(
    ("version", "build", "v3"),
    [("1.6.7~rc0", "OSS", False), ("1.8.10", "OSS", False), ("v2.7.11", "OSS", False),
     ("3.0.3", "Core", True), ("3.1.0", "Enterprise", True), ("", "Core", True),
     ("", "", False)],
)
def test_influxdb_3_is_recognised_by_version_or_build(version, build, v3):
    assert ServerInfo(version, build).is_v3 is v3


def test_the_migrations_are_numbered_and_complete():
    found = discover()
    assert [m.id for m in found][:2] == ["0001", "0002"]
    assert all(m.description for m in found)


# -- against a real influxd --------------------------------------------------------------


def config_file(tmp_path: Path, influx: dict) -> Path:
    lines = ["[influx]"]
    for key, value in influx.items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    lines += ["[outbox]", f'path = "{tmp_path / "outbox.sqlite"}"']
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def policies(server, db: str) -> dict[str, dict]:
    result = server.query(f'SHOW RETENTION POLICIES ON "{db}"')["results"][0]
    out = {}
    for series in result.get("series", []):
        for values in series["values"]:
            row = dict(zip(series["columns"], values, strict=True))
            out[row["name"]] = row
    return out


def record(server, db: str) -> list[dict]:
    return server.points(db, RECORD_MEASUREMENT)


@pytest.mark.integration
def test_migrate_on_an_empty_influxdb_dry_run_then_apply_then_nothing(
    tmp_path, private_influxd, capsys
):
    server = private_influxd
    config = config_file(tmp_path, {"url": server.url, "database": "energy",
                                    "raw_retention": "52w"})
    assert "energy" not in server.databases()

    assert main(["migrate", "--dry-run", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert 'would CREATE DATABASE "energy"' in out
    assert "would set retention policy 'autogen' on 'energy' to 52w" in out
    assert "dry run: nothing was changed" in out
    assert "energy" not in server.databases()  # the dry run changed nothing

    assert main(["migrate", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "0001 created database 'energy'" in out
    assert "0002 changed retention policy 'autogen' on 'energy' from infinite to 52w" in out
    assert "0003 created retention policy 'ledger' on 'energy' with duration infinite" in out
    assert "4 migration(s) applied, 0 already applied" in out
    assert "energy" in server.databases()
    autogen = policies(server, "energy")["autogen"]
    assert autogen["duration"] == "8736h0m0s" and autogen["default"] is True
    ledger = policies(server, "energy")["ledger"]  # the ledger outlives the raw data
    assert ledger["duration"] == "0s" and ledger["default"] is False
    rows = record(server, "energy")
    assert sorted(r["id"] for r in rows) == ["0001", "0002", "0003", "0004"]
    assert all(r["version"] and r["applied_at_s"] > 1.6e9 for r in rows)
    assert {r["id"]: r["settings"] for r in rows}["0002"] == "retention=52w"

    assert main(["migrate", "-c", str(config)]) == 0  # a second run does nothing
    out = capsys.readouterr().out
    assert "0 migration(s) applied, 4 already applied" in out
    assert len(record(server, "energy")) == 4
    assert policies(server, "energy")["autogen"]["duration"] == "8736h0m0s"


@pytest.mark.integration
def test_a_changed_retention_is_applied_again_and_dry_run_leaves_it(tmp_path, private_influxd,
                                                                    capsys):
    server = private_influxd
    config = config_file(tmp_path, {"url": server.url, "database": "energy", "retention": "52w"})
    assert main(["migrate", "-c", str(config)]) == 0
    time.sleep(1.1)  # a new record point, not an overwrite of the first (same second)
    config = config_file(tmp_path, {"url": server.url, "database": "energy", "retention": "INF"})
    assert main(["migrate", "--dry-run", "-c", str(config)]) == 0
    assert "would change retention policy 'autogen' on 'energy' from 52w to infinite" in (
        capsys.readouterr().out
    )
    assert policies(server, "energy")["autogen"]["duration"] == "8736h0m0s"
    assert main(["migrate", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 migration(s) applied, 3 already applied" in out
    assert policies(server, "energy")["autogen"]["duration"] == "0s"


@pytest.mark.integration
def test_a_configured_retention_policy_is_created_not_made_default(tmp_path, private_influxd):
    server = private_influxd
    settings = InfluxSettings(url=server.url, database="energy", retention_policy="jullix",
                              retention="30d")
    report = asyncio.run(run_migrations(settings))
    assert report.ok, report.error
    rps = policies(server, "energy")
    assert rps["jullix"]["duration"] == "720h0m0s" and rps["jullix"]["default"] is False
    assert rps["autogen"]["default"] is True  # dashboards querying without an rp keep working
    answer = server.query(f'SELECT * FROM "jullix"."{RECORD_MEASUREMENT}"', db="energy")
    assert len(answer["results"][0]["series"][0]["values"]) == 4


@pytest.mark.integration
def test_api_v2_against_influxdb_1x_falls_back_to_influxql(tmp_path, private_influxd,
                                                           private_v2_proxy, capsys):
    """No buckets API (404), as on InfluxDB 1.8: the database is created with InfluxQL."""
    server = private_influxd
    config = config_file(tmp_path, {"url": private_v2_proxy.url, "api": "v2",
                                    "bucket": "energy", "retention": "4w"})
    assert main(["migrate", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert "0001 created database 'energy' (no buckets API, InfluxDB 1.8: used InfluxQL)" in out
    assert "(no buckets API, InfluxDB 1.8: used InfluxQL)" in out.split("0002", 1)[1]
    assert policies(server, "energy")["autogen"]["duration"] == "672h0m0s"
    assert "0003 created retention policy 'ledger' on 'energy'" in out
    assert sorted(r["id"] for r in record(server, "energy")) == ["0001", "0002", "0003", "0004"]


@pytest.mark.integration
def test_a_failing_migration_is_named_and_not_recorded(tmp_path, private_influxd, capsys):
    """InfluxDB refuses a retention shorter than the shard group duration (168h) of autogen."""
    server = private_influxd
    config = config_file(tmp_path, {"url": server.url, "database": "energy", "retention": "1h"})
    assert main(["migrate", "-c", str(config)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: migration 0002 (set the retention) failed: retention policy duration" in out
    assert [r["id"] for r in record(server, "energy")] == ["0001"]


def test_an_unreachable_influxdb_is_one_clear_line(tmp_path, capsys):
    config = config_file(tmp_path, {"url": "http://127.0.0.1:9", "timeout": 2.0})
    assert main(["migrate", "-c", str(config)]) == 1
    assert "FAILED: cannot reach InfluxDB at http://127.0.0.1:9: ConnectError" in (
        capsys.readouterr().out
    )


@pytest.mark.integration
def test_later_migrations_do_not_run_after_a_failure(private_influxd):
    server = private_influxd
    calls = []

    async def fail(ctx, dry_run):
        from logger.sink.migrator import MigrationError

        raise MigrationError("no way")

    async def later(ctx, dry_run):
        calls.append("later")
        return ["ran"]

    available = [*discover()[:1], Migration("0900", "fails", fail, "x"),
                 Migration("0901", "later", later, "y")]
    report = asyncio.run(run_migrations(InfluxSettings(url=server.url), available=available))
    assert report.error == "migration 0900 (fails) failed: no way"
    assert calls == []
    assert [r["id"] for r in record(server, "jullix")] == ["0001"]


@pytest.mark.integration
def test_run_writes_nothing_into_a_half_migrated_database(tmp_path, private_influxd, caplog):
    """The service keeps points in the outbox while a migration fails, and says why."""
    server = private_influxd
    settings = Settings(
        local={"enabled": False},
        influx={"url": server.url, "database": "energy", "retention": "1h", "timeout": 2.0},
        outbox={"path": tmp_path / "outbox.sqlite"},
    )
    service = Service(settings)
    service.outbox.put([Point("meter", (("installation", "home"),), (("power_w", 1.0),),
                              1_700_000_000)])
    service.outbox.commit()
    with caplog.at_level(logging.INFO):
        asyncio.run(service.run(duration=3.0))
    assert "migration 0002 (set the retention) failed" in caplog.text
    assert "points stay in the outbox" in caplog.text
    assert server.points("energy", "meter") == []
    from logger.outbox import Outbox

    outbox = Outbox(tmp_path / "outbox.sqlite")
    try:
        assert outbox.depth() == 1
    finally:
        outbox.close()


@pytest.mark.integration
def test_run_migrates_then_writes(tmp_path, private_influxd, caplog):
    server = private_influxd
    settings = Settings(
        local={"enabled": False},
        influx={"url": server.url, "database": "energy", "retention": "52w", "timeout": 2.0},
        outbox={"path": tmp_path / "outbox.sqlite"},
    )
    service = Service(settings)
    service.outbox.put([Point("meter", (("installation", "home"),), (("power_w", 1.0),),
                              int(time.time()))])
    with caplog.at_level(logging.INFO):
        asyncio.run(service.run(duration=3.0))
    assert "4 migration(s) applied" in caplog.text
    assert policies(server, "energy")["ledger"]["duration"] == "0s"  # the ledger's own place
    assert policies(server, "energy")["autogen"]["duration"] == "8736h0m0s"
    assert len(server.points("energy", "meter")) == 1


@pytest.mark.integration
def test_auto_migrate_false_leaves_the_server_alone(tmp_path, private_influxd):
    server = private_influxd
    settings = Settings(
        local={"enabled": False},
        influx={"url": server.url, "database": "energy", "auto_migrate": False},
        outbox={"path": tmp_path / "outbox.sqlite"},
    )
    asyncio.run(Service(settings).run(duration=1.5))
    assert "energy" not in server.databases()
