"""InfluxDB writers, API v1 and v2.

Two write paths because the InfluxDB most Raspberry Pi owners get from their distribution is 1.6,
which has only `/write`, while 1.8+, 2.x, Cloud and 3.x all take `/api/v2/write`.

Writers never retry on their own and never raise for HTTP answers: they classify the answer so
the delivery loop can decide between acknowledging, retrying later, and dead-lettering.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from logger.config import InfluxSettings
from logger.core.backoff import parse_retry_after
from logger.sink.http import influx_client, v2_token, warn_plain_http


class Outcome(enum.Enum):
    OK = "ok"
    RETRY = "retry"  # the server or the link is not ready: keep the data, try again later
    REJECT = "reject"  # the server will never take this request as it is
    HOLD = "hold"  # this target cannot take these lines now: park them, the rest goes on
    PARTIAL = "partial"  # the targets of one batch answered differently: see `parts`


@dataclass(frozen=True, slots=True)
class WriteResult:
    outcome: Outcome
    status: int | None = None
    message: str = ""
    retry_after: float | None = None
    target: str = ""  # with HOLD: the target whose lines are parked
    # With PARTIAL: (indices of the batch's lines, what happened to them), one per target.
    parts: tuple[tuple[tuple[int, ...], WriteResult], ...] = ()


def encode_body(lines: Sequence[str]) -> bytes | WriteResult:
    """The request body, or a REJECT when a line cannot be encoded (a lone surrogate that got
    past the outbox's door): the delivery then bisects the batch and dead-letters that line
    alone, instead of an exception stopping every write."""
    text = "\n".join(lines) + "\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return WriteResult(Outcome.REJECT, None, f"a line is not valid UTF-8 text ({exc.reason} "
                           f"at {exc.start}); nothing of this request was sent")


def classify(status: int, body: str, retry_after: str | None = None) -> WriteResult:
    """Decide what an HTTP answer to a write means for the data in it.

    InfluxDB (1.x `/write`, 2.x/3.x `/api/v2/write`) confirms a write with 204 and no body. A
    2xx with a body is another server's answer (a web server or a login page at the wrong URL):
    nothing was stored, so it is retried, never acknowledged. 401/403 and a missing
    database/bucket (404) are configuration problems, not data problems: the same points will
    be accepted once the token or database is fixed, so they are retried, never dead-lettered.
    400/413/422 reject the content itself, except InfluxDB 3's refusal to create one more
    database than it allows (Core: 5): the place is missing, not the data wrong.
    """
    message = body.strip()[:500]
    if 200 <= status < 300:
        if status == 204 or not message:
            return WriteResult(Outcome.OK, status)
        return WriteResult(
            Outcome.RETRY, status,
            f"HTTP {status} with a body is not InfluxDB's answer to a write (another server at "
            f"this URL?); nothing was stored: {message[:200]!r}",
        )
    wait = parse_retry_after(retry_after)
    if status in (401, 403, 404, 408, 429) or status >= 500 or database_limit(message):
        return WriteResult(Outcome.RETRY, status, message, wait)
    return WriteResult(Outcome.REJECT, status, message)


def database_limit(message: str) -> bool:
    """InfluxDB 3's answer to a write that would create a database past its limit ("Adding a
    new database would exceed limit of 5 databases")."""
    return "would exceed limit of" in message and "database" in message


class Writer(Protocol):
    async def write(self, lines: Sequence[str]) -> WriteResult: ...

    async def close(self) -> None: ...


class V1Writer:
    """`POST /write` with httpx, for InfluxDB 1.x (including Debian's 1.6)."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        self._params = {"db": settings.database, "precision": "s"}
        if settings.retention_policy:
            self._params["rp"] = settings.retention_policy
        self._client = influx_client(settings)

    async def write(self, lines: Sequence[str]) -> WriteResult:
        body = encode_body(lines)
        if isinstance(body, WriteResult):
            return body
        try:
            response = await self._client.post("/write", params=self._params, content=body)
        except httpx.HTTPError as exc:
            return WriteResult(Outcome.RETRY, None, f"{type(exc).__name__}: {exc}")
        return classify(response.status_code, response.text, response.headers.get("Retry-After"))

    async def close(self) -> None:
        await self._client.aclose()


class V2Writer:
    """`POST /api/v2/write` through influxdb-client, synchronously, in a worker thread.

    Synchronous because the client's batching mode drops whatever it buffered on shutdown and
    retries invisibly; the outbox already batches and retries durably. Its write service is
    called directly (the write API would hide the answer of any 2xx).
    """

    def __init__(self, settings: InfluxSettings) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.service.write_service import WriteService

        self._settings = settings
        warn_plain_http(settings)
        self._client = InfluxDBClient(
            url=settings.url,
            token=v2_token(settings),
            org=settings.org,
            timeout=int(settings.timeout * 1000),
            enable_gzip=False,
        )
        # The write service underneath the client's write API, whose status and body we check.
        self._write_service = WriteService(self._client.api_client)

    def _write_blocking(self, body: bytes) -> WriteResult:
        from influxdb_client.client.exceptions import InfluxDBError
        from influxdb_client.domain.write_precision import WritePrecision

        try:
            response = self._write_service.post_write_with_http_info(
                org=self._settings.org,
                bucket=self._settings.bucket,
                body=body,
                precision=WritePrecision.S,
                content_type="text/plain; charset=utf-8",
                _preload_content=False,  # the raw answer, to read its status and body
                _return_http_data_only=True,
            )
            try:
                status, text = response.status, response.data.decode("utf-8", "replace")
            finally:
                response.release_conn()
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
        return classify(status, text)

    async def write(self, lines: Sequence[str]) -> WriteResult:
        body = encode_body(lines)
        if isinstance(body, WriteResult):
            return body
        return await asyncio.to_thread(self._write_blocking, body)

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
