"""The MQTT broker stopped for 30 s and restarted while the logger runs with the local API and P1.

Why 30 s and real time: the outage must outlast the reconnect backoff's growth (1, 2, 4, 8, 16 s)
so the return is found by a backed-off retry, not by luck; it is the one long MQTT test.

Judged three ways, each against something other than the code under test:
- InfluxDB: every meter reading and every P1 telegram the simulator served, exactly once
  (tests/faults/accounting.py), whatever MQTT did;
- MQTT came back: one reconnect, every discovery config and every meter state published again
  after the restart;
- the drop counter: the values the logger must have offered are recomputed here from the points
  InfluxDB holds (proved equal to what was served) with the publish rule written out plainly
  (`offered`); a subscriber with a persistent session (the broker keeps it across its restart)
  saw what reached the broker; every offered value it never saw was dropped, and the logger's
  `mqtt_dropped` (and `mqtt_offered`) must equal those counts exactly.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness import SimulatorProcess, wait_until, write_config
from mqtt_watch import Watcher

from faults.accounting import GROUND_TRUTH, account, outbox_counters
from faults.registry import scenario
from faults.runner import start_logger
from logger.testbed.influxd import InfluxServer, free_port

DB = "jullix"
START = "2026-06-15T13:00:00+02:00"
INTERVAL = 3  # [mqtt] interval, seconds
OUTAGE_S = 30.0
METER_TOPICS = "jullix/test/meter_1sag3101021605/"
BRUSSELS = ZoneInfo("Europe/Brussels")


class Sim(SimulatorProcess):
    def __init__(self, tmp_path: Path) -> None:
        self.seed, self.devices = 31, ()
        self.start = datetime.fromisoformat(START)
        self.p1_port = free_port()
        super().__init__(tmp_path, "--p1-port", str(self.p1_port), "--seed", str(self.seed),
                         "--start", START, "--devices", "none")


def text(key: str, value: float) -> str:
    """The state text, as Home Assistant must get it (the registers' resolutions)."""
    if key == "tariff":
        return f"T{int(value)}"
    decimals = 3 if key.endswith(("_kwh", "_m3")) else 1 if key.endswith("_v") else \
        2 if key.endswith("_a") else 0
    return f"{round(value, decimals) + 0.0:.{decimals}f}"


def mean_12m(month_max_w: float, at: int, peaks: dict[int, float]) -> float:
    """The capacity tariff's mean, plainly: this month and the 11 before, each >= 2.5 kW."""
    local = datetime.fromtimestamp(at, BRUSSELS)
    months = {(local.year * 12 + local.month - 1 - k) for k in range(12)}
    billed = [max(month_max_w, 2500.0)]
    for start, w in peaks.items():
        m = datetime.fromtimestamp(start, BRUSSELS)
        key = m.year * 12 + m.month - 1
        if key in months and key != local.year * 12 + local.month - 1:
            billed.append(max(w, 2500.0))
    return sum(billed) / len(billed)


def offered(server: InfluxServer) -> dict[str, list[tuple[int, str]]]:
    """Per meter state topic: the (source time, text) the publish rule lets through, in order."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    peaks = {row["time"]: row["demand_w"] for row in server.points(DB, "p1_peak")}
    for row in server.points(DB, "p1"):
        t = row["time"]
        fields = {k: float(v) for k, v in row.items()  # JSON gives 338.0 as 338
                  if isinstance(v, int | float) and k != "time"}
        fields["grid_power_w"] = fields["power_import_w"] - fields["power_export_w"]
        for way in ("import", "export"):
            fields[f"energy_{way}_kwh"] = (fields[f"energy_{way}_t1_kwh"]
                                           + fields[f"energy_{way}_t2_kwh"])
        fields["captar_mean_12m_w"] = mean_12m(fields["captar_month_max_w"], t, peaks)
        for key, value in fields.items():
            series[key].append((t, value))
    for row in server.points(DB, "p1_mbus"):
        series[f"{row['kind']}_m3"].append((row["time"], row["value_m3"]))
    out = {}
    for key, values in series.items():
        kept: list[tuple[int, str]] = []
        for t, value in values:
            shown = text(key, value)
            if kept and (shown == kept[-1][1] or kept[-1][0] <= t < kept[-1][0] + INTERVAL):
                continue
            kept.append((t, shown))
        out[METER_TOPICS + key] = kept
    return out


def delivered(watcher: Watcher, topic: str, sequence: list[tuple[int, str]],
              announces: list[float], sent_at: dict[int, float]) -> tuple[int, list[str]]:
    """How many offered values reached the broker, and what it got that nobody offered.

    The subscriber's messages must be the offered sequence with gaps (dropped values) and with
    repeats: after each connect the logger sends every entity's latest value again (the
    announce). A message that repeats the last matched value is such a republish unless a
    later offer of the same text was already made when the announce went out.
    """
    messages = [m for m in watcher.snapshot() if m.topic == topic and not m.retain]
    first_after = {next((m.at for m in messages if m.at >= a), None) for a in announces}
    matched, position, unexpected = 0, 0, []
    for m in messages:
        if position and m.payload == sequence[position - 1][1]:
            later = [j for j in range(position, len(sequence)) if sequence[j][1] == m.payload
                     and sent_at.get(sequence[j][0], 0.0) < m.at]
            if m.at not in first_after or not later:
                continue  # a republish of what the broker had already got
        found = next((j for j in range(position, len(sequence))
                      if sequence[j][1] == m.payload), None)
        if found is None:
            unexpected.append(m.payload)
            continue
        matched, position = matched + 1, found + 1
    return matched, unexpected


@scenario("mqtt_broker_outage", "MQTT broker stopped 30 s and restarted; local + P1 running",
          sources=("local", "p1"), budget_s=150.0)
def test_a_broker_that_comes_and_goes_costs_no_data(tmp_path, private_influxd, make_mosquitto,
                                                   accounting):
    server, broker = private_influxd, make_mosquitto(persistence=True)
    sim = Sim(tmp_path)
    watcher = Watcher(broker.port, client_id="home-assistant-test", persistent=True)
    config = write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "p1": {"enabled": True, "host": "127.0.0.1", "port": sim.p1_port},
        "influx": {"url": server.url, "database": DB, "timeout": 3.0},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "mqtt": {"url": broker.url, "interval": float(INTERVAL)},
    })
    logger = start_logger(tmp_path, config)
    try:
        wait_until(lambda: METER_TOPICS + "energy_import_t1_kwh" in watcher.latest(), 30,
                   what="the first meter states")
        time.sleep(4)
        broker.stop()
        time.sleep(OUTAGE_S)
        assert logger.proc.poll() is None, "the logger must survive the outage"
        broker.start()
        back = time.time()
        wait_until(lambda: any(m.topic == "jullix/test/status" and m.payload == "online"
                               for m in watcher.snapshot(back)), 40, what="the logger back")
        time.sleep(4)
        sim.control("POST", "faults", {"p1": {"paused": True}})
        time.sleep(1.5)
        assert logger.stop() == 0, logger.output()[-3000:]
        time.sleep(0.5)
        local_served = GROUND_TRUTH["local"].served(sim)
        p1_served = GROUND_TRUTH["p1"].served(sim)
        truth: dict[str, Any] = sim.control("GET", "p1")
    finally:
        logger.close()
        watcher.close()
        sim.close()
    for name, served in (("local", local_served), ("p1", p1_served)):
        result = account("mqtt_broker_outage", server, DB, served, GROUND_TRUTH[name])
        accounting.add(result)
        result.assert_exact()

    # MQTT came back: the logger itself published discovery and states again after the
    # restart (not the broker's retained copies, which a resubscribe brings back flagged).
    after = [m for m in watcher.snapshot(back) if not m.retain]
    configs = {m.topic for m in after if m.topic.startswith("homeassistant/device/")}
    assert configs == {"homeassistant/device/jullix_test_meter_1sag3101021605/config",
                       "homeassistant/device/jullix_test_logger/config"}, configs
    expected = offered(server)
    seen_topics = {m.topic for m in watcher.snapshot() if m.topic.startswith(METER_TOPICS)}
    assert seen_topics == set(expected), seen_topics ^ set(expected)  # every entity accounted
    assert {m.topic for m in after if m.topic.startswith(METER_TOPICS)} == set(expected)

    # The drop counter equals what was dropped.
    sent_at = {s["t"]: s["sent_at"] for s in truth["sent"]}
    announces = [m.at for m in watcher.snapshot()
                 if m.topic == "jullix/test/status" and m.payload == "online"]
    total_offered = total_delivered = 0
    for topic, sequence in expected.items():
        got, unexpected = delivered(watcher, topic, sequence, announces, sent_at)
        assert not unexpected, (topic, unexpected, sequence)
        total_offered += len(sequence)
        total_delivered += got
    counters = outbox_counters(tmp_path / "outbox.sqlite")
    dropped = total_offered - total_delivered
    accounting.add(f"mqtt offered={total_offered} delivered={total_delivered} dropped={dropped} "
                   f"logger: offered={counters.get('mqtt_offered')} "
                   f"dropped={counters.get('mqtt_dropped')} "
                   f"unconfirmed={counters.get('mqtt_unconfirmed', 0)} "
                   f"reconnects={counters.get('mqtt_reconnects')} sent={counters.get('mqtt_sent')}")
    assert counters.get("mqtt_reconnects", 0) == 1
    assert dropped > 0  # the outage did cost values: the scenario tested something
    assert counters.get("mqtt_offered", 0) == total_offered
    # Exact, but for a value on the wire when the broker went: the logger never heard its
    # acknowledgement (dropped, and counted unconfirmed) though the broker may have kept it.
    unsure = counters.get("mqtt_unconfirmed", 0)
    assert unsure <= 2, unsure
    assert counters.get("mqtt_dropped", 0) - unsure <= dropped <= counters.get("mqtt_dropped", 0)
    output = logger.output()
    assert output.count("MQTT: broker") == 1 and "MQTT: connected to" in output
    status = subprocess.run([sys.executable, "-m", "logger", "status", "-c", str(config)],
                            capture_output=True, text=True, timeout=60).stdout
    assert f"{counters.get('mqtt_dropped', 0)} values dropped" in status, status
    assert "1 reconnects" in status and "stopped" in status, status
