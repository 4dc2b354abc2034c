"""What works on the detected InfluxDB, in the words `check` prints and the journal logs at
start: where the raw series and the ledger go, how migrations are made there, what
`backfill --undo` can do, how long reads are cut, and what the user must do where the logger
cannot (docs/influxdb.md has the same matrix, with how each cell was verified).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from logger.config import InfluxSettings
from logger.core.durations import describe_seconds, retention_seconds
from logger.core.urls import is_loopback
from logger.sink.flavour import CLOUD, CORE, CORE_FILE_LIMIT, ENTERPRISE, V1, V2, V18, Flavour


def _keeps(retention: str) -> str:
    seconds = retention_seconds(retention)
    return "forever" if seconds == 0 else f"for {describe_seconds(seconds)}"


def _place(flavour: Flavour, influx: InfluxSettings) -> str:
    """Where `influx` writes, in the server's own terms."""
    if flavour.is_v3:
        rp = influx.bucket.partition("/")[2] if influx.api == "v2" else influx.retention_policy
        database = influx.bucket.partition("/")[0] if influx.api == "v2" else influx.database
        name = f"{database}/{rp}" if rp and rp not in ("autogen", "default") else database
        return f"database {name!r}"
    if influx.api == "v2" and flavour.buckets:
        return f"bucket {influx.bucket!r}"
    if influx.api == "v2":  # 1.8: the bucket is db/rp
        database, _, rp = influx.bucket.partition("/")
        return f"retention policy {rp or 'autogen'!r} of database {database!r}"
    return (f"retention policy {influx.retention_policy or 'autogen'!r} of database "
            f"{influx.database!r}")


def _migrations(flavour: Flavour, raw: str, ledger: str) -> str:
    kind = flavour.kind
    if kind in (V1, V18):
        return ("migrations: CREATE DATABASE / RETENTION POLICY over /query (an admin; a "
                "user with WRITE only logs the raw series, the ledger then needs its policy "
                "made once by an admin, docs/influxdb.md)")
    if kind in (V2, CLOUD):
        return (f"migrations: {raw} and {ledger} through /api/v2/buckets, InfluxQL's DBRP "
                "mappings through /api/v2/dbrps (a token with read and write on buckets and "
                f"dbrps and read on the org); with a write-only token create {raw} and "
                f"{ledger} by hand and give it write on both (read too, for the ledger)")
    if kind == CORE:
        return (f"migrations: {raw} and {ledger} through /api/v3/configure/database (an admin "
                "token: Core has no other kind); Core allows 5 databases, the logger uses 2")
    if kind == ENTERPRISE:
        return (f"migrations: {raw} and {ledger} through /api/v3/configure/database (an admin "
                "token); with a database token, create them with an admin's and give it "
                "write (and read, for the ledger) on both")
    return "migrations: as for InfluxDB 1.x (this server did not say which it is)"


def _undo(flavour: Flavour) -> str:
    kind = flavour.kind
    if kind == V2:
        return "backfill --undo: /api/v2/delete (the measurement and its tags, AND and = only)"
    if kind == CLOUD:
        return ("backfill --undo: /api/v2/delete on Cloud (TSM); Cloud Serverless deletes "
                "nothing and says so")
    if kind == CORE:
        return ("backfill --undo: not possible (Core deletes whole tables or databases only); "
                "the command says what it would have removed")
    if kind == ENTERPRISE:
        return ("backfill --undo: not over HTTP; `influxdb3 delete rows` (3.10+ with "
                "--use-pacha-tree) does it, the command prints what to give it")
    return "backfill --undo: InfluxQL DELETE over /query"


def _long_reads(flavour: Flavour, span_s: int | None, configured: str) -> str:
    if span_s is None:
        return "long reads: one query each (no bound on this server)"
    why = (f"Core reads at most {CORE_FILE_LIMIT} Parquet files, about 72 h of a table, per "
           "query" if flavour.file_limited and configured == "auto"
           else "[influx] max_query_span")
    return (f"long reads (gap detection, the ledger, undo's counts): in windows of at most "
            f"{describe_seconds(span_s)} ({why}; a refused window is split)")


def _pi(flavour: Flavour, url: str) -> list[str]:
    """Core crashes on a Raspberry Pi 5's 16 KiB pages (jemalloc, influxdata/influxdb#26066)."""
    host = urlsplit(url).hostname or ""
    if flavour.is_v3 and is_loopback(host) and os.sysconf("SC_PAGE_SIZE") == 16384:
        return ["WARNING: this host has 16 KiB memory pages (a Raspberry Pi 5 kernel), where "
                "InfluxDB 3 crashes (<jemalloc>: Unsupported system page size); run 1.8 or "
                "2.7 here, or InfluxDB 3 on another host"]
    return []


def support_lines(flavour: Flavour, influx: InfluxSettings, ledger: InfluxSettings,
                  span_s: int | None) -> list[str]:
    """One line per capability: writes, migrations, ledger, undo, long reads (+ warnings)."""
    raw, place = _place(flavour, influx), _place(flavour, ledger)
    api = "v2 (/api/v2/write)" if influx.api == "v2" else "v1 (/write)"
    created = " (created on the first write if need be)" if flavour.is_v3 else ""
    lines = [
        f"writes: API {api} into {raw}{created}",
        _migrations(flavour, raw, place),
        f"ledger: {place}, keeping data {_keeps(ledger.raw_retention)}",
        _undo(flavour),
        _long_reads(flavour, span_s, influx.max_query_span),
    ]
    if flavour.kind == CORE:
        lines.append("Grafana: a panel over more than about 72 h shows Core's \"Query would "
                     "scan 432 Parquet files\"; docs/grafana.md")
    return lines + _pi(flavour, influx.url)
