"""A fake ENTSO-E Transparency Platform (`GET /entsoe/api?documentType=A44&...`), so every path of
the price fetch is tested without the internet.

It answers like the platform: the security token in `securityToken` (else 401 with a small HTML
page); `documentType=A44`, `in_Domain` = `out_Domain`, `periodStart`/`periodEnd` as
yyyymmddHHMM UTC (else 400 with an acknowledgement naming the problem); at most a year per query;
whole delivery days that overlap the window, each published at 13:00 Brussels time the day before
(by the simulator's clock) - asking earlier, or for a day it never published, gives the
acknowledgement "No matching data found". Prices: `day_ahead` (PT60M before 2025-10-01, PT15M
from then, A03).

Misbehaviour on demand through `POST /_sim/entsoe`: `{"status": 503, "count": 2,
"retry_after": "1"}` (429 and 5xx too), `{"missing_days": ["2026-03-29"]}` (never published),
`{"both_resolutions": true}` (a PT60M series beside each PT15M one), `{"duplicate": true}`,
`{"reset": true}`. `GET /_sim/entsoe` lists the faults and every request answered (its period,
zone and status; never the token).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .clock import SimClock
from .day_ahead import acknowledgement, day_bounds, publication
from .fault_changes import apply_changes, http_error_status
from .httpserver import Request, Response
from .model import BRUSSELS

PREFIX = "/entsoe/api"
PUBLISHED_AT = (13, 0)  # Brussels time on the day before delivery
MAX_SPAN_S = 366 * 86400


@dataclass
class EntsoeFaults:
    status: int | None = None
    count: int | None = None
    retry_after: str | None = None
    missing_days: list[str] = field(default_factory=list)
    both_resolutions: bool = False
    duplicate: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        apply_changes(self, changes, "entsoe", {
            "status": http_error_status,
            "missing_days": lambda days: [date.fromisoformat(str(d)).isoformat() for d in days],
        })


def _parse_stamp(text: str) -> int:
    return int(datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=UTC).timestamp())


class EntsoeApi:
    """Handler for `/entsoe/api`."""

    def __init__(self, clock: SimClock, seed: int, token: str) -> None:
        self.clock = clock
        self.seed = seed
        self.token = token
        self.faults = EntsoeFaults()
        self.requests: list[dict[str, Any]] = []

    def control(self, method: str, body: dict[str, Any] | None) -> dict[str, Any]:
        if method == "POST":
            self.faults.update(body or {})
        return {"faults": self.faults.__dict__, "requests": self.requests}

    def _answer(self, status: int, body: str, params: dict[str, str],
                content_type: str = "text/xml", headers: dict[str, str] | None = None
                ) -> Response:
        self.requests.append({key: params.get(key) for key in
                              ("periodStart", "periodEnd", "in_Domain", "documentType")}
                             | {"status": status})
        return Response(status, body.encode(), content_type, headers or {})

    def published(self, day: date) -> bool:
        """Whether delivery day `day` is public at the simulator's now."""
        if day.isoformat() in self.faults.missing_days:
            return False
        before = day - timedelta(days=1)
        at = datetime(before.year, before.month, before.day, *PUBLISHED_AT, tzinfo=BRUSSELS)
        return self.clock.now() >= at

    async def handle(self, request: Request) -> Response:
        params = {k: v[0] for k, v in request.query.items() if v}
        now = self.clock.now()
        token = params.get("securityToken", "")
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return self._answer(401, "<html><body><h1>Unauthorized</h1></body></html>", params,
                                "text/html")
        f = self.faults
        if f.status is not None and (f.count is None or f.count > 0):
            status = f.status
            if f.count is not None:
                f.count -= 1
                if f.count == 0:
                    f.status = f.count = None
            headers = {"Retry-After": f.retry_after} if f.retry_after else {}
            return self._answer(status, f"<html><body>{status}</body></html>", params,
                                "text/html", headers)
        problem = self._problem(params)
        if problem:
            return self._answer(400, acknowledgement(problem, now), params)
        start, end = _parse_stamp(params["periodStart"]), _parse_stamp(params["periodEnd"])
        first = datetime.fromtimestamp(start, BRUSSELS).date()
        last = datetime.fromtimestamp(end - 1, BRUSSELS).date()
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        days = [d for d in days if self.published(d)]
        if not days:
            return self._answer(200, acknowledgement(
                "No matching data found for Data item ENERGY_PRICES [12.1.D] "
                f"({params['in_Domain']}, {params['out_Domain']}) and interval "
                f"{datetime.fromtimestamp(start, UTC):%Y-%m-%dT%H:%M:%SZ}/"
                f"{datetime.fromtimestamp(end, UTC):%Y-%m-%dT%H:%M:%SZ}.", now), params)
        body = publication(self.seed, params["in_Domain"], days, now,
                           both_resolutions=f.both_resolutions, duplicate=f.duplicate)
        assert all(day_bounds(d)[0] < end for d in days)
        return self._answer(200, body, params)

    @staticmethod
    def _problem(params: dict[str, str]) -> str | None:
        for name in ("documentType", "in_Domain", "out_Domain", "periodStart", "periodEnd"):
            if name not in params:
                return f"Mandatory parameter {name} is missing."
        if params["documentType"] != "A44":
            return f"documentType {params['documentType']} is not served by this simulator."
        if params["in_Domain"] != params["out_Domain"]:
            return "For A44 in_Domain and out_Domain must be the same bidding zone."
        try:
            start, end = _parse_stamp(params["periodStart"]), _parse_stamp(params["periodEnd"])
        except ValueError:
            return "periodStart and periodEnd must be yyyyMMddHHmm."
        if end <= start:
            return "periodEnd must be after periodStart."
        if end - start > MAX_SPAN_S:
            return "The amount of requested data exceeds allowed limit (1 year)."
        return None
