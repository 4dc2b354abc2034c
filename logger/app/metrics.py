"""`/metrics`: a health `Snapshot` in the Prometheus text format, through prometheus-client.

Imported only when `[http] listen` is set (prometheus-client costs RSS; see docs/performance.md).
Every scrape builds a fresh registry from one snapshot taken on the event loop, so a scrape shows
one consistent moment and two scrapes at once never share state. Counters are the outbox's
persistent totals: they do not restart from zero when the service restarts, and they equal what
`jullix-logger status` lists under the same names (docs/grafana.md has the table).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from logger.app import mqtt_state
from logger.app.cost_keys import metric_values
from logger.app.snapshot import Snapshot
from logger.core.version import __version__

NAMESPACE = "jullix"

# Counters of issue 19, each under its own name (`status` lists them the same way).
COUNTED = {
    "refused_unencodable": "points refused at the outbox's door: text no UTF-8 can carry",
    "outbox_commit_failed": "outbox commits that failed and were rolled back (disk full)",
    "memory_dropped": "points dropped from memory while commits kept failing",
    "flush_failed": "flushes that ended in an unexpected error",
    "handed_over": "points a command run by hand handed to this service's outbox",
}


class SnapshotCollector(Collector):
    """The metric families of one snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | InfoMetricFamily]:
        snap = self.snap
        yield InfoMetricFamily(f"{NAMESPACE}_logger", "the logger's version and installation",
                               value={"version": __version__, "installation": snap.installation})
        yield _gauge("healthy", "1 while healthy (the systemd watchdog's rule), else 0",
                     0 if snap.problem else 1)
        yield from self._outbox()
        yield from self._sources()
        yield from self._cloud()
        yield from self._mqtt()
        if snap.ledger_lag_s is not None:
            yield _gauge("ledger_lag_seconds", "seconds since the end of the newest complete "
                         "period (quarter-hour, hour, day) the energy ledger computed",
                         snap.ledger_lag_s)
        off = GaugeMetricFamily(f"{NAMESPACE}_feature_off", "1 for each optional feature that "
                                "is off (the ledger without its retention policy); `status` "
                                "and /healthz say why", labels=["feature"])
        for name in sorted(snap.features_off):
            off.add_metric([name], 1)
        yield off
        for name, (text, value) in metric_values(snap.meta, snap.counters, snap.at).items():
            family = _counter if name.endswith("_total") else _gauge
            yield family(name.removesuffix("_total"), text, value)  # prices and cost
        warnings = GaugeMetricFamily(f"{NAMESPACE}_warning",
                                     "1 for each warning that holds (see `status`)",
                                     labels=["kind"])
        for kind in snap.warnings:
            warnings.add_metric([kind], 1)
        yield warnings

    def _outbox(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        snap, counters = self.snap, self.snap.counters
        yield _gauge("outbox_depth_points", "points waiting in the outbox", snap.outbox_depth)
        yield _gauge("outbox_oldest_age_seconds", "age of the oldest waiting point (0: empty)",
                     snap.outbox_oldest_age_s or 0.0)
        yield _gauge("outbox_size_bytes", "bytes the outbox uses", snap.outbox_bytes)
        yield _gauge("outbox_max_bytes", "the outbox's bound ([outbox] max_mb)",
                     snap.outbox_max_bytes)
        yield _gauge("dead_letter_points", "points InfluxDB refused for good, kept aside",
                     snap.dead_letters)
        yield _counter("dead_lettered", "points moved to the dead-letter table",
                       counters.get("dead_lettered", 0))
        yield _counter("overflow_dropped", "points the outbox bound dropped",
                       counters.get("overflow_dropped", 0))
        yield _counter("points_written", "points InfluxDB confirmed",
                       counters.get("points_written", 0))
        held = GaugeMetricFamily(f"{NAMESPACE}_outbox_held_points", "lines parked apart because "
                                 "their target cannot take them, by target", labels=["target"])
        for target, value in sorted(snap.held.items()):
            held.add_metric([target], value)
        yield held
        for name, documentation in COUNTED.items():
            yield _counter(name, documentation, counters.get(name, 0))
        yield _gauge("outbox_commit_failing", "1 while the outbox cannot commit to disk",
                     1 if snap.storage_problem else 0)
        for prefix, documentation in (("held", "lines parked because their target could not "
                                       "take them, by target"),
                                      ("held_dropped", "parked lines dropped by the held "
                                       "table's bound, by target")):
            family = CounterMetricFamily(f"{NAMESPACE}_{prefix}", documentation,
                                         labels=["target"])
            for name, value in sorted(counters.items()):
                if name.startswith(prefix + "."):
                    family.add_metric([name.removeprefix(prefix + ".")], value)
            yield family

        errors = CounterMetricFamily(f"{NAMESPACE}_write_errors",
                                     "failed or refused write requests by class",
                                     labels=["class"])
        for kind, value in sorted(snap.write_errors().items()):
            errors.add_metric([kind], value)
        yield errors
        yield _gauge("influx_ready", "1 when InfluxDB is configured and migrated (writes flow)",
                     1 if snap.influx_configured and snap.sink_ready else 0)
        if snap.last_write_at is not None:
            yield _gauge("last_write_timestamp_seconds", "when InfluxDB last confirmed a write",
                         snap.last_write_at)

    def _sources(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        snap, counters = self.snap, self.snap.counters
        accepted = CounterMetricFamily(f"{NAMESPACE}_points_accepted",
                                       "points committed to the outbox, by source and measurement",
                                       labels=["source", "measurement"])
        for (source, measurement), value in sorted(snap.accepted().items()):
            accepted.add_metric([source, measurement], value)
        yield accepted
        polls = CounterMetricFamily(f"{NAMESPACE}_local_poll_errors",
                                    "failed local answers (timeout, 5xx, invalid JSON) by endpoint",
                                    labels=["endpoint"])
        for endpoint, value in sorted(snap.local_poll_errors().items()):
            polls.add_metric([endpoint], value)
        yield polls
        telegrams = CounterMetricFamily(f"{NAMESPACE}_p1_telegrams",
                                        "P1 input by kind: valid telegrams, and each kind of "
                                        "damaged or skipped input", labels=["kind"])
        telegrams.add_metric(["valid"], counters.get("p1_telegrams", 0))
        for kind, value in sorted(snap.p1_errors().items()):
            telegrams.add_metric([kind], value)
        yield telegrams
        if snap.p1_enabled:
            yield _gauge("p1_link_up", "1 while the P1 TCP link is connected",
                         1 if snap.p1_link_up else 0)
            yield _counter("p1_reader_restarts", "P1 reader tasks restarted",
                           counters.get("p1_reader_restarts", 0))
            if snap.p1_last_telegram_age_s is not None:
                yield _gauge("p1_seconds_since_last_telegram",
                             "seconds since the last valid telegram", snap.p1_last_telegram_age_s)

    def _cloud(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        snap, counters = self.snap, self.snap.counters
        errors = CounterMetricFamily(f"{NAMESPACE}_cloud_errors",
                                     "cloud problems by kind (failed polls and backfill runs, "
                                     "answers not understood)", labels=["kind"])
        for kind, value in sorted(snap.cloud_errors().items()):
            errors.add_metric([kind], value)
        yield errors
        yield _counter("backfill_gaps_repaired", "gaps filled from the cloud history",
                       counters.get("backfill_gaps_repaired", 0))
        yield _counter("backfill_points", "cloud points a backfill put into the outbox",
                       counters.get("backfill_points", 0))
        if snap.backfill_gaps_open is not None:
            yield _gauge("backfill_gaps_open", "gaps the last backfill run left unrepaired",
                         snap.backfill_gaps_open)
        if snap.cloud_requests is not None:
            yield _counter("cloud_requests", "cloud HTTP requests since start (retries included)",
                           snap.cloud_requests)
            yield _counter("cloud_retries", "cloud requests retried since start",
                           snap.cloud_retries or 0)


    def _mqtt(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        """The Home Assistant output (logger/app/mqtt_job.py), when `[mqtt]` is on."""
        snap, counters = self.snap, self.snap.counters
        if snap.mqtt_connected is None:
            return
        yield _gauge("mqtt_connected", "1 while connected to the MQTT broker",
                     1 if snap.mqtt_connected else 0)
        yield _counter("mqtt_sent", "MQTT messages the broker acknowledged",
                       counters.get(mqtt_state.SENT, 0))
        yield _counter("mqtt_dropped", "values for Home Assistant never sent (replaced while "
                       "the broker was away)", counters.get(mqtt_state.DROPPED, 0))
        yield _counter("mqtt_reconnects", "MQTT connections made again after a loss",
                       counters.get(mqtt_state.RECONNECTS, 0))
        yield _counter("mqtt_offered", "values for Home Assistant the publish rule let through",
                       counters.get(mqtt_state.OFFERED, 0))
        yield _counter("mqtt_unconfirmed", "of the dropped, values on the wire when the link "
                       "broke (the broker may have kept them)",
                       counters.get(mqtt_state.UNCONFIRMED, 0))


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(f"{NAMESPACE}_{name}", documentation, value=value)


def render(snap: Snapshot, accept: str = "") -> tuple[bytes, str]:
    """The exposition of `snap` (plus the process's CPU, memory and file descriptors) and its
    content type, negotiated from the scraper's Accept header as prometheus-client does."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snap))
    ProcessCollector(registry=registry)
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type
