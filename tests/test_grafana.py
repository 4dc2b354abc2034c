"""Grafana: every panel's query returns data of the expected shape, and /metrics matches status.

One real run loads a real influxd: `python -m logger run` against `python -m logger simulate`
with every local device type (solar, battery, charger, plug), the P1 stream and a cloud backfill
(`python -m logger backfill`) of a gap made on purpose (the local API down for 6 s), plus the
logger's own `_jullix_health` points, the `[http]` endpoint and `[mqtt]` to a private mosquitto.
Before it, the energy ledger is
made real: two simulated Belgian days on either side of a month boundary (P1 telegrams printed by
the simulator's meter and decoded by the product's P1 decoder, inverter and battery polls parsed
by the product's local parser: `tests/ledger_data.py`) go into the same influxd, and `python -m
logger ledger --since .. --until ..` builds their quarter-hours, hours, days, two months and
capacity-tariff records. Then every query of every dashboard in `grafana/dashboards/` runs
against it with Grafana's variables substituted (the panel's own relative time, `$__interval`
for that range, `$ledger_rp`), so a schema change that breaks a panel fails here. A new
dashboard is picked up by its file alone; the data it needs is one more step in `recorded` (the
run must cover every measurement docs/schema.md documents, which
`test_the_run_covers_every_documented_measurement` checks). The cost boards' data: day-ahead
prices fetched by `python -m logger prices fetch` from the simulator's fake Transparency Platform
(the history's days to tomorrow) and `python -m logger cost` over the history.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import fluvius_export
import pytest
import yaml
from harness import ROOT, Process, SimulatorProcess, http_get, wait_until, write_config
from ledger_data import simulate

from logger.outbox import Outbox
from logger.testbed.influxd import InfluxServer, free_port
from logger.testbed.mosquitto import MosquittoServer
from logger.testbed.simulator.model import InstallationFeatures

DASHBOARDS = ROOT / "grafana" / "dashboards"
PROVISIONING = ROOT / "grafana" / "provisioning"
INSTALLATION = "grafana-test"
TOKEN = "grafana-test-cloud-token-8d1f"
BRUSSELS = ZoneInfo("Europe/Brussels")  # the test's own clock arithmetic, not the product's
HISTORY_STEP = 60  # seconds between the simulated history's readings (the ledger's gap: 60 s)


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


def panel_named(board: str, title: str) -> dict[str, Any]:
    [panel] = [p for p in panels_of(boards()[board]) if p["title"] == title]
    return panel


def local_midnight(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=BRUSSELS).timestamp())


def months_back(t: int, months: int) -> int:
    local = datetime.fromtimestamp(t, BRUSSELS)
    index = local.year * 12 + local.month - 1 - months
    day = min(local.day, 28)
    return int(local.replace(year=index // 12, month=index % 12 + 1, day=day).timestamp())


def relative(spec: str, end: int) -> int:
    """The start of Grafana's relative range `spec` ("now-90d", "13M", "now/d") ending at end."""
    if spec == "now/d":
        return local_midnight(datetime.fromtimestamp(end, BRUSSELS).date())
    match = re.fullmatch(r"(?:now-)?(\d+)([smhdwMy])", spec)
    assert match, f"a relative time this test does not know: {spec}"
    n, unit = int(match.group(1)), match.group(2)
    if unit in "My":
        return months_back(end, n * (12 if unit == "y" else 1))
    return end - n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[unit]


def window(board: dict[str, Any], panel: dict[str, Any], run: tuple[int, int]
           ) -> tuple[int, int]:
    """The range Grafana queries a panel over: the panel's own relative time (`timeFrom`), else
    the board's default range when it is longer than a day (the ledger boards), else the run
    (the live boards seen as "the last minutes")."""
    end = run[1]
    if panel.get("timeFrom"):
        return relative(panel["timeFrom"], end), end
    start = relative(board["time"]["from"], end)
    return (start, end) if end - start > 86400 else run


def interval(start: int, end: int) -> str:
    """Grafana's $__interval: the range over about 1000 points, at least 5 s."""
    return f"{max(5, (end - start) // 1000)}s"


def substitute(query: str, board: dict[str, Any], start: int, end: int) -> str:
    """What Grafana sends for a one-installation view of [start, end]: the custom variables
    (`$ledger_rp`) take their current value, as a user who never changes them sees."""
    for variable in board["templating"]["list"]:
        if variable["type"] == "custom":
            value = variable["current"]["value"]
            query = query.replace("${" + variable["name"] + "}", value)
            query = query.replace("$" + variable["name"], value)
    return (query.replace("$timeFilter", f"time >= {start}s AND time <= {end}s")
            .replace("$__interval", interval(start, end))
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
    scraped: tuple[float, float]  # the /metrics request lies between these two instants
    ledger_days: tuple[date, date]
    ledger_output: str
    counters_before: dict[str, int]  # what `status` read, taken from the outbox with it
    counters_after: dict[str, int]


def history_days(now: float) -> tuple[date, date]:
    """The last day of a month and the first of the next, both complete: the 1st of the month
    yesterday lies in, and the day before it (between 2 and 32 days ago)."""
    yesterday = datetime.fromtimestamp(now, BRUSSELS).date() - timedelta(days=1)
    first = yesterday.replace(day=1)
    return first - timedelta(days=1), first


def load_history(influxd: InfluxServer, db: str, days: tuple[date, date], tmp: Path
                 ) -> list[Path]:
    """The simulated raw history of `days` (and 5 minutes on either side, so every boundary has
    readings around it), written as the logger writes it; returns the Mijn Fluvius export of
    the same days (electricity, gas) that `import-fluvius` then loads."""
    first, end_t = local_midnight(days[0]), local_midnight(days[1] + timedelta(days=1))
    start = datetime.fromtimestamp(first - 300, BRUSSELS)
    end = datetime.fromtimestamp(end_t + 300, BRUSSELS)
    history = simulate(start, end, step=HISTORY_STEP, seed=12, installation=INSTALLATION)
    lines = history.lines
    influxd.create_database(db)
    for i in range(0, len(lines), 5000):
        influxd.write(db, "\n".join(lines[i:i + 5000]))
    meter = InstallationFeatures(charger=True).meter_id  # ledger_data.simulate's meter
    return [fluvius_export.write(tmp / "kwartiertotalen.csv", fluvius_export.electricity_lines(
                history, range(first, end_t, 900), meter)),
            fluvius_export.write(tmp / "uurtotalen.csv", fluvius_export.gas_lines(
                history, range(first, end_t, 3600), "7FLO0000000012"))]


# The service's own price and cost jobs stay off here ([prices] enabled = false, the ledger job
# off): the commands build what the boards read.
PRICES_AND_TARIFF = """[prices]
url = "{url}"
token = "sim-entsoe-token"
[[tariff]]
valid_from = 2020-01-01
capacity_eur_kw_year = 49.40
data_management_eur_year = 17.85
levies_eur_kwh = 0.064331
offtake = {{kind = "dynamic", factor = 1.039, adder_eur_kwh = 0.008702}}
injection = {{kind = "dynamic", factor = 1.0, fee_eur_kwh = 0.013135}}
grid = {{distribution_eur_kwh = 0.050503}}
"""


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "logger", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout




def health_intervals_with(influxd: InfluxServer, db: str, field: str, start: int) -> int:
    """How many of the panels' intervals since `start` hold a `_jullix_health` point with
    `field` (the interval as Grafana would choose it for that range)."""
    every = interval(start, int(time.time()))
    answer = influxd.query(f'SELECT count("{field}") FROM "_jullix_health" WHERE time >= '
                           f"{start}s GROUP BY time({every}) fill(none)", db=db)
    series = answer["results"][0].get("series", [])
    return sum(1 for s in series for row in s["values"] if row[1])


@pytest.fixture(scope="module")
def recorded(influxd: InfluxServer, shared_mosquitto: MosquittoServer,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
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
        "mqtt": {"url": shared_mosquitto.url, "interval": 2.0},  # the health board's MQTT panel
        # The history is built by the command below. The service's own job would, 30 s in,
        # continue today from that history's last reading weeks ago: a day of estimated
        # quarters across the gap (right, but not this test's subject, and racing the scrape).
        "ledger": {"enabled": False},
    }, installation=INSTALLATION)
    config.write_text(config.read_text() + PRICES_AND_TARIFF.format(url=f"{sim.url}/entsoe/api"))
    days = history_days(time.time())
    exports = load_history(influxd, db, days, tmp)
    cli("import-fluvius", "-c", str(config), *map(str, exports))  # ledger_fluvius, compared
    ledger_output = cli("ledger", "-c", str(config), "--since", days[0].isoformat(),
                        "--until", days[1].isoformat())
    # Day-ahead prices from the simulator's Transparency Platform, from the history's first day
    # to tomorrow (the "Now" board's price now and next), and the cost ledger of the history.
    tomorrow = datetime.now(BRUSSELS).date() + timedelta(days=1)
    cli("prices", "-c", str(config), "fetch", "--since", days[0].isoformat(),
        "--until", tomorrow.isoformat())
    cost_output = cli("cost", "-c", str(config), "--since", days[0].isoformat(),
                      "--until", days[1].isoformat())
    assert "have no day-ahead price" not in cost_output, cost_output
    logger = Process(["run", "-c", str(config)], tmp / "logger.log")
    base = f"http://127.0.0.1:{http_port}"
    try:
        start = int(time.time()) - 600  # a "last 15 minutes" view: M-Bus captures are older
        wait_until(lambda: http_get(base + "/healthz")[0] == 200, 30, what="the endpoint")
        time.sleep(6)
        sim.set_faults(down_seconds=6)  # the gap the backfill repairs (threshold: 3 s)
        time.sleep(10)
        backfill = cli("backfill", "-c", str(config))
        assert re.search(r"points written: [1-9]", backfill), backfill
        # Health points (every 2 s) that carry the backfill's outcome, in two of the panels'
        # intervals at least, so the per-interval differences have something to show; waited
        # for rather than slept on, since a loaded machine may delay or skip a health run.
        wait_until(lambda: health_intervals_with(influxd, db, "points_accepted_backfill",
                                                 start) >= 2,
                   30, 0.5, "health points carrying the backfill")
        sim.control("POST", "faults", {"p1": {"paused": True}})  # P1 counters hold still
        time.sleep(1.5)
        status_before = cli("status", "-c", str(config))
        counters_before = outbox_counters(tmp / "outbox.sqlite")
        before_scrape = time.time()
        metrics = http_get(base + "/metrics")[1]
        scraped = (before_scrape, time.time())
        healthz = http_get(base + "/healthz")
        time.sleep(1.5)  # one more health point after the scrape, for the panels' differences
        # The service commits its counters every META_INTERVAL s (fewer SD-card writes), and
        # all of them when it stops: after the stop, `status` shows exactly its last counts.
        assert logger.stop() == 0, logger.output()
        status_after = cli("status", "-c", str(config))
        counters_after = outbox_counters(tmp / "outbox.sqlite")
        end = int(time.time())
        output = logger.output()
    finally:
        logger.close()
        sim.close()
    assert TOKEN not in output
    yield Recorded(influxd, db, start, end, status_before, metrics, status_after, healthz, output,
                   scraped, days, ledger_output, counters_before, counters_after)
    influxd.drop_database(db)


# -- static checks: what Grafana is given ------------------------------------------------------


def test_provisioning_files_point_at_one_influxql_datasource_and_the_dashboards():
    sources = sorted((PROVISIONING / "datasources").glob("*.yaml"))
    assert [p.name for p in sources] == ["jullix-influxdb-1x.yaml", "jullix-influxdb-2x.yaml",
                                         "jullix-influxdb-3x.yaml"]  # one per flavour family
    for path in sources:
        [source] = yaml.safe_load(path.read_text())["datasources"]
        assert (source["type"], source["uid"]) == ("influxdb", "jullix-influxdb"), path
        assert "version" not in source["jsonData"], "InfluxQL, not Flux or SQL"
        assert source["jsonData"]["dbName"] == "jullix"
    for path in sources[1:]:  # 2.x, Cloud and 3.x: a token, from Grafana's environment
        token = yaml.safe_load(path.read_text())["datasources"][0]
        assert token["jsonData"]["httpHeaderName1"] == "Authorization"
        assert token["secureJsonData"]["httpHeaderValue1"].startswith("Token ${")
    v3 = yaml.safe_load(sources[2].read_text())["datasources"][0]
    assert v3["url"].endswith(":8181")  # InfluxDB 3's port; InfluxQL over its v1 /query
    [provider] = yaml.safe_load((PROVISIONING / "dashboards" / "jullix.yaml").read_text())[
        "providers"]
    assert provider["type"] == "file" and provider["options"]["path"]


def test_panels_over_more_than_72_hours_say_what_influxdb_3_core_does_there():
    """Core refuses a query needing more than 432 Parquet files (about 72 h of a table): every
    panel whose range is longer says so, with the error it will show (issue 24)."""
    def hours(text: str) -> float:
        number, unit = re.fullmatch(r"(?:now-)?(\d+)([hdwMy])", text).groups()
        return int(number) * {"h": 1, "d": 24, "w": 168, "M": 744, "y": 8784}[unit]

    long = 0
    for name, board in boards().items():
        start = board["time"]["from"]
        for panel in panels_of(board):
            if not panel.get("targets"):
                continue
            span = panel.get("timeFrom") or start
            if span.startswith("now/") or hours(span) <= 72:
                continue
            long += 1
            assert "Query would scan 432 Parquet files" in panel.get("description", ""), (
                name, panel["title"])
    assert long >= 10


def test_every_dashboard_has_its_variables_and_raw_influxql_on_the_chosen_datasource():
    found = boards()
    assert set(found) == {"now.json", "logger-health.json", "energy.json", "capacity-tariff.json",
                          "cost.json"}
    assert not (ROOT / "grafana" / "drafts").exists()
    assert len({b["uid"] for b in found.values()}) == len(found)
    for name, board in found.items():
        assert "draft" not in board["title"].lower() and "draft" not in board["tags"], name
        assert len({p["title"] for p in panels_of(board)}) == len(list(panels_of(board))), name
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
                if re.search(r'"ledger_[a-z]+"', query):  # in its own policy
                    assert re.search(r'FROM "\$ledger_rp"\."ledger_[a-z]+"', query), where
                    assert variables["ledger_rp"]["current"]["value"] == "ledger", name


# What current Grafana (12, 13) accepts in a classic dashboard's panels: the Angular `graph`
# panel is gone, and the time series panel's field config takes these values only
# (grafana/grafana packages/grafana-schema/src/schema/graph.cue: GraphDrawStyle,
# VisibilityMode, BarAlignment, LineInterpolation, StackingMode). No Grafana server can run here
# to load the boards, so these facts of its schema are checked instead.
PANEL_TYPES = {"timeseries", "stat", "bargauge", "table", "barchart", "text"}
GRAPH_ENUMS = {
    "drawStyle": {"line", "bars", "points"},
    "showPoints": {"auto", "never", "always"},
    "barAlignment": {-1, 0, 1},
    "lineInterpolation": {"linear", "smooth", "stepBefore", "stepAfter"},
}


def test_the_dashboards_follow_grafanas_schema_and_default_to_the_provisioned_datasource():
    [source] = yaml.safe_load((PROVISIONING / "datasources" / "jullix-influxdb-1x.yaml")
                              .read_text())["datasources"]
    for name, board in boards().items():
        assert board["schemaVersion"] >= 39, name
        variables = {v["name"]: v for v in board["templating"]["list"]}
        # A fresh Grafana opens the boards on the provisioned data source, not on whatever
        # InfluxDB data source happens to be the default.
        assert variables["datasource"]["current"]["value"] == source["uid"], name
        for panel in panels_of(board):
            where = (name, panel["title"])
            assert panel["type"] in PANEL_TYPES, where
            assert panel["datasource"] == {"type": "influxdb", "uid": "${datasource}"}, where
            config = panel.get("fieldConfig", {})
            customs = [config.get("defaults", {}).get("custom", {})]
            customs += [{prop["id"].removeprefix("custom."): prop["value"]}
                        for override in config.get("overrides", [])
                        for prop in override["properties"] if prop["id"].startswith("custom.")]
            for custom in customs:
                for key, allowed in GRAPH_ENUMS.items():
                    if key in custom:
                        assert custom[key] in allowed, (where, key, custom[key])


def test_energy_per_period_is_drawn_as_bars_and_counts_are_not_watts():
    """A day's or a month's energy is one value for the whole period: a bar from its start
    (a line with points off shows nothing for a one-month series)."""
    for name, board in boards().items():
        for panel in panels_of(board):
            if panel["type"] != "timeseries":
                continue
            queries = " ".join(t["query"] for t in panel.get("targets", []))
            per_period = re.search(r"\"period\" = '(1d|1mo)'", queries) and re.search(
                r'"ledger_(energy|device)"', queries)
            unit = panel["fieldConfig"]["defaults"].get("unit")
            if per_period and unit in ("kwatth", "m3", "watt"):
                custom = panel["fieldConfig"]["defaults"]["custom"]
                assert custom["drawStyle"] == "bars", (name, panel["title"])
                assert custom["barAlignment"] == 1, (name, panel["title"])  # from its start
    table = panel_named("capacity-tariff.json", "The meter's peaks beside the computed ones")
    assert table["fieldConfig"]["defaults"]["unit"] == "watt"
    units = {o["matcher"]["options"]: {p["id"]: p["value"] for p in o["properties"]}
             for o in table["fieldConfig"]["overrides"]}
    assert units["months in mean"]["unit"] == "none"  # a count of months, not watts


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
    dashboard = boards()[board]
    start, end = window(dashboard, panel_named(board, title), (recorded.start, recorded.end))
    answer = recorded.influxd.query(substitute(query, dashboard, start, end), db=recorded.db)
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


def outbox_counters(path: Path) -> dict[str, int]:
    """The counters `status` groups and names, read from the outbox the way it reads them."""
    outbox = Outbox(path, read_only=True)
    try:
        return dict(outbox.stats().counters)
    finally:
        outbox.close()


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
    if name.startswith(("held.", "held_dropped.")):
        prefix, target = name.split(".", 1)
        return f'jullix_{prefix}_total{{target="{target}"}}'
    if name.startswith("cloud_") or name == "backfill_failed":
        return f'jullix_cloud_errors_total{{kind="{name}"}}'
    return f"jullix_{name}_total"


@pytest.mark.integration
def test_metrics_during_the_run_show_what_status_shows(recorded):
    before, after = recorded.counters_before, recorded.counters_after
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
    dead = int(re.search(r"dead letter +(\d+) points?", recorded.status_after).group(1))
    assert metrics["jullix_dead_letter_points"] == dead
    assert metrics["jullix_p1_link_up"] == 1  # at the scrape; after the stop `status` says:
    assert "link stopped" in recorded.status_after
    assert metrics["jullix_backfill_gaps_open"] == 0 and metrics["jullix_healthy"] == 1
    assert 1 <= metrics["jullix_p1_seconds_since_last_telegram"] < 15  # paused 1.5 s before
    assert recorded.healthz == (200, "ok\n")


# -- the energy ledger of the run, and its lag ---------------------------------------------------


def ledger_rows(recorded: Recorded, measurement: str, where: str = "") -> list[dict[str, Any]]:
    answer = recorded.influxd.query(
        f'SELECT * FROM "ledger"."{measurement}" WHERE "installation" = \'{INSTALLATION}\''
        f"{where}", db=recorded.db)
    series = answer["results"][0].get("series", [])
    return [dict(zip(s["columns"], row, strict=True)) for s in series for row in s["values"]]


@pytest.mark.integration
def test_the_ledger_command_built_both_days_and_both_months(recorded):
    first, second = recorded.ledger_days
    assert "2 day(s) computed (0 with estimated values), 2 month(s)" in recorded.ledger_output
    days = ledger_rows(recorded, "ledger_energy", " AND \"period\" = '1d'")
    assert [r["time"] for r in days] == [local_midnight(first), local_midnight(second)]
    quarters = ledger_rows(recorded, "ledger_energy", " AND \"period\" = '15m'")
    day_end = local_midnight(second + timedelta(days=1))
    assert len(quarters) == (day_end - local_midnight(first)) // 900
    months = ledger_rows(recorded, "ledger_peak")
    assert [r["time"] for r in months] == [local_midnight(first.replace(day=1)),
                                          local_midnight(second)]
    assert all(r["meter_peak_w"] is not None for r in months)


@pytest.mark.integration
def test_ledger_lag_is_the_age_of_the_newest_period_the_ledger_wrote(recorded):
    """/metrics and `_jullix_health`: now minus the end of the newest complete period, here the
    end of the second history day (no newer period: the service's job is off in this run)."""
    day_end = local_midnight(recorded.ledger_days[1] + timedelta(days=1))
    newest = max(r["time"] for r in ledger_rows(recorded, "ledger_energy",
                                                " AND \"period\" = '15m'"))
    assert newest + 900 == day_end  # the oracle agrees with what InfluxDB holds
    lag = metric_values(recorded.metrics)["jullix_ledger_lag_seconds"]
    assert recorded.scraped[0] - day_end <= lag <= recorded.scraped[1] - day_end
    answer = recorded.influxd.query(
        'SELECT "ledger_lag_s" FROM "_jullix_health" WHERE "installation" = '
        f"'{INSTALLATION}'", db=recorded.db)
    points = answer["results"][0]["series"][0]["values"]
    assert len(points) >= 5
    for t, value in points:  # the point's time is its snapshot's, truncated to the second
        assert t - day_end <= value <= t + 1 - day_end, (t, value)
    assert re.search(r"newest +complete period ends [^(]+ \(\d", recorded.status_after)
