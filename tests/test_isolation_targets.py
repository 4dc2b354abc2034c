"""(issue 19) A target that cannot take its lines never holds back the lines of another.

The raw series and the energy ledger go to different places in InfluxDB; the ledger's is its
own retention policy. When that policy is missing (`[influx] auto_migrate = false`, dropped by
hand) InfluxDB 1.x answers its writes with HTTP 500 `retention policy not found`. Before issue 19
the routed writer reported the whole batch as a retry: the ledger lines at the head of the queue
were never acknowledged, and every raw point behind them waited for ever. Now the ledger's lines
are parked apart (held), the raw ones are written, and the parked ones follow once the policy
exists. All against a real influxd.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

from harness import ROOT, SimulatorProcess, wait_until, write_config

from logger.app.delivery import Delivery
from logger.config import Settings
from logger.core.backoff import Backoff
from logger.core.point import Point
from logger.outbox import Outbox
from logger.sink.gate import SinkGate
from logger.sink.targets import ledger_influx, make_routed_writer

T0 = 1_790_000_000


def ledger_points(n: int) -> list[Point]:
    return [Point.make("ledger_energy", {"installation": "t", "period": "quarter_hour"},
                       {"import_kwh": i / 1000}, T0 + 900 * i) for i in range(n)]


def raw_points(n: int) -> list[Point]:
    return [Point.make("meter", {"installation": "t", "meter_id": "M"},
                       {"energy_import_t1_kwh": 100 + i / 1000}, T0 + i) for i in range(n)]


def ledger_rows(influxd, db: str) -> list[dict]:
    answer = influxd.query('SELECT * FROM "ledger"."ledger_energy"', db=db)
    return [v for r in answer["results"] for s in r.get("series", []) for v in s["values"]]


def test_raw_lines_pass_ledger_lines_whose_policy_is_missing_and_these_follow_it(
        tmp_path, influxd, influx_db):
    from logger.app.features import Features  # (imported here: the CLI test below runs
    from logger.app.ledger_target import LedgerTarget  # on code from before issue 19 too)
    from logger.sink.targets import LEDGER_TARGET

    settings = Settings(influx={"url": influxd.url, "database": influx_db,
                                "auto_migrate": False},
                        outbox={"path": tmp_path / "outbox.sqlite"})
    outbox = Outbox(settings.outbox.path)
    ledger, raw = ledger_points(30), raw_points(20)
    outbox.put(ledger[:12])  # at the head of the queue, as after a ledger update: a batch
    for i in range(6):  # then ledger and raw lines mixed in one batch, by target in parts
        outbox.put(ledger[12 + 3 * i:15 + 3 * i] + raw[2 * i:2 * i + 2])
    outbox.put(raw[12:])
    outbox.commit()
    writer = make_routed_writer(settings)
    delivery = Delivery(outbox, writer, batch_size=12)
    target = LedgerTarget(SinkGate(settings.influx, ledger_influx(settings)), writer, outbox,
                          Features(outbox))

    async def flush() -> None:
        target.tick()
        await delivery.drain(force=True)

    async def scenario() -> None:
        await flush()
        assert len(influxd.points(influx_db, "meter")) == 20  # all raw points, past the ledger's
        assert outbox.depth() == 0 and outbox.held.counts() == {LEDGER_TARGET: 30}
        assert "retention policy not found" in writer.ledger_down
        await flush()  # the first refusal: the next probe waits; nothing is lost meanwhile
        assert outbox.held.counts() == {LEDGER_TARGET: 30}
        assert "retention policy not found" in target.features.off[LEDGER_TARGET]
        influxd.query(f'CREATE RETENTION POLICY "ledger" ON "{influx_db}" DURATION INF '
                      "REPLICATION 1")
        target.probe = Backoff(0.01, 0.01)  # the probe is due now (60 s in the service)
        target.probe.failed()
        await asyncio.sleep(0.05)
        for _ in range(3):
            await flush()
        await writer.close()

    asyncio.run(scenario())
    assert len(ledger_rows(influxd, influx_db)) == 30
    assert outbox.held.counts() == {} and outbox.depth() == 0
    assert LEDGER_TARGET not in target.features.off
    outbox.close()


def test_a_full_batch_of_ledger_lines_holds_back_nothing_in_the_service(tmp_path, influxd,
                                                                         influx_db):
    """At the CLI: 6,000 ledger lines (more than a batch) wait in the outbox of a service whose
    ledger policy does not exist; every meter reading it polls is still stored, and `status`
    says what is parked and why."""
    outbox_path = tmp_path / "outbox.sqlite"
    outbox = Outbox(outbox_path)
    outbox.put(ledger_points(6000))
    outbox.commit()
    outbox.close()
    sim = SimulatorProcess(tmp_path, "--seed", "5")
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "influx": {"url": influxd.url, "database": influx_db, "auto_migrate": False},
        "outbox": {"path": str(outbox_path)},
    })
    logger = subprocess.Popen([sys.executable, "-m", "logger", "run", "-c", str(config)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        wait_until(lambda: len(influxd.points(influx_db, "meter")) >= 3, 40,
                   what="meter points behind 6,000 parked ledger lines")
        time.sleep(2)
        status = subprocess.run([sys.executable, "-m", "logger", "status", "-c", str(config)],
                                cwd=ROOT, capture_output=True, text=True, timeout=60).stdout
    finally:
        logger.terminate()
        output = logger.communicate(timeout=30)[0]
        sim.close()
    assert logger.returncode == 0, output
    assert "held        6000 ledger lines parked" in status, status
    assert "ledger      off: the ledger's place in InfluxDB cannot take writes" in status
    assert "retention policy not found" in status
    assert "its lines are parked apart and everything else is delivered" in output
