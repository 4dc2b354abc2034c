"""What `jullix-logger report` adds about Fluvius: which of the shown periods came (partly) from
the grid operator's quarter-hours, and the reconciliation of the logger's own quarter-hours with
Fluvius's (`ledger_reconciliation`): per period the difference per register and the
quarter-hours that differ by more than 1 Wh. Nothing is printed without imported data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from logger.core import fluvius_schema as schema
from logger.core.belgian_time import BRUSSELS
from logger.core.fluvius_schema import REGISTER_NAMES
from logger.ledger.periods import DAY, HOUR, MONTH, QUARTER

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


def lines(period: str, sources: list[Any], recs: list[tuple[str, Any]], quarters: list[Any]
          ) -> list[str]:
    """The report's Fluvius lines (none when nothing was imported or compared)."""
    from logger.ledger.reconcile import FIELDS

    out = []
    filled = [(r.time, r.values[0]) for r in sources if r.values[0]]
    if filled:
        shown = ", ".join(f"{_label(t, period)} ({pct:.0f} %)" for t, pct in filled[:6])
        more = f", and {len(filled) - 6} more" if len(filled) > 6 else ""
        out.append(f"From Fluvius (no logger readings of their own): {shown}{more}")
    for kind, r in recs:
        values = dict(zip(FIELDS, r.values, strict=True))
        compared, differing = int(values["compared_quarters"]), int(values["differing_quarters"])
        what = (f"{differing} of {compared} quarter-hours differ by more than 1 Wh" if differing
                else f"{compared} quarter-hours compared, none differs by more than 1 Wh")
        out.append(f"Fluvius check {_label(r.time, kind)}: {what}")
        if any(values.get(f"{g}_diff_kwh") for g in schema.ELECTRICITY):
            out.append(f"  logger - Fluvius: {_diffs(values)}")
    differing = [r for r in quarters if r.values[FIELDS.index("differing_quarters")]]
    for r in differing[:SHOWN_QUARTERS]:
        values = dict(zip(FIELDS, r.values, strict=True))
        out.append(f"  {_label(r.time, QUARTER)}: {_diffs(values)}")
    if len(differing) > SHOWN_QUARTERS:
        out.append(f"  ... and {len(differing) - SHOWN_QUARTERS} more quarter-hours")
    return out
