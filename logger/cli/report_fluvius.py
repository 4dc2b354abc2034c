"""What `jullix-logger report` adds about Fluvius: which of the shown periods came (partly) from
the grid operator's quarter-hours, and the reconciliation of the logger's own quarter-hours with
Fluvius's (`ledger_reconciliation`): per period the difference per register and the
quarter-hours that differ by more than 1 Wh. Nothing is printed without imported data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logger.core import fluvius_schema as schema
from logger.core.belgian_time import BRUSSELS, day_bounds
from logger.core.fluvius_schema import REGISTER_NAMES
from logger.ledger.periods import DAY, HOUR, MONTH, QUARTER, month_bounds

SHOWN_QUARTERS = 12


async def fetch(settings: Any, start: int, end: int, period: str, total: str
                ) -> tuple[list[Any], list[tuple[str, Any]], list[Any]]:
    """(rows of `period` with their fluvius_pct, reconciliations of the periods shown and of
    the total, differing quarters)."""
    from logger.app.ledger_job import make_reads
    from logger.ledger.points import ENERGY
    from logger.ledger.reconcile import FIELDS, MEASUREMENT
    from logger.sink.influxql import InfluxQL

    ql = InfluxQL(settings.influx)
    try:
        reads = make_reads(settings, ql)
        sources = await reads.ledger_rows(ENERGY, ("fluvius_pct",), start, end,
                                          {"period": period})
        recs = []
        for kind in dict.fromkeys(k for k in (total or period, period) if k != HOUR):
            recs += [(kind, r) for r in await reads.ledger_rows(MEASUREMENT, FIELDS, start, end,
                                                                 {"period": kind})]
        quarters = await reads.ledger_rows(MEASUREMENT, FIELDS, start, end, {"period": QUARTER})
        return sources, recs, quarters
    finally:
        await ql.close()


def _label(t: int, kind: str) -> str:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.strftime({MONTH: "%Y-%m", DAY: "%Y-%m-%d"}.get(kind, "%Y-%m-%d %H:%M"))


def _diffs(values: dict[str, Any]) -> str:
    parts = [f"{name} {round(values[f'{g}_diff_kwh'] * 1000):+d} Wh"
             for g, name in REGISTER_NAMES.items() if values.get(f"{g}_diff_kwh")]
    return ", ".join(parts) or "0 Wh on every register"


def _runs(period: str, sources: list[Any]) -> list[str]:
    """Consecutive periods with the same share from Fluvius as one range: `00:00-05:00 (100 %)`."""
    runs: list[list[Any]] = []
    for r in sources:
        if r.values[0] and runs and runs[-1][-1] is not None and runs[-1][0][1] == r.values[0]:
            runs[-1].append((r.time, r.values[0]))
        elif r.values[0]:
            runs.append([(r.time, r.values[0])])
        elif runs:
            runs[-1].append(None)  # a period without: the next one starts a new range
    out = []
    for run in runs:
        run = [x for x in run if x is not None]
        first, last = _label(run[0][0], period), _label(run[-1][0], period)
        if period == HOUR:  # hours as a clock range: 00:00-06:00 is six hours
            first, last = first[-5:], _label(run[-1][0] + 3600, period)[-5:]
            out.append(f"{first}-{last} ({run[0][1]:.0f} %)")
        else:
            out.append(f"{first}{'' if len(run) == 1 else ' to ' + last} ({run[0][1]:.0f} %)")
    return out


def _ends(kind: str, start: int) -> int:
    day = datetime.fromtimestamp(start, BRUSSELS).date()
    return month_bounds(day)[1] if kind == MONTH else day_bounds(day)[1]


def lines(period: str, sources: list[Any], recs: list[tuple[str, Any]], quarters: list[Any]
          ) -> list[str]:
    """The report's Fluvius lines (none when nothing was imported or compared): the periods
    taken from Fluvius, each reconciliation, and under the finest one its differing quarters."""
    from logger.ledger.reconcile import FIELDS

    out = []
    ranges = _runs(period, sources)
    if ranges:
        shown = ", ".join(ranges[:6]) + (f", and {len(ranges) - 6} more" if len(ranges) > 6
                                         else "")
        out.append(f"From Fluvius (no logger readings of their own): {shown}")
    finest = DAY if period == HOUR else period
    differing = [r for r in quarters if r.values[FIELDS.index("differing_quarters")]]
    for kind, r in recs:
        values = dict(zip(FIELDS, r.values, strict=True))
        compared, count = int(values["compared_quarters"]), int(values["differing_quarters"])
        what = (f"{count} of {compared} quarter-hours differ by more than 1 Wh" if count
                else f"{compared} quarter-hours compared, none differs by more than 1 Wh")
        out.append(f"Fluvius check {_label(r.time, kind)}: {what}")
        if any(values.get(f"{g}_diff_kwh") for g in schema.ELECTRICITY):
            out.append(f"  logger - Fluvius: {_diffs(values)}")
        if kind != finest:
            continue
        inside = [q for q in differing if r.time <= q.time < _ends(kind, r.time)]
        for q in inside[:SHOWN_QUARTERS]:
            out.append(f"  {_label(q.time, QUARTER)}: "
                       f"{_diffs(dict(zip(FIELDS, q.values, strict=True)))}")
        if len(inside) > SHOWN_QUARTERS:
            out.append(f"  ... and {len(inside) - SHOWN_QUARTERS} more quarter-hours")
    return out
