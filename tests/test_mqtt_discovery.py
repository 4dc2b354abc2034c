"""MQTT for Home Assistant without a broker: discovery payloads against Home Assistant's rules
(tests/ha_rules.py, an independent table), ids, state texts, the queue's exact accounting, the
`[mqtt]` settings, and that MQTT off imports no MQTT client."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ha_rules import check_device_payload

from logger.config import ConfigError, Settings, load_settings
from logger.core.point import Point
from logger.outputs.mqtt.discovery import (
    Naming,
    box_device,
    device_config,
    logger_device,
    meter_device,
    slug,
    state_text,
)
from logger.outputs.mqtt.entities import KINDS, spec
from logger.outputs.mqtt.mapping import meter_measurements, values
from logger.outputs.mqtt.queue import StateQueue

ROOT = Path(__file__).resolve().parent.parent
DEVICES = [logger_device("home"), meter_device("1SAG3101021605"),
           box_device("solar", "SA1ES1234", "A01"), box_device("solar", "SA1ES1234", "T01"),
           box_device("battery", "SA1ES1234", "A01"), box_device("charger", "JXEVC1"),
           box_device("plug", "JXPLG1")]


def every_payload(installation: str = "home") -> dict[str, dict]:
    naming = Naming(installation)
    return {naming.discovery_topic(d): device_config(naming, d, KINDS[d.kind], "1.2.3")
            for d in DEVICES}


def test_every_discovery_payload_follows_home_assistants_rules():
    payloads = every_payload()
    assert len(payloads) == len(DEVICES)
    for topic, payload in payloads.items():
        assert check_device_payload(topic, json.loads(json.dumps(payload))) == []


def test_the_rules_table_catches_what_home_assistant_refuses():  # the oracle, checked
    topic, payload = next(iter(every_payload().items()))
    broken = json.loads(json.dumps(payload))
    broken["cmps"]["outbox_depth"]["state_class"] = "total_increasing"
    broken["cmps"]["outbox_depth"]["unit_of_measurement"] = None
    meter_topic, meter = next((t, p) for t, p in every_payload().items() if "meter" in t)
    wrong = json.loads(json.dumps(meter))
    wrong["cmps"]["energy_import_t1_kwh"]["state_class"] = "measurement"
    wrong["cmps"]["power_import_w"]["unit_of_measurement"] = "kWh"
    wrong["cmps"]["gas_m3"]["device_class"] = "volume_storage"
    del wrong["availability_topic"]
    problems = check_device_payload(meter_topic, wrong)
    assert any("state_class measurement not allowed for energy" in p for p in problems)
    assert any("unit 'kWh' not allowed for device_class power" in p for p in problems)
    assert any("volume_storage" in p for p in problems)
    assert any("no availability topic" in p for p in problems)
    assert check_device_payload(topic, broken)


def test_the_energy_dashboard_entities_are_kwh_and_total_increasing():
    meter = {s.key: s for s in KINDS["meter"]}
    for key in ("energy_import_t1_kwh", "energy_import_t2_kwh", "energy_export_t1_kwh",
                "energy_export_t2_kwh", "energy_import_kwh", "energy_export_kwh"):
        entity = meter[key]
        assert (entity.device_class, entity.state_class, entity.unit) == \
            ("energy", "total_increasing", "kWh")
    assert (meter["gas_m3"].device_class, meter["gas_m3"].unit) == ("gas", "m³")
    assert (meter["water_m3"].device_class, meter["water_m3"].state_class) == \
        ("water", "total_increasing")
    costs = [s for s in KINDS["logger"] if s.device_class == "monetary"]
    assert costs and all(s.state_class == "total" and s.unit == "EUR" for s in costs)


def test_unique_ids_are_unique_stable_and_tied_to_installation_device_and_field():
    first, again = every_payload(), every_payload()
    ids = [c["unique_id"] for p in first.values() for c in p["cmps"].values()]
    assert len(ids) == len(set(ids))
    assert ids == [c["unique_id"] for p in again.values() for c in p["cmps"].values()]
    other = [c["unique_id"] for p in every_payload("cottage").values()
             for c in p["cmps"].values()]
    assert not set(ids) & set(other)
    assert "jullix_home_meter_1sag3101021605_energy_import_t1_kwh" in ids
    # the two inverters behind one id (A01, T01) are two devices
    assert len({p["dev"]["identifiers"][0] for p in first.values()}) == len(DEVICES)


def test_devices_are_linked_to_the_logger_and_every_entity_has_availability():
    payloads = every_payload()
    logger_id = Naming("home").object_id(logger_device("home"))
    for payload in payloads.values():
        assert payload["availability_topic"] == "jullix/home/status"
        assert payload["o"] == {"name": "jullix-logger", "sw_version": "1.2.3"}
        if payload["dev"]["identifiers"] != [logger_id]:
            assert payload["dev"]["via_device"] == logger_id


def test_slugs_are_safe_stable_and_never_merge_two_names():
    assert slug("home") == "home"
    assert slug("Home") == "home"
    assert slug("a b") == slug("a b") != slug("a_b")
    assert set(slug("Zomerhuis (Knokke)!")) <= set("abcdefghijklmnopqrstuvwxyz0123456789_-")


def test_state_texts_have_the_registers_resolution():
    meter = dict((s.key, s) for s in KINDS["meter"])
    assert state_text(meter["energy_import_t1_kwh"], 14808.846) == "14808.846"
    assert state_text(meter["energy_import_t1_kwh"], 14808.845703125) == "14808.846"  # float32
    assert state_text(meter["power_import_w"], 338.0) == "338"
    assert state_text(meter["grid_power_w"], -0.0) == "0"
    assert state_text(meter["tariff"], 2.0) == "T2"
    assert state_text(meter["tariff"], 0.0) is None  # not a DSMR tariff: not sent
    assert state_text(spec("charger", "busy"), 1.0) == "ON"  # type: ignore[arg-type]
    assert state_text(meter["voltage_l1_v"], float("nan")) is None


def test_the_meter_takes_one_source_only():
    p1 = Point.make("p1", {"installation": "h", "meter_id": "M"},
                    {"energy_import_t1_kwh": 1.5, "energy_import_t2_kwh": 2.25,
                     "power_import_w": 300.0, "power_export_w": 0.0}, 1_700_000_000)
    local = Point.make("meter", {"installation": "h", "meter_id": "M"},
                       {"energy_import_t1_kwh": 1.5}, 1_700_000_000)
    assert p1 is not None and local is not None
    with_p1 = meter_measurements(p1_enabled=True)
    got = {v.key: v.value for v in values(p1, with_p1)}
    assert got["energy_import_kwh"] == 3.75 and got["grid_power_w"] == 300.0
    assert list(values(local, with_p1)) == []
    assert [v.key for v in values(local, meter_measurements(p1_enabled=False))] == \
        ["energy_import_t1_kwh"]


# -- the queue: latest value per topic, exact accounting -------------------------------------


def invariant(q: StateQueue) -> None:
    c = q.counts
    assert c.offered == c.delivered + c.dropped + len(q.waiting), c


def test_the_queue_keeps_one_value_per_entity_and_counts_every_drop():
    q = StateQueue(interval=10)
    assert q.offer("a", "1", at=0)
    assert not q.offer("a", "1", at=20)  # unchanged: not offered
    assert not q.offer("a", "2", at=5)  # too soon after the last one (source time)
    assert q.offer("a", "2", at=10)  # replaces the waiting "1": dropped
    assert q.offer("b", "7", at=10)
    assert q.counts.dropped == 1 and list(q.waiting) == ["a", "b"]
    invariant(q)
    topic, payload = q.take()  # type: ignore[misc]
    q.failed(topic, payload)  # the broker went away during the publish: waits again
    assert q.waiting == {"a": "2", "b": "7"}
    item = q.take()
    assert item is not None
    assert q.offer("a", "3", at=20)
    q.failed(*item)  # a newer value arrived meanwhile: the failed one is dropped
    assert q.counts.dropped == 2
    invariant(q)
    q.republished("b", "7")  # an announce after a reconnect delivered the waiting "7"
    q.republished("a", "old")  # not what waits: nothing changes
    invariant(q)
    assert q.abandon() == 1 and q.counts.dropped == 3
    invariant(q)
    assert q.current == {"a": "3", "b": "7"}


def test_the_queue_is_bounded_in_topics():
    q = StateQueue(interval=1, max_topics=3)
    for n in range(5):
        q.offer(f"t{n}", "1", at=0)
    assert len(q.current) == 3 and q.counts.refused_topics == 2
    invariant(q)


# -- settings ------------------------------------------------------------------------------


def test_mqtt_is_off_by_default_and_on_with_a_url():
    assert not Settings().mqtt.active
    on = Settings(mqtt={"url": "mqtt://broker.lan"})
    assert on.mqtt.active and (on.mqtt.host, on.mqtt.port, on.mqtt.tls) == ("broker.lan", 1883,
                                                                            False)
    tls = Settings(mqtt={"url": "mqtts://broker.lan", "enabled": False})
    assert not tls.mqtt.active and tls.mqtt.port == 8883 and tls.mqtt.tls


@pytest.mark.parametrize("text, message", [
    ('url = "http://broker"', "must start with mqtt:// or mqtts://"),
    ('url = "mqtt://broker/topic"', "host and port only"),
    ('enabled = true', "needs a broker url"),
    ('url = "mqtt://b"\ntopic_prefix = "a/#"', "without '+', '#'"),
    ('url = "mqtts://b"\ncert_file = "/c.pem"', "cert_file and key_file go together"),
])
def test_a_wrong_mqtt_setting_is_one_clear_line(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(f"[mqtt]\n{text}\n")
    with pytest.raises(ConfigError, match="mqtt") as err:
        load_settings(path)
    assert message in str(err.value)


def test_the_mqtt_password_never_shows(tmp_path, monkeypatch):
    assert Settings(mqtt={"url": "mqtt://u%40x:p%3Aw@h"}).mqtt.credentials() == ("u@x", "p:w")
    assert Settings(mqtt={"url": "mqtt://u:p@h:1884"}).mqtt.url == "mqtt://h:1884"
    (tmp_path / "mqtt_password").write_text("s3cret-pw\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    settings = Settings(mqtt={"url": "mqtt://user:url-pw@10.0.0.2", "username": "ha"})
    assert settings.mqtt.credentials() == ("ha", "s3cret-pw")  # the credential wins

    shown = repr(settings) + json.dumps(settings.model_dump(mode="json")) + \
        settings.mqtt.display_url + (settings.mqtt.plain_text_warning() or "")
    assert "s3cret-pw" not in shown and "url-pw" not in shown
    assert "use mqtts://" in (settings.mqtt.plain_text_warning() or "")


def test_mqtt_off_imports_no_mqtt_client(tmp_path):
    code = ("import sys\nfrom logger.app.service import Service\nfrom logger.config import "
            "Settings\nfrom logger.cli import status, check\n"
            f"Service(Settings(outbox={{'path': {str(tmp_path / 'o.sqlite')!r}}}))\n"
            "print(sorted(m for m in ('aiomqtt', 'paho') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- the tap: on a poll's path, it can neither block nor raise --------------------------------


def test_a_failing_mapping_never_reaches_the_poll_and_is_counted(tmp_path):
    from types import SimpleNamespace

    from logger.app.mqtt_job import TAP_FAILED, MqttJob
    from logger.outbox import Outbox

    settings = Settings(mqtt={"url": "mqtt://127.0.0.1:1"}, p1={"enabled": True},
                        outbox={"path": str(tmp_path / "o.sqlite")})
    outbox = Outbox(tmp_path / "o.sqlite")
    p1 = SimpleNamespace(tap=None)
    job = MqttJob(settings, SimpleNamespace(outbox=outbox, local=None, p1=p1))
    assert p1.tap == job.tap  # tapped in, after the outbox (logger/app/p1_job.py)
    point = Point.make("p1", {"installation": "home", "meter_id": "M"},
                       {"energy_import_t1_kwh": 1.0}, 1_700_000_000)
    job.tap([point])  # no broker at all: queued in memory, returns at once
    assert job.publisher.queue.counts.offered == 1

    def broken(value):
        raise RuntimeError("a bug in the mapping")

    job.publisher.offer = broken  # type: ignore[method-assign]
    job.tap([point])
    assert job.problems.counts[TAP_FAILED] == 1
    outbox.close()
