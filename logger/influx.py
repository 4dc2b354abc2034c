"""InfluxDB writers (API v1 and v2) and the InfluxQL reader.

Two write paths because the InfluxDB most Raspberry Pi owners get from their distribution is 1.6,
which has only `/write`, while 1.8+, 2.x, Cloud and 3.x all take `/api/v2/write`. Reads use
InfluxQL over `/query` because it is the one query path all of them answer.

Writers never retry on their own and never raise for HTTP answers: they classify the answer so
the delivery loop can decide between acknowledging, retrying later, and dead-lettering.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from logger.config import InfluxSettings

log = logging.getLogger(__name__)

USER_AGENT = "jullix-logger"


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # the server or the link is not ready: keep the data, try again later
    REJECT = "reject"  # the server will never take this request as it is


@dataclass(frozen=True, slots=True)
class WriteResult:
    outcome: Outcome
    status: int | None = None
    message: str = ""
    retry_after: float | None = None


def classify(status: int, body: str, retry_after: str | None = None) -> WriteResult:
    """Decide what an HTTP answer to a write means for the data in it.

    401/403 and a missing database/bucket (404) are configuration problems, not data
    problems: the same points will be accepted once the token or database is fixed, so they
    are retried, never dead-lettered. 400/413/422 reject the content itself.
    """
    message = body.strip()[:500]
    if 200 <= status < 300:
        return WriteResult(Outcome.OK, status)
    wait = _parse_retry_after(retry_after)
    if status in (401, 403, 404, 408, 429) or status >= 500:
        return WriteResult(Outcome.RETRY, status, message, wait)
    return WriteResult(Outcome.REJECT, status, message)


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class Writer(Protocol):
    async def write(self, lines: Sequence[str]) -> WriteResult: ...

    async def close(self) -> None: ...


def _auth_headers(settings: InfluxSettings) -> dict[str, str]:
    if settings.token is not None and not settings.username:
        return {"Authorization": f"Token {settings.token.get_secret_value()}"}
    return {}


def _basic_auth(settings: InfluxSettings) -> httpx.BasicAuth | None:
    if settings.username:
        password = settings.password.get_secret_value() if settings.password else ""
        return httpx.BasicAuth(settings.username, password)
    return None


class V1Writer:
    """`POST /write` with httpx, for InfluxDB 1.x (including Debian's 1.6)."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self._params = {"db": settings.database, "precision": "s"}
        if settings.retention_policy:
            self._params["rp"] = settings.retention_policy
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            timeout=settings.timeout,
            headers={"User-Agent": USER_AGENT, **_auth_headers(settings)},
            auth=_basic_auth(settings),
        )

    async def write(self, lines: Sequence[str]) -> WriteResult:
        body = ("\n".join(lines) + "\n").encode()
        try:
            response = await self._client.post("/write", params=self._params, content=body)
        except httpx.HTTPError as exc:
            return WriteResult(Outcome.RETRY, None, f"{type(exc).__name__}: {exc}")
        return classify(response.status_code, response.text, response.headers.get("Retry-After"))

    async def close(self) -> None:
        await self._client.aclose()


class V2Writer:
    """`POST /api/v2/write` through influxdb-client in SYNCHRONOUS mode, in a worker thread.

    SYNCHRONOUS because the client's batching mode drops whatever it buffered on shutdown and
    retries invisibly; the outbox already batches and retries durably.
    """

    def __init__(self, settings: InfluxSettings) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        token = self._token(settings)
        self._settings = settings
        self._client = InfluxDBClient(
            url=settings.url,
            token=token,
            org=settings.org,
            timeout=int(settings.timeout * 1000),
            enable_gzip=False,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)

    @staticmethod
    def _token(settings: InfluxSettings) -> str:
        if settings.username:
            # InfluxDB 1.8's v2 compatibility layer takes "user:password" as the token.
            password = settings.password.get_secret_value() if settings.password else ""
            return f"{settings.username}:{password}"
        return settings.token.get_secret_value() if settings.token else ""

    def _write_blocking(self, body: str) -> WriteResult:
        from influxdb_client.client.exceptions import InfluxDBError
        from influxdb_client.domain.write_precision import WritePrecision

        try:
            self._write_api.write(
                bucket=self._settings.bucket,
                org=self._settings.org,
                record=body,
                write_precision=WritePrecision.S,
            )
        except InfluxDBError as exc:
            status = getattr(exc, "status", None)
            if status is None and exc.response is not None:
                status = exc.response.status
            if status is None:
                return WriteResult(Outcome.RETRY, None, str(exc.message or exc)[:500])
            body_text = _response_text(exc)
            headers = getattr(exc, "headers", None) or {}
            return classify(int(status), body_text, _header(headers, "Retry-After"))
        except Exception as exc:  # urllib3 connection/timeouts: the link, not the data
            return WriteResult(Outcome.RETRY, None, f"{type(exc).__name__}: {exc}"[:500])
        return WriteResult(Outcome.OK, 204)

    async def write(self, lines: Sequence[str]) -> WriteResult:
        return await asyncio.to_thread(self._write_blocking, "\n".join(lines))

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)


def _response_text(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    if isinstance(body, str):
        return body
    return str(getattr(exc, "message", "") or "")


def _header(headers: Any, name: str) -> str | None:
    try:
        return headers.get(name)
    except AttributeError:
        return None


def make_writer(settings: InfluxSettings) -> Writer:
    """The writer for the configured API."""
    return V2Writer(settings) if settings.api == "v2" else V1Writer(settings)


class QueryError(Exception):
    """InfluxQL failed; the text is safe to show (no credentials in it)."""


class InfluxQL:
    """InfluxQL over HTTP `/query`: the query path InfluxDB 1.x, 2.x and 3.x all answer."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self.database = settings.bucket if settings.api == "v2" else settings.database
        self._client = httpx.AsyncClient(
            base_url=settings.url,
            timeout=settings.timeout,
            headers={"User-Agent": USER_AGENT, **_auth_headers(settings)},
            auth=_basic_auth(settings),
        )

    async def ping(self) -> str:
        """The server's version string; raises QueryError when it does not answer."""
        try:
            response = await self._client.get("/ping")
        except httpx.HTTPError as exc:
            raise QueryError(f"cannot reach {self._settings.url}: {type(exc).__name__}") from None
        if response.status_code not in (200, 204):
            raise QueryError(f"{self._settings.url}/ping answered HTTP {response.status_code}")
        return response.headers.get("X-Influxdb-Version", "unknown version")

    async def query(self, statement: str, database: str | None = None) -> list[dict[str, Any]]:
        """Run one statement; returns the `series` list of its first result."""
        params = {"q": statement, "epoch": "s"}
        db = self.database if database is None else database
        if db:
            params["db"] = db
        if self._settings.retention_policy and database is None:
            params["rp"] = self._settings.retention_policy
        is_write = statement.lstrip().upper().startswith(("CREATE", "DROP", "ALTER", "DELETE"))
        try:
            if is_write:
                response = await self._client.post("/query", data=params)
            else:
                response = await self._client.get("/query", params=params)
        except httpx.HTTPError as exc:
            raise QueryError(f"cannot reach {self._settings.url}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise QueryError(f"/query answered HTTP {response.status_code}: {response.text[:300]}")
        payload = response.json()
        results = payload.get("results") or [{}]
        first = results[0]
        if "error" in first:
            raise QueryError(first["error"])
        return first.get("series") or []

    async def close(self) -> None:
        await self._client.aclose()
