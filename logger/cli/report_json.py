"""`report --json`: the ledger for scripts, one object per period (docs/report-json.md).

Every object carries every ledger field (null where the ledger has none), named as in the
schema with the unit in the name (`_kwh`, `_w`, `_m3`, `_pct`, `_s`), and the document's
`units` says each unit once more. `document` takes a `decorate` callback that other views use to
add their own keys to each period object (the cost engine adds `cost`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from logger.cli.report_data import ENERGY_UNITS, PEAK_UNITS, Ledger, Period
from logger.core.belgian_time import BRUSSELS

FORMAT_VERSION = 1
Decorate = Callable[[dict[str, Any], Period], None]


def iso(epoch: int | float | None) -> str | None:
    """Belgian local time with its offset: `2026-11-26T00:00:00+01:00`."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(int(epoch), BRUSSELS).isoformat()


def period_object(period: Period) -> dict[str, Any]:
    """One period: its kind, start and end (Belgian time, and epoch seconds), every field."""
    obj: dict[str, Any] = {"period": period.kind, "start": iso(period.start),
                           "end": iso(period.end), "start_s": period.start,
                           "end_s": period.end}
    for name in ENERGY_UNITS:
        value = period.values.get(name)
        obj[name] = bool(value) if name == "estimated" and value is not None else value
    obj["peak_start"] = iso(period.values.get("peak_start_s"))
    return obj


def peak_object(start: int, fields: dict[str, Any]) -> dict[str, Any]:
    obj: dict[str, Any] = {"month": datetime.fromtimestamp(start, BRUSSELS).strftime("%Y-%m"),
                           "start": iso(start), "start_s": start}
    for name in PEAK_UNITS:
        value = fields.get(name)
        obj[name] = bool(value) if name == "estimated" and value is not None else value
    obj["peak_start"] = iso(fields.get("peak_start_s"))
    return obj


def document(installation: str, view: str, title: str, start: int, end: int, ledger: Ledger,
             decorate: Decorate | None = None) -> dict[str, Any]:
    """The whole `--json` answer; `decorate(obj, period)` may add keys to each period object
    (the rows and the total)."""
    def shaped(period: Period) -> dict[str, Any]:
        obj = period_object(period)
        if decorate is not None:
            decorate(obj, period)
        return obj

    return {
        "format": FORMAT_VERSION,
        "installation": installation,
        "view": view,
        "title": title,
        "start": iso(start), "end": iso(end), "start_s": start, "end_s": end,
        "units": {**ENERGY_UNITS, **{f"capacity_tariff.{k}": v for k, v in PEAK_UNITS.items()},
                  "start": "ISO 8601, Belgian local time", "start_s": "epoch s"},
        "periods": [shaped(row) for row in ledger.rows],
        "total": shaped(ledger.total) if ledger.total is not None else None,
        "capacity_tariff": [peak_object(s, f) for s, f in sorted(ledger.peaks.items())],
    }
