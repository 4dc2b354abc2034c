"""Fetching day-ahead prices from the ENTSO-E Transparency Platform's RESTful API (A44).

`GET <url>?securityToken=..&documentType=A44&in_Domain=<zone>&out_Domain=<zone>&periodStart=
yyyymmddHHMM&periodEnd=yyyymmddHHMM` (UTC). What this client guarantees:

* The token goes into the request and nowhere else: every message built here names the period and
  the zone, never the URL (which carries the token), and httpx's own request log is silenced by
  the logging setup. Plain http only to a loopback host (the simulator), so the token never
  crosses a network in clear text.
* A query spans at most `CHUNK_DAYS` days (the platform refuses more than a year; smaller answers
  keep memory flat and show progress), so any range works.
* 401/403: `PricesAuthError`, no retry (no retry can fix a refused token). 429 (and 409, which
  the platform has used for the same): rate limited, retried after `Retry-After` or the backoff
  (the platform allows about 400 requests a minute and bans for minutes beyond that). 5xx,
  timeouts, connection errors: retried with backoff (`logger.core.backoff`), then
  `PricesUnavailable`. The "no matching data" acknowledgement is an empty answer, not an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr

from logger.core.backoff import Backoff, parse_retry_after
from logger.core.urls import is_loopback
from logger.sources.prices.a44 import A44Error, A44Result, NoMatchingData, parse

CHUNK_DAYS = 31
RATE_LIMITED = (409, 429)
TOKEN_HELP = ("the ENTSO-E Transparency Platform refused the security token (HTTP {status}): "
              "request one (register on transparency.entsoe.eu, then email "
              "transparency@entsoe.eu, subject \"Restful API access\") and set it as [prices] "
              "token or the systemd credential entsoe_token")
Sleep = Callable[[float], Awaitable[None]]


class PricesError(Exception):
    """Fetching prices failed; the text is safe to log (no token in it)."""


class PricesConfigError(PricesError):
    """The settings cannot work: no token, plain http to a remote host."""


class PricesAuthError(PricesError):
    """401/403: the token was refused."""


class PricesUnavailable(PricesError):
    """Retries exhausted (429, 5xx, timeouts, connection errors)."""


@dataclass
class FetchResult:
    """Prices of [start, end), and what the answers said on the way."""

    result: A44Result = field(default_factory=A44Result)
    requests: int = 0
    empty: list[str] = field(default_factory=list)  # "no matching data" reasons, per chunk


def stamp(epoch: int) -> str:
    """yyyymmddHHMM in UTC, as the platform wants its periodStart/periodEnd."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M")


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return url
    raise PricesConfigError(f"[prices] url {url!r}: the token may only travel over https (plain "
                            "http only to this machine)")


class EntsoeClient:
    """The A44 client; `close()` when done."""

    def __init__(self, url: str, token: SecretStr | None, zone: str, *, timeout: float = 30.0,
                 max_attempts: int = 4, backoff: Backoff | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if token is None or not token.get_secret_value().strip():
            raise PricesConfigError("no ENTSO-E security token: set [prices] token, the "
                                    "systemd credential entsoe_token or "
                                    "JULLIX_LOGGER_PRICES__TOKEN")
        self.url = check_url(url)
        self.zone = zone
        self._token = token
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff(initial=2.0, maximum=120.0)
        self._sleep = sleep
        self._client = httpx.AsyncClient(timeout=timeout, headers={"User-Agent": "jullix-logger"},
                                         follow_redirects=False)

    def __repr__(self) -> str:
        return f"EntsoeClient(zone={self.zone!r})"

    async def fetch(self, start: int, end: int,
                    progress: Callable[[int, int], None] | None = None) -> FetchResult:
        """Every price of [start, end), in chunks; `progress(done_s, total_s)` after each."""
        out = FetchResult()
        seen: set[tuple[int, int]] = set()
        chunk = CHUNK_DAYS * 86400
        lo = start
        while lo < end:
            hi = min(end, lo + chunk)
            out.requests += 1
            try:
                part = await self._chunk(lo, hi)
            except NoMatchingData as exc:
                out.empty.append(str(exc))
            else:
                for name in ("series", "filled", "duplicates", "conflicts", "unfilled"):
                    setattr(out.result, name, getattr(out.result, name) + getattr(part, name))
                for price in part.prices:
                    key = (price.resolution_s, price.start)
                    if start <= price.start < end and key not in seen:
                        seen.add(key)
                        out.result.prices.append(price)
            if progress is not None:
                progress(hi - start, end - start)
            lo = hi
        out.result.prices.sort()
        return out

    async def _chunk(self, start: int, end: int) -> A44Result:
        what = f"day-ahead prices {stamp(start)}..{stamp(end)} UTC for {self.zone}"
        params = {"securityToken": self._token.get_secret_value(), "documentType": "A44",
                  "in_Domain": self.zone, "out_Domain": self.zone,
                  "periodStart": stamp(start), "periodEnd": stamp(end)}
        for attempt in range(1, self._max_attempts + 1):
            wait: float | None = None
            try:
                response = await self._client.get(self.url, params=params)
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__} (no answer)"
            else:
                status = response.status_code
                if status in (401, 403):
                    raise PricesAuthError(TOKEN_HELP.format(status=status))
                if status == 200 or (400 <= status < 500 and status not in RATE_LIMITED):
                    self._backoff.succeeded()  # an answer, even "no data": the server is fine
                    try:
                        return parse(response.content)
                    except A44Error as exc:
                        raise PricesError(f"{what}: HTTP {status}: {exc}") from None
                reason = f"HTTP {status}"
                wait = parse_retry_after(response.headers.get("Retry-After"))
            if attempt == self._max_attempts:
                raise PricesUnavailable(f"{what}: {reason} after {attempt} attempts")
            await self._sleep(self._backoff.next_delay(wait))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._client.aclose()
