"""(issue 24) Each InfluxDB flavour is recognised, told what works there, migrated its own way,
and `backfill --undo` does there what docs/influxdb.md's matrix says; a write-only token logs
the raw series and the rest says why it is off.

1.6 is the real server; 1.8, 2.7, 3 Core, 3 Enterprise and Cloud Serverless are reproductions
of their documented behaviour in front of it (tests/flavours.py), not the real servers.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from flavours import FLAVOURS, WRITE_ONLY, start
from harness import write_config

from logger.cli.main import main
from logger.config import load_settings
from logger.sink.gate import SinkGate
from logger.sink.targets import ledger_influx, make_routed_writer
from logger.sink.writers import Outcome

pytestmark = pytest.mark.integration

NAMES = {"1.6": "InfluxDB 1.6.7", "1.8": "InfluxDB 1.8.10 (OSS)", "2.7": "InfluxDB v2.7.11 (OSS)",
         "3 Core": "InfluxDB 3 Core 3.11.4", "3 Enterprise": "InfluxDB 3 Enterprise 3.11.4",
         "Cloud Serverless": "InfluxDB Cloud (cloud2)"}
UNDO = {"1.6": "InfluxQL DELETE", "1.8": "InfluxQL DELETE", "2.7": "/api/v2/delete",
        "3 Core": "not possible", "3 Enterprise": "influxdb3 delete rows",
        "Cloud Serverless": "Cloud Serverless deletes nothing"}
REMOVES = {"1.6", "1.8", "2.7"}  # the matrix: where undo removes points
START = 1_790_000_000 - 1_790_000_000 % 3600


@pytest.fixture(params=FLAVOURS)
def flavour(request, influxd):
    made = start(request.param, influxd.url)
    yield made
    made.stop()


def config(tmp_path, flavour, db, token=None, **influx):
    return write_config(tmp_path / "config.toml", {
        "local": {"enabled": False},
        "influx": flavour.influx(db, token, timeout=10.0, **influx),
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
    }, installation="flav")


def iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def upstream_count(influxd, db, where):
    answer = influxd.query(f'SELECT count("grid_w") FROM "power_flow" WHERE {where}', db=db)
    series = answer["results"][0].get("series") or []
    return series[0]["values"][0][1] if series else 0


def test_check_names_the_flavour_and_says_what_works(tmp_path, flavour, capsys):
    db = f"f_{uuid.uuid4().hex[:8]}"
    flavour.prepare(db)
    assert main(["check", "-c", str(config(tmp_path, flavour, db))]) == 0
    out = capsys.readouterr().out
    assert f"ok   influx  {flavour.url} " in out and NAMES[flavour.name] in out, out
    for line in ("writes: API", "migrations: ", "ledger: ", "backfill --undo: ", "long reads"):
        assert line in out, (line, out)
    assert UNDO[flavour.name] in out, out
    bounded = "in windows of at most 1d" in out
    assert bounded is (flavour.name == "3 Core"), out


def test_undo_does_what_the_matrix_says(tmp_path, flavour, influxd, capsys):
    db = f"u_{uuid.uuid4().hex[:8]}"
    cfg = config(tmp_path, flavour, db)
    assert main(["migrate", "-c", str(cfg)]) == 0
    settings = load_settings(cfg)
    lines = [f"power_flow,installation=flav,source={source} grid_w={t % 97}.5 {t}"
             for t in range(START, START + 600, 5) for source in ("cloud", "local")]

    async def write() -> None:
        writer = make_routed_writer(settings)
        try:
            assert (await writer.write(lines)).outcome is Outcome.OK
        finally:
            await writer.close()

    asyncio.run(write())
    capsys.readouterr()
    bounds = ["--since", iso(START), "--until", iso(START + 600)]
    code = main(["backfill", "--undo", *bounds, "-c", str(cfg)])
    out = capsys.readouterr().out
    cloud = upstream_count(influxd, db, "source = 'cloud'")
    assert upstream_count(influxd, db, "source = 'local'") == 120  # never touched
    if flavour.name in REMOVES:
        assert code == 0 and "removed 120 power_flow source=cloud points" in out, out
        assert cloud == 0
    else:
        assert code == 1 and "refused: nothing removed; would have removed 120" in out, out
        assert cloud == 120
        assert "delete" in out.split("refused:", 1)[1], out


@pytest.mark.parametrize("name", WRITE_ONLY)
def test_a_write_only_token_logs_raw_data_and_the_ledger_says_why_not(tmp_path, name,
                                                                      influxd):
    flavour = start(name, influxd.url)
    try:
        db = f"w_{uuid.uuid4().hex[:8]}"
        flavour.prepare(db)  # an administrator made the raw place
        settings = load_settings(config(tmp_path, flavour, db, flavour.write_only(db)))

        async def run() -> tuple[SinkGate, Outcome]:
            gate = SinkGate(settings.influx, ledger_influx(settings))
            assert await gate.ensure() is True  # raw logging is not held back
            writer = make_routed_writer(settings)
            try:
                result = await writer.write([f"meter,installation=flav,meter_id=M "
                                             f"power_import_w={t}.0 {t}"
                                             for t in range(START, START + 50)])
            finally:
                await writer.close()
            return gate, result.outcome

        gate, outcome = asyncio.run(run())
        assert outcome is Outcome.OK
        assert len(influxd.points(db, "meter")) == 50
        assert gate.state == "ready (not migrated: not permitted)", gate.state
        why = gate.feature_problems["ledger"]
        assert "may not manage the database" in why and "docs/influxdb.md" in why, why
    finally:
        flavour.stop()


def test_core_past_its_five_databases_holds_the_lines_and_drops_none(tmp_path, influxd):
    """Core allows 5 databases: the ledger's would be a sixth. Its lines are held (the place
    is missing), never dead-lettered; the raw series go on."""
    flavour = start("3 Core", influxd.url)
    try:
        db = f"l_{uuid.uuid4().hex[:8]}"
        flavour.prepare(db)  # the raw database, as its first write or migration 0001 made it
        for n in range(4):
            flavour.proxy.create(f"{db}_other{n}")
        settings = load_settings(config(tmp_path, flavour, db))

        async def run():
            writer = make_routed_writer(settings)
            try:
                return await writer.write([
                    f"meter,installation=flav,meter_id=M power_import_w=1.0 {START}",
                    f"ledger_energy,installation=flav,period=day import_kwh=1.0 {START}"])
            finally:
                await writer.close()

        result = asyncio.run(run())
    finally:
        flavour.stop()
    assert result.outcome is Outcome.PARTIAL, result
    (_, raw), (_, ledger) = result.parts
    assert raw.outcome is Outcome.OK and ledger.outcome is Outcome.HOLD, result
    assert "would exceed limit of 5 databases" in ledger.message
