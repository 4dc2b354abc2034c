"""Home Assistant sees it: the logger as a process, a real mosquitto, the simulator.

A subscriber stands where Home Assistant would (tests/mqtt_watch.py). Every discovery payload is
judged by tests/ha_rules.py; every state value against what the simulator served: the meter's
registers by replaying the house model and the P1 telegram printer to each telegram's second
(exactly what went over the wire, to the Wh), the box's devices by the model at the seconds of
the run. No InfluxDB here: MQTT works without one.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ha_rules import check_device_payload
from harness import Process, SimulatorProcess, wait_until, write_config
from mqtt_watch import Watcher, state_topics, unique_ids

from logger.testbed.influxd import free_port
from logger.testbed.simulator import SimulatorConfig
from logger.testbed.simulator.model import HouseModel
from logger.testbed.simulator.telegram import TelegramPrinter

pytestmark = pytest.mark.mqtt

START = "2026-06-15T13:00:00+02:00"
SEED = 41
DEVICES = ("solar", "battery", "charger", "plug")
METER = "jullix_test_meter_1sag3101021605"


class Sim(SimulatorProcess):
    def __init__(self, tmp_path: Path) -> None:
        self.p1_port = free_port()
        super().__init__(tmp_path, "--p1-port", str(self.p1_port), "--seed", str(SEED),
                         "--start", START, "--devices", ",".join(DEVICES))

    def now(self) -> int:
        """The simulated second now (the simulator's clock started at START)."""
        return int(datetime.fromisoformat(self.control("GET", "state")["utc"]).timestamp())

    def meter_truth(self) -> dict[str, set[str]]:
        """Entity key -> every text the meter's telegrams carried (as the logger must send
        it: registers to the Wh, volumes to the litre), replayed from the model."""
        sent = sorted(s["t"] for s in self.control("GET", "p1")["sent"]
                      if s["clients"] > 0 and s["kind"] == "valid")
        features = SimulatorConfig(devices=frozenset(DEVICES)).features()
        model = HouseModel(SEED, features, datetime.fromisoformat(START))
        printer = TelegramPrinter(features, SEED)
        printer.observe(model.snapshot())
        truth: dict[str, set[str]] = {}
        for t in sent:
            while model.t < t:
                printer.observe(model.advance_to(model.t + 1))
            s = model.snapshot()
            wh = [j // 3600 for j in (*s.import_j, *s.export_j)]
            texts = {
                "energy_import_t1_kwh": wh[0], "energy_import_t2_kwh": wh[1],
                "energy_export_t1_kwh": wh[2], "energy_export_t2_kwh": wh[3],
                "energy_import_kwh": wh[0] + wh[1], "energy_export_kwh": wh[2] + wh[3],
            }
            for key, value in texts.items():
                truth.setdefault(key, set()).add(f"{value / 1000:.3f}")
            truth.setdefault("power_import_w", set()).add(str(s.import_w))
            truth.setdefault("tariff", set()).add(f"T{s.tariff}")
            assert printer.gas is not None
            truth.setdefault("gas_m3", set()).add(f"{printer.gas.millilitres // 1000 / 1000:.3f}")
        return truth


def device_truth(since: int, until: int) -> dict[str, set[str]]:
    """What the local API could have served for the inverter and battery in [since, until]."""
    features = SimulatorConfig(devices=frozenset(DEVICES)).features()
    model = HouseModel(SEED, features, datetime.fromisoformat(START))
    truth: dict[str, set[str]] = {"pv": set(), "soc": set()}
    model.advance_to(since - 1)
    while model.t < until:
        s = model.advance_to(model.t + 1)
        truth["pv"].add(f"{s.pv_energy_j[0] // 360_000 / 10:.1f}")
        truth["soc"].add(str(round(s.soc_pct)))
    return truth


def logger_config(tmp_path: Path, sim: Sim, broker_url: str, **mqtt: Any) -> Path:
    return write_config(tmp_path / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 2.0},
        "p1": {"enabled": True, "host": "127.0.0.1", "port": sim.p1_port},
        "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "mqtt": {"url": broker_url, "interval": 2.0, **mqtt},
    })


def status_of(watcher: Watcher) -> str | None:
    message = watcher.latest().get("jullix/test/status")
    return None if message is None else message.payload


def all_devices_announced(watcher: Watcher, since: float = 0.0) -> dict[str, dict]:
    configs = watcher.configs(since)
    return configs if len(configs) == 1 + 1 + len(DEVICES) else {}


def test_home_assistant_sees_every_device_with_what_the_box_served(tmp_path, mosquitto):
    sim = Sim(tmp_path)
    watcher = Watcher(mosquitto.port)
    config = logger_config(tmp_path, sim, mosquitto.url)
    logger = Process(["run", "-c", str(config)], tmp_path / "logger.log")
    try:
        began = sim.now()
        configs = wait_until(lambda: all_devices_announced(watcher), 30, what="every device")
        wait_until(lambda: all(t in watcher.latest() for t in (
            "jullix/test/meter_1sag3101021605/energy_import_t1_kwh",
            "jullix/test/meter_1sag3101021605/gas_m3", "jullix/test/logger/status")), 30,
            what="meter and logger states")
        time.sleep(5)  # a few more values of every entity
        assert status_of(watcher) == "online"
        for topic, payload in configs.items():
            assert check_device_payload(topic, payload) == [], payload
        ids = unique_ids(watcher.configs())
        assert len(ids) == len(set(ids))
        # Values equal to what the simulator served.
        topics = state_topics(watcher.configs())
        meter = sim.meter_truth()
        for key, allowed in meter.items():
            seen = [m.payload for m in watcher.snapshot() if m.topic == topics[f"{METER}_{key}"]]
            assert seen and set(seen) <= allowed, (key, seen[:5], sorted(allowed)[:5])
        boxes = device_truth(began - 2, sim.now() + 1)
        solar = next(u for u in topics if u.startswith("jullix_test_solar_")
                     and u.endswith("_energy_kwh"))
        battery = next(u for u in topics if u.startswith("jullix_test_battery_")
                       and u.endswith("_soc_pct"))
        for uid, allowed in ((solar, boxes["pv"]), (battery, boxes["soc"])):
            seen = [m.payload for m in watcher.snapshot() if m.topic == topics[uid]]
            assert seen and set(seen) <= allowed, (uid, seen, sorted(allowed)[:3])

        # Home Assistant restarts: its birth message brings every config back.
        birth = time.time()
        watcher.publish("homeassistant/status", "online")
        wait_until(lambda: all_devices_announced(watcher, birth), 15, what="configs after birth")
        assert wait_until(lambda: "jullix/test/meter_1sag3101021605/energy_import_t1_kwh"
                          in watcher.latest(birth), 15, what="states after birth")

        # A clean stop says offline (retained), so entities go unavailable at once.
        assert logger.stop() == 0, logger.output()[-3000:]
        assert status_of(watcher) == "offline"
        late = Watcher(mosquitto.port)  # a newcomer gets the retained configs and status
        wait_until(lambda: status_of(late) == "offline" and all_devices_announced(late), 10,
                   what="retained offline and configs")
        late.close()
        logger.close()

        # Started again: the same unique ids (no twins in Home Assistant), online again.
        restart = time.time()
        logger = Process(["run", "-c", str(config)], tmp_path / "logger2.log")
        again = wait_until(lambda: all_devices_announced(watcher, restart), 30,
                           what="configs after a restart")
        wait_until(lambda: status_of(watcher) == "online", 10, what="online again")
        assert unique_ids(again) == ids
        # kill -9: the broker publishes the last will.
        logger.kill()
        wait_until(lambda: status_of(watcher) == "offline", 15, what="the last will")
    finally:
        logger.close()
        watcher.close()
        sim.close()


def test_check_tests_the_broker_and_never_shows_the_password(tmp_path, make_mosquitto):
    broker = make_mosquitto(users={"jullix": "right-pw-123"})
    sim = Sim(tmp_path)
    creds = tmp_path / "creds"
    creds.mkdir()
    try:
        config = logger_config(tmp_path, sim, broker.url, username="jullix")
        outputs = {}
        for password, expected in (("right-pw-123", 0), ("wrong-pw-456", 1)):
            (creds / "mqtt_password").write_text(password)
            check = Process(["check", "-c", str(config)], tmp_path / f"check-{password}.log",
                            env={"CREDENTIALS_DIRECTORY": str(creds)})
            assert check.wait(60) == expected, check.output()
            outputs[password] = check.output()
            check.close()
        assert "ok   mqtt" in outputs["right-pw-123"]
        assert "received it back" in outputs["right-pw-123"]
        assert "FAIL mqtt" in outputs["wrong-pw-456"]
        assert "refused" in outputs["wrong-pw-456"]
        for password, text in outputs.items():
            assert password not in text
    finally:
        sim.close()



def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, its own CA (openssl, as a user would make one)."""
    cert, key = tmp_path / "broker.pem", tmp_path / "broker.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True,
                   timeout=60)
    return cert, key


def test_mqtts_checks_the_brokers_certificate(tmp_path, make_mosquitto):
    cert, key = self_signed(tmp_path)
    broker = make_mosquitto(tls=(cert, key))
    assert broker.url.startswith("mqtts://")
    results = {}
    for name, extra in (("with_ca", {"ca_file": str(cert)}), ("system_cas", {})):
        config = write_config(tmp_path / f"{name}.toml", {
            "local": {"enabled": False}, "outbox": {"path": str(tmp_path / "outbox.sqlite")},
            "mqtt": {"url": broker.url, **extra}})
        check = Process(["check", "-c", str(config)], tmp_path / f"{name}.log")
        results[name] = (check.wait(60), check.output())
        check.close()
    assert results["with_ca"][0] == 0, results["with_ca"][1]
    assert "ok   mqtt    mqtts://127.0.0.1" in results["with_ca"][1]
    assert results["system_cas"][0] == 1  # a self-signed certificate is not trusted by default
    assert "certificate verify failed" in results["system_cas"][1].lower()


def test_check_says_when_the_brokers_acl_forbids_reading_back(tmp_path, make_mosquitto):
    broker = make_mosquitto(users={"writer": "w-pw"},
                            acl="user writer\ntopic write jullix/#\n")
    config = write_config(tmp_path / "config.toml", {
        "local": {"enabled": False}, "outbox": {"path": str(tmp_path / "outbox.sqlite")},
        "mqtt": {"url": broker.url, "username": "writer", "password": "w-pw"}})
    check = Process(["check", "-c", str(config)], tmp_path / "check.log")
    assert check.wait(60) == 1, check.output()
    output = check.output()
    check.close()
    assert "FAIL mqtt" in output and "ACL" in output, output
    assert "w-pw" not in output
