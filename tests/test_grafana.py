"""Grafana: every panel's query returns data of the expected shape, and /metrics matches status.

One real run loads a real influxd: `python -m logger run` against `python -m logger simulate`
with every local device type (solar, battery, charger, plug), the P1 stream and a cloud backfill
(`python -m logger backfill`) of a gap made on purpose (the local API down for 6 s), plus the
logger's own `_jullix_health` points and the `[http]` endpoint. Then every query of every
dashboard in `grafana/dashboards/` runs against it with Grafana's variables substituted, so a
schema change that breaks a panel fails here. A new dashboard is picked up by its file alone;
the data it needs is one more step in `recorded` (the run must cover every measurement
docs/schema.md documents, which `test_the_run_covers_every_documented_measurement` checks).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from harness import ROOT, Process, SimulatorProcess, wait_until, write_config

from logger.testbed.influxd import InfluxServer, free_port

DASHBOARDS = ROOT / "grafana" / "dashboards"
PROVISIONING = ROOT / "grafana" / "provisioning"
INSTALLATION = "grafana-test"
INTERVAL = "5s"  # what Grafana would put for $__interval on a short range
TOKEN = "grafana-test-cloud-token-8d1f"


# -- the dashboards, as Grafana reads them ------------------------------------------------------


def boards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels_of(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    for panel in board.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def panel_queries() -> list[tuple[str, str, str, str, str]]:
    """(file, panel type, panel title, refId, query) for every target of every panel."""
    out = []
    for name, board in boards().items():
        for panel in panels_of(board):
            for target in panel.get("targets", []):
                out.append((name, panel["type"], panel["title"], target["refId"],
                            target["query"]))
    return out


def substitute(query: str, start: int, end: int) -> str:
    """What Grafana sends for a one-installation view of [start, end]."""
    return (query.replace("$timeFilter", f"time >= {start}s AND time <= {end}s")
            .replace("$__interval", INTERVAL)
            .replace("$installation", re.escape(INSTALLATION)))


# -- the recorded run ---------------------------------------------------------------------------


@dataclass
class Recorded:
    influxd: InfluxServer
    db: str
    start: int
    end: int
    status_before: str
    metrics: str
    status_after: str
    healthz: tuple[int, str]
    logger_output: str


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except urllib.error.URLError as exc:  # not listening (yet)
        return 0, str(exc)


@pytest.fixture(scope="module")
def recorded(influxd: InfluxServer, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Recorded]:
    tmp = tmp_path_factory.mktemp("grafana")
    db = f"grafana_{uuid.uuid4().hex[:10]}"
    p1_port, http_port = free_port(), free_port()
    # Speed 1 from the real now: the local points carry the receive time and the cloud history
    # the simulator's time; "inside the gap" needs one clock (see tests/test_backfill.py).
    sim = SimulatorProcess(tmp, "--devices", "solar,battery,charger,plug", "--seed", "12",
                           "--p1-port", str(p1_port), "--cloud-token", TOKEN,
                           "--cloud-resolution", "1", "--cloud-history-days", "0")
    config = write_config(tmp / "config.toml", {
        "local": {"url": sim.url, "interval": 1.0, "timeout": 0.8},
        "p1": {"enabled": True, "host": "127.0.0.1", "port": p1_port, "idle_timeout": 15.0},
        "cloud": {"enabled": True, "url": f"{sim.url}/api/v1", "token": TOKEN},
        "backfill": {"enabled": False},  # the scheduled job waits a minute: the command runs
        "influx": {"url": influxd.url, "database": db, "timeout": 3.0},
        "outbox": {"path": str(tmp / "outbox.sqlite")},
        "health": {"interval": 2.0},
        "http": {"listen": f"127.0.0.1:{http_port}"},
    }, installation=INSTALLATION)
    logger = Process(["run", "-c", str(config)], tmp / "logger.log")
    base = f"http://127.0.0.1:{http_port}"
    try:
        start = int(time.time()) - 600  # a "last 15 minutes" view: M-Bus captures are older
        wait_until(lambda: get(base + "/healthz")[0] == 200, 30, what="the endpoint")
        time.sleep(6)
        sim.set_faults(down_seconds=6)  # the gap the backfill repairs (threshold: 3 s)
        time.sleep(10)
        backfill = cli("backfill", "-c", str(config))
        assert re.search(r"points written: [1-9]", backfill), backfill
        time.sleep(4)  # health points (every 2 s) that carry the backfill's outcome
        sim.control("POST", "faults", {"p1": {"paused": True}})  # P1 counters hold still
        time.sleep(1.5)
        status_before = cli("status", "-c", str(config))
        metrics = get(base + "/metrics")[1]
        healthz = get(base + "/healthz")
        time.sleep(1.5)  # one more health point after the scrape, for the panels' differences
        # The service commits its counters every META_INTERVAL s (fewer SD-card writes), and
        # all of them when it stops: after the stop, `status` shows exactly its last counts.
        assert logger.stop() == 0, logger.output()
        status_after = cli("status", "-c", str(config))
        end = int(time.time())
        output = logger.output()
    finally:
        logger.close()
        sim.close()
    assert TOKEN not in output
    yield Recorded(influxd, db, start, end, status_before, metrics, status_after, healthz, output)
    influxd.drop_database(db)


# -- static checks: what Grafana is given ------------------------------------------------------


def test_provisioning_files_point_at_one_influxql_datasource_and_the_dashboards():
    sources = sorted((PROVISIONING / "datasources").glob("*.yaml"))
    assert [p.name for p in sources] == ["jullix-influxdb-1x.yaml", "jullix-influxdb-2x-3x.yaml"]
    for path in sources:
        [source] = yaml.safe_load(path.read_text())["datasources"]
        assert (source["type"], source["uid"]) == ("influxdb", "jullix-influxdb"), path
        assert "version" not in source["jsonData"], "InfluxQL, not Flux or SQL"
        assert source["jsonData"]["dbName"] == "jullix"
    v2 = yaml.safe_load(sources[1].read_text())["datasources"][0]
    assert v2["jsonData"]["httpHeaderName1"] == "Authorization"
    assert v2["secureJsonData"]["httpHeaderValue1"].startswith("Token ${")  # from the env
    [provider] = yaml.safe_load((PROVISIONING / "dashboards" / "jullix.yaml").read_text())[
        "providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_every_dashboard_has_its_variables_and_raw_influxql_on_the_chosen_datasource():
    found = boards()
    assert {"now.json", "logger-health.json"} <= set(found)
    assert len({b["uid"] for b in found.values()}) == len(found)
    for name, board in found.items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", name
        assert variables["datasource"]["query"] == "influxdb", name
        assert "installation" in variables["installation"]["query"], name
        for panel in panels_of(board):
            for target in panel.get("targets", []):
                where = (name, panel["title"], target["refId"])
                assert target["datasource"]["uid"] == "${datasource}", where
                assert target["rawQuery"] is True, where
                query = target["query"]
                assert "_jullix_migrations" in query or "/^$installation$/" in query, where
                assert "$timeFilter" in query or "_jullix_migrations" in query, where


# -- the recorded run ---------------------------------------------------------------------------


def documented_measurements() -> set[str]:
    headings = re.findall(r"^## (.+)$", (ROOT / "docs" / "schema.md").read_text(), re.M)
    return {name for heading in headings for name in re.findall(r"`([a-z_0-9]+)`", heading)}


@pytest.mark.integration
def test_the_run_covers_every_documented_measurement(recorded):
    answer = recorded.influxd.query("SHOW MEASUREMENTS", db=recorded.db)
    stored = {row[0] for s in answer["results"][0]["series"] for row in s["values"]}
    assert stored == documented_measurements()
    sources = recorded.influxd.query('SHOW TAG VALUES FROM "power_flow" WITH KEY = "source"',
                                     db=recorded.db)
    assert {row[1] for row in sources["results"][0]["series"][0]["values"]} == {"local", "cloud"}


@pytest.mark.integration
def test_the_installation_variable_lists_the_installation(recorded):
    for name, board in boards().items():
        [variable] = [v for v in board["templating"]["list"] if v["name"] == "installation"]
        answer = recorded.influxd.query(variable["query"], db=recorded.db)
        values = {row[1] for s in answer["results"][0]["series"] for row in s["values"]}
        assert INSTALLATION in values, name


@pytest.mark.integration
@pytest.mark.parametrize(("board", "kind", "title", "ref", "query"), panel_queries(),
                         ids=[f"{b}:{t}:{r}" for b, _, t, r, _ in panel_queries()])
def test_every_panel_query_returns_data_of_the_expected_shape(recorded, board, kind, title, ref,
                                                              query):
    """Each series has rows, and each column of it at least one value: a renamed or removed
    field gives a column of nulls (or no series at all) and fails here."""
    answer = recorded.influxd.query(substitute(query, recorded.start, recorded.end),
                                    db=recorded.db)
    [result] = answer["results"]
    series = result.get("series", [])
    assert series, f"{board} / {title} / {ref}: no data"
    for s in series:
        columns, rows = s["columns"], s["values"]
        minimum = 2 if kind == "timeseries" else 1  # a line needs two points
        assert len(rows) >= minimum, (title, ref, s.get("tags"), rows)
        if kind == "stat":
            assert len(rows) == 1, (title, ref, "a stat shows one value per series")
        for i, column in enumerate(columns):
            assert any(row[i] is not None for row in rows), (title, ref, s.get("tags"), column)


# -- /metrics against status, from the same run -------------------------------------------------


def status_counters(text: str) -> dict[str, int]:
    block = text.split("\ncounters\n", 1)[1]
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^  (\S+)\s+(\d+)$", block, re.M)}


def metric_values(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


def metric_for_counter(name: str) -> str:
    """The /metrics sample that must equal a counter `status` lists (docs/grafana.md)."""
    if name.startswith("accepted."):
        source, measurement = name.removeprefix("accepted.").split(".", 1)
        return f'jullix_points_accepted_total{{measurement="{measurement}",source="{source}"}}'
    if name.startswith("write_errors."):
        return f'jullix_write_errors_total{{class="{name.removeprefix("write_errors.")}"}}'
    if name == "p1_telegrams":
        return 'jullix_p1_telegrams_total{kind="valid"}'
    if name == "p1_reader_restarts":
        return "jullix_p1_reader_restarts_total"
    if name.startswith("p1_"):
        return f'jullix_p1_telegrams_total{{kind="{name.removeprefix("p1_")}"}}'
    if re.fullmatch(r"local_[a-z]+_failed", name):
        return f'jullix_local_poll_errors_total{{endpoint="{name[6:-7]}"}}'
    if name.startswith("cloud_") or name == "backfill_failed":
        return f'jullix_cloud_errors_total{{kind="{name}"}}'
    return f"jullix_{name}_total"


@pytest.mark.integration
def test_metrics_during_the_run_show_what_status_shows(recorded):
    before = status_counters(recorded.status_before)
    after = status_counters(recorded.status_after)
    metrics = metric_values(recorded.metrics)
    # Counters only grow: the scrape lies between `status` before it (which may be up to
    # META_INTERVAL s behind) and `status` after the logger stopped, and equals the final count
    # where nothing moved after the scrape (P1 paused, the outage and the backfill over).
    assert after.keys() >= before.keys()
    for name, value in after.items():
        sample = metric_for_counter(name)
        assert sample in metrics, (name, sample)
        assert before.get(name, 0) <= metrics[sample] <= value, (name, before.get(name), value)
    for name in ("p1_telegrams", "local_meter_failed", "backfill_points",
                 "backfill_gaps_repaired", "accepted.backfill.power_flow", "accepted.p1.p1"):
        assert metrics[metric_for_counter(name)] == after[name], name
    for name in ("accepted.local.meter", "accepted.p1.p1", "accepted.backfill.power_flow",
                 "accepted.health._jullix_health", "points_written", "p1_telegrams",
                 "local_meter_failed", "backfill_gaps_repaired", "backfill_points"):
        assert after.get(name, 0) > 0, (name, recorded.status_after)
    for family in ("jullix_outbox_depth_points", "jullix_outbox_oldest_age_seconds",
                   "jullix_dead_letter_points", "jullix_p1_link_up",
                   "jullix_p1_seconds_since_last_telegram", "jullix_backfill_gaps_open",
                   "jullix_healthy", "process_resident_memory_bytes"):
        assert family in metrics, family
    dead = int(re.search(r"dead letter (\d+) points", recorded.status_after).group(1))
    assert metrics["jullix_dead_letter_points"] == dead
    assert metrics["jullix_p1_link_up"] == 1  # at the scrape; after the stop `status` says:
    assert "link stopped" in recorded.status_after
    assert metrics["jullix_backfill_gaps_open"] == 0 and metrics["jullix_healthy"] == 1
    assert 1 <= metrics["jullix_p1_seconds_since_last_telegram"] < 15  # paused 1.5 s before
    assert recorded.healthz == (200, "ok\n")
