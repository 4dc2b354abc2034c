"""The ledger's use of imported Fluvius quarter-hours, run for one day or month at a time: read
them (`ledger_fluvius`, in the ledger's own retention policy), merge them into the day
(`logger.ledger.fluvius`), store the reconciliation (`logger.ledger.reconcile`) and note the
months that differ beyond `[fluvius] warn_wh` for `status`.
"""

from __future__ import annotations

from collections.abc import Callable

from logger.config import Settings
from logger.core import fluvius_schema as schema
from logger.core.point import Point
from logger.core.problems import Problems
from logger.ledger.fluvius import FluviusSpan, QuarterDiff, span_from_rows
from logger.ledger.periods import DAY, MONTH, QUARTER, local_label
from logger.ledger.reconcile import (
    FIELDS,
    MEASUREMENT,
    Reconciliation,
    from_fields,
    of_day,
    of_month,
    points,
)
from logger.outbox import keys
from logger.sink.ledger_reads import LedgerReads

READ_FIELDS = (schema.ENERGY_KWH, schema.ENERGY_STATUS, schema.VOLUME_M3, schema.VOLUME_STATUS)

Note = Callable[[str, str], None]


async def read_fluvius(reads: LedgerReads, settings: Settings, start: int, end: int
                       ) -> FluviusSpan | None:
    """The imported quarter-hours (and gas hours) of [start, end); None when there are none
    or `[fluvius] enabled` is off."""
    if not settings.fluvius.enabled:
        return None
    rows = await reads.ledger_rows(schema.MEASUREMENT, READ_FIELDS, start, end, {},
                                   ("ean", "register"))
    if not rows:
        return None
    return span_from_rows((dict(r.tags)["ean"], dict(r.tags)["register"], r.time, *r.values)
                          for r in rows)


def describe(rec: Reconciliation) -> str:
    """`import day -5 Wh, export night +2 Wh` (only the registers that differ)."""
    parts = [f"{schema.REGISTER_NAMES[g]} {wh:+d} Wh" for g, wh in rec.diffs.items() if wh]
    return ", ".join(parts) or "no difference"


class Reconciler:
    """This run's reconciled days (to sum their months), their points and the notes."""

    def __init__(self, settings: Settings, reads: LedgerReads, problems: Problems,
                 note: Note) -> None:
        self.settings = settings
        self.reads = reads
        self.problems = problems
        self.note = note
        self.installation = settings.installation
        self._days: dict[int, Reconciliation] = {}

    def clear(self) -> None:
        self._days.clear()

    def several_eans(self, span: FluviusSpan, start: int) -> None:
        if span.several_eans:
            self.problems.report(
                keys.FLUVIUS_SEVERAL_EANS, "ledger: Fluvius quarter-hours of several EANs on %s "
                "(%s): the one with the most quarters is used", local_label(start, DAY),
                ", ".join(span.several_eans))

    async def day_points(self, start: int, end: int, compared: list[QuarterDiff]
                         ) -> list[Point]:
        """The day's reconciliation points (none when nothing was compared)."""
        rec = of_day(start, compared)
        if rec is None:
            return []
        stored = await self.reads.ledger_rows(MEASUREMENT, ("differing_quarters",), start, end,
                                              {"period": QUARTER})
        self._days[start] = rec
        return points(rec, self.installation, [r.time for r in stored if r.values[0]])

    async def month_points(self, start: int, end: int) -> list[Point]:
        """The month from its days' reconciliations (stored and this run's); the note."""
        stored = await self.reads.ledger_rows(MEASUREMENT, FIELDS, start, end, {"period": DAY})
        days = {r.time: from_fields(DAY, r.time, dict(zip(FIELDS, r.values, strict=True)))
                for r in stored}
        days.update({s: d for s, d in self._days.items() if start <= s < end})
        for s in [s for s in self._days if start <= s < end]:
            del self._days[s]
        rec = of_month(start, days.values())
        if rec is None:
            return []
        label = local_label(start, MONTH)
        if rec.largest_total() > self.settings.fluvius.warn_wh:
            text = (f"Fluvius {label}: the ledger differs from Fluvius's quarter-hours by more "
                    f"than {self.settings.fluvius.warn_wh:g} Wh ({describe(rec)}; "
                    f"{rec.differing_count} of {rec.compared} quarter-hours differ): "
                    f"`jullix-logger report --month {label}` lists them")
            self.problems.report(keys.FLUVIUS_MISMATCH, "ledger: %s", text)
            self.note(keys.fluvius_mismatch(label), text)
        else:
            self.note(keys.fluvius_mismatch(label), "")
        return points(rec, self.installation)
