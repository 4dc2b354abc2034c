"""HTTP client for the Jullix platform API (`https://mijn.jullix.be/api/v1`).

What it guarantees, whoever calls it:

* `Authorization: Bearer <token>` on every request, and the token nowhere else: not in a log
  line, an exception text or a repr (the token lives in a `SecretStr` and is only put into the
  request headers; every message built here names the path, never the headers).
* TLS verification always on (httpx's default, never switched off). Plain `http://` is refused
  unless the host is a loopback address (the simulator in tests), so a token never crosses a
  network in clear text.
* A timeout on every request (httpx's per-phase timeout plus an overall `asyncio.wait_for`), and
  at most `concurrency` requests in flight.
* `{"data": ..., "status": ...}` envelopes unwrapped (`logger.sources.values.unwrap`).
* 401: the token is invalid or revoked. `CloudAuthError` is raised and the client refuses every
  further call (no retry can fix a revoked token); the message says where to create a new one.
* 404: the thing does not exist (normal for a device type the installation does not have):
  `get` returns None.
* 429 and 5xx (and timeouts, connection errors): retried with exponential backoff, honouring
  `Retry-After` (seconds or an HTTP date), up to `max_attempts` attempts in all
  (`logger.core.backoff`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from logger.core.backoff import Backoff, parse_retry_after
from logger.core.logs import get_logger
from logger.core.urls import is_loopback
from logger.sources.values import parse_json, unwrap

log = get_logger(__name__)

USER_AGENT = "jullix-logger"
TOKEN_HELP = (
    "the Jullix cloud token is invalid or revoked (HTTP 401): create a new one in Mijn Jullix, "
    "Profiel, API-tokens, and set it as [cloud] token or the systemd credential cloud_token"
)


class CloudError(Exception):
    """A cloud request failed; the text is safe to log (no token in it)."""


class CloudConfigError(CloudError):
    """The cloud settings cannot work (no token, http to a remote host)."""


class CloudAuthError(CloudError):
    """HTTP 401: the token is invalid or revoked. Cloud work must stop."""


class CloudUnavailable(CloudError):
    """Retries exhausted: 429/5xx, timeouts or connection errors."""


class CloudBadResponse(CloudError):
    """The answer is not JSON, or not the envelope we know."""


def check_url(url: str) -> str:
    """The base URL without trailing slash; plain http only to a loopback host."""
    base = url.strip().rstrip("/")
    parts = urlsplit(base)
    if parts.scheme == "https" and parts.hostname:
        return base
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return base
    if parts.scheme == "http":
        raise CloudConfigError(
            f"[cloud] url {base!r}: refusing to send the token over plain http to a host that "
            "is not loopback; use https"
        )
    raise CloudConfigError(f"[cloud] url {base!r}: not an http(s) URL")


@dataclass
class RawResponse:
    """One final answer (after retries): what `cloud-probe` saves."""

    path: str
    status: int
    text: str
    content_type: str
    attempts: int


Sleep = Callable[[float], Awaitable[None]]


class CloudClient:
    """Async client for the platform API. Use one per process; `close()` when done."""

    def __init__(
        self,
        url: str,
        token: SecretStr | str | None,
        *,
        timeout: float = 30.0,
        concurrency: int = 4,
        max_attempts: int = 4,
        backoff: float = 1.0,
        max_wait: float = 300.0,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = check_url(url)
        if token is None or not (
            token.get_secret_value() if isinstance(token, SecretStr) else token
        ).strip():
            raise CloudConfigError(
                "no Jullix cloud token: create one in Mijn Jullix, Profiel, API-tokens, and set "
                "[cloud] token or the systemd credential cloud_token"
            )
        self._token = token if isinstance(token, SecretStr) else SecretStr(token)
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self._sleep = sleep
        self._limit = asyncio.Semaphore(max(1, concurrency))
        # verify=True is httpx's default and is never changed: TLS verification always on.
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            transport=transport,
            verify=True,
            follow_redirects=False,
        )
        self.calls = 0  # HTTP requests sent (retries included)
        self.retries = 0
        self.auth_failed = False

    def __repr__(self) -> str:
        return f"CloudClient(url={self.url!r}, calls={self.calls})"

    @property
    def token_text(self) -> str:
        """For redacting saved responses only; never log it."""
        return self._token.get_secret_value()

    async def close(self) -> None:
        await self._client.aclose()

    async def get_raw(self, path: str) -> RawResponse:
        """GET `path` (relative to the base URL) with retries; raises CloudAuthError on 401."""
        if self.auth_failed:
            raise CloudAuthError(TOKEN_HELP)
        url = f"{self.url}/{path.lstrip('/')}"
        backoff = Backoff(self.backoff, max(self.backoff, self.max_wait))
        attempt = 0
        while True:
            attempt += 1
            wait: float | None = None
            problem = ""
            try:
                response = await self._send(url)
            except (TimeoutError, httpx.TimeoutException):
                problem = "timed out"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            else:
                status = response.status_code
                if status == 401:
                    self.auth_failed = True
                    raise CloudAuthError(TOKEN_HELP)
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    wait = parse_retry_after(response.headers.get("Retry-After"))
                else:
                    return RawResponse(
                        path, status, response.text,
                        response.headers.get("Content-Type", ""), attempt,
                    )
            if attempt >= self.max_attempts:
                raise CloudUnavailable(f"cloud /{path.lstrip('/')}: {problem} "
                                       f"(gave up after {attempt} attempts)")
            wait = min(backoff.next_delay(at_least=wait), self.max_wait)
            self.retries += 1
            log.info("cloud /%s: %s; retrying in %.1f s (attempt %d of %d)",
                     path.lstrip("/"), problem, wait, attempt + 1, self.max_attempts)
            await self._sleep(wait)

    async def _send(self, url: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        async with self._limit:
            self.calls += 1
            return await asyncio.wait_for(
                self._client.get(url, headers=headers), self.timeout + 5.0
            )

    async def get(self, path: str) -> Any | None:
        """The unwrapped JSON payload of `path`; None for 404 (the thing does not exist)."""
        raw = await self.get_raw(path)
        if raw.status == 404:
            return None
        if raw.status == 204 or not raw.text.strip():
            return {}
        if raw.status >= 400:
            raise CloudError(f"cloud /{path.lstrip('/')}: HTTP {raw.status}")
        try:
            payload = parse_json(raw.text)
        except ValueError as exc:
            raise CloudBadResponse(
                f"cloud /{path.lstrip('/')}: not JSON ({len(raw.text)} bytes; {exc})"
            ) from None
        if isinstance(payload, dict) and str(payload.get("status", "ok")).lower() not in (
            "ok", "success", "true", "200"
        ):
            raise CloudBadResponse(
                f"cloud /{path.lstrip('/')}: status {str(payload.get('status'))[:40]!r}"
            )
        return unwrap(payload)


def redact(text: str, *secrets: str) -> str:
    """`text` with every secret replaced (for saved responses and logged samples)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text



def short_sample(payload: Any, *secrets: str) -> str:
    """At most 200 characters of a payload for a log line, secrets removed."""
    try:
        text = json.dumps(payload, ensure_ascii=True)[:200]
    except (TypeError, ValueError):
        text = repr(payload)[:200]
    return redact(text, *secrets)
