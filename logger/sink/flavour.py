"""Which InfluxDB answers at `[influx] url`: detected once from `/ping` (and `/health` when the
ping says too little), and what that server can do for the logger.

Why it matters: the same URL may be Debian's 1.6 (API v1 only), 1.8 (v1 plus the v2 write
API), 2.x OSS (buckets, DBRP mappings, `/api/v2/delete`), InfluxDB 3 Core or Enterprise (no
InfluxQL `CREATE`/`DELETE`, databases through `/api/v3/configure/database`, `db/rp` database
names; Core reads at most 432 Parquet files per query) or InfluxDB Cloud. One detection, used
by `check`, the journal at start, the migrations, the windowing of long reads and
`backfill --undo`, so they never disagree about the server.

How each is recognised (the vendors' own answers, docs/influxdb.md has the sources):
- 1.x: `/ping` 204 with `X-Influxdb-Version: 1.6.7~rc0` (1.8: `1.8.10`), build `OSS`.
- 2.x: `/ping` 204 with `X-Influxdb-Version: v2.7.11` (a leading `v`), build `OSS`; `/health`
  JSON with the same version.
- 3.x: `/ping` 200 with `X-Influxdb-Build: Core` or `Enterprise` and a JSON body naming the
  product (`"product_name": "InfluxDB 3 Core"`).
- Cloud (Serverless, Dedicated, TSM): `X-Influxdb-Build: cloud2`, or a host under
  `cloud2.influxdata.com`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from logger.core.durations import AUTO, query_span_seconds

V1 = "1.x"  # before 1.8: API v1 only
V18 = "1.8"  # 1.8 and later 1.x: v1 plus /api/v2/write
V2 = "2.x"
CORE = "3 Core"
ENTERPRISE = "3 Enterprise"
CLOUD = "Cloud"
UNKNOWN = "unknown"

# InfluxDB 3 Core's default `--query-file-limit`: 432 Parquet files, about 72 h of one table
# written steadily (10-minute gen1 files). The logger's automatic read span stays well inside
# it, because late writes (the outbox after an outage, a backfill, the ledger's recomputed
# days) add files to hours already persisted and Core never compacts them.
CORE_FILE_LIMIT = 432
CORE_AUTO_SPAN_S = 24 * 3600


def version_tuple(version: str) -> tuple[int, int] | None:
    """(major, minor) of `1.6.7~rc0`, `v2.7.1`, `3.0.0`; None when it says no version."""
    match = re.match(r"v?(\d+)\.(\d+)", version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True, slots=True)
class Flavour:
    """What `/ping` (and `/health`) said; every property below derives from it."""

    version: str
    build: str = ""
    product: str = ""  # InfluxDB 3's `/ping` body: "InfluxDB 3 Core"
    cloud_host: bool = False  # the URL's host is InfluxData's cloud

    @property
    def major(self) -> int | None:
        numbers = version_tuple(self.version)
        return numbers[0] if numbers else None

    @property
    def kind(self) -> str:
        build = self.build.strip().lower()
        product = self.product.lower()
        if build == "enterprise" or "enterprise" in product:
            return ENTERPRISE
        if build == "core" or "core" in product or (self.major == 3 and build != "cloud2"):
            return CORE
        if build == "cloud2" or self.cloud_host:
            return CLOUD
        numbers = version_tuple(self.version)
        if numbers is None:
            return UNKNOWN
        if numbers[0] == 1:
            return V1 if numbers < (1, 8) else V18
        return V2 if numbers[0] == 2 else UNKNOWN

    @property
    def is_v3(self) -> bool:
        """InfluxDB 3 (Core, Enterprise): no InfluxQL CREATE/DELETE, `db/rp` databases."""
        return self.kind in (CORE, ENTERPRISE)

    @property
    def buckets(self) -> bool:
        """Buckets and DBRP mappings through `/api/v2/buckets` and `/api/v2/dbrps`."""
        return self.kind in (V2, CLOUD)

    @property
    def influxql_admin(self) -> bool:
        """CREATE DATABASE / RETENTION POLICY over `/query` (InfluxDB 1.x only)."""
        return self.kind in (V1, V18, UNKNOWN)

    @property
    def file_limited(self) -> bool:
        """A query may read at most so many Parquet files (Core; Enterprise compacts)."""
        return self.kind == CORE

    @property
    def deletes(self) -> str | None:
        """How points of a range are removed: `influxql` (1.x: DELETE over /query), `api`
        (`/api/v2/delete`: 2.x, Cloud TSM; Cloud Serverless refuses it), None (InfluxDB 3
        deletes whole tables or databases only over HTTP)."""
        if self.is_v3:
            return None
        return "api" if self.buckets else "influxql"

    @property
    def opaque_401(self) -> bool:
        """A refused read answers a bare 401 whether the token is wrong or only lacks the
        right (InfluxDB 3's and Cloud's v1 query API): it cannot tell the two apart."""
        return self.is_v3 or self.kind == CLOUD

    def __str__(self) -> str:
        kind = self.kind
        version = self.version or "of unknown version"
        if kind in (CORE, ENTERPRISE):
            return f"InfluxDB {kind} {self.version}".rstrip()
        if kind == CLOUD:
            version = f", {self.version}" if self.version else ""
            return f"InfluxDB Cloud ({self.build or 'cloud2'}{version})"
        build = f" ({self.build})" if self.build else ""
        return f"InfluxDB {version}{build}"


class PingFailed(Exception):
    """`/ping` gave no usable answer; `status` is its HTTP status (None: no answer at all)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def from_answers(url: str, headers: httpx.Headers, ping_body: dict[str, Any],
                 health: dict[str, Any] | None = None) -> Flavour:
    """The flavour from `/ping`'s headers and body and, if asked, `/health`'s JSON."""
    version = headers.get("X-Influxdb-Version", "") or str(ping_body.get("version", "") or "")
    if not version and health:
        version = str(health.get("version", "") or "")
    host = (urlsplit(url).hostname or "").lower()
    return Flavour(version.strip(), headers.get("X-Influxdb-Build", "").strip(),
                   str(ping_body.get("product_name", "") or ""),
                   host.endswith("cloud2.influxdata.com"))


async def detect(client: httpx.AsyncClient, display_url: str) -> Flavour:
    """Ask `/ping` (and `/health` when the ping names no version); PingFailed otherwise."""
    try:
        ping = await client.get("/ping")
    except httpx.HTTPError as exc:
        raise PingFailed(f"cannot reach {display_url}: {type(exc).__name__}") from None
    if ping.status_code not in (200, 204):
        raise PingFailed(f"{display_url}/ping answered HTTP {ping.status_code}", ping.status_code)
    body = _json(ping) if ping.status_code == 200 else {}
    health = None
    if not ping.headers.get("X-Influxdb-Version") and not body.get("version"):
        try:
            answer = await client.get("/health")
            health = _json(answer) if answer.status_code == 200 else None
        except httpx.HTTPError:
            health = None
    return from_answers(str(client.base_url), ping.headers, body, health)


def span_seconds(max_query_span: str, flavour: Flavour | None) -> int | None:
    """How far one query may reach (`[influx] max_query_span`): for `auto`, InfluxDB 3 Core's
    bound (`CORE_AUTO_SPAN_S`) and none elsewhere (or when the flavour is not known); None is
    no bound."""
    if max_query_span == AUTO:
        return CORE_AUTO_SPAN_S if flavour is not None and flavour.file_limited else None
    return query_span_seconds(max_query_span)


def api_problem(flavour: Flavour, api: str) -> str | None:
    """Why `[influx] api` cannot work with this server, or None."""
    if api == "v2" and flavour.kind == V1:
        return (f"{flavour} has no API v2 (InfluxDB 1.8 brought it): set [influx] "
                'api = "v1" (with database, and username/password when auth is on)')
    return None
