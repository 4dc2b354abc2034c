"""Where a line goes: the raw series into `[influx]`'s database/policy or bucket, the ledger into
its own retention policy (API v1) or bucket (API v2), so raw data may expire while the ledger is
kept forever.

The rule is by measurement name (every ledger measurement starts with `ledger_`), applied in the
writer: a ledger line is queued, retried and dead-lettered like any other, and the writer says
per target what happened, so a ledger place that is missing or forbidden parks the ledger's
lines (`logger.outbox.held`) instead of holding back the raw series behind them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from logger.config import InfluxSettings, Settings
from logger.sink.influxql import query_target, quote_ident
from logger.sink.writers import Outcome, Writer, WriteResult, database_limit, make_writer

LEDGER_PREFIX = "ledger_"


def ledger_influx(settings: Settings) -> InfluxSettings:
    """The `[influx]` settings with the ledger's target in place of the raw data's; its
    `raw_retention` (how long this target keeps what it holds) is `[ledger] retention`."""
    influx = settings.influx
    rp = settings.ledger.retention_policy
    if influx.api == "v2":
        database = influx.bucket.partition("/")[0]
        return influx.model_copy(update={"bucket": f"{database}/{rp}",
                                         "raw_retention": settings.ledger.retention})
    return influx.model_copy(update={"retention_policy": rp,
                                     "raw_retention": settings.ledger.retention})


def ledger_from(settings: Settings) -> str:
    """The InfluxQL `"db"."rp"` prefix the ledger's measurements are read with."""
    database, rp = query_target(ledger_influx(settings))
    return f"{quote_ident(database)}.{quote_ident(rp)}"


LEDGER_TARGET = "ledger"


def target_missing(result: WriteResult) -> bool:
    """Whether an answer says the ledger's place is missing or forbidden rather than that
    the server is unwell: a database/bucket not found (404), no right to write there
    (401/403), InfluxDB 1.x's HTTP 500 for a retention policy that does not exist, or
    InfluxDB 3's refusal to create one more database than it allows."""
    if result.status in (401, 403, 404) or database_limit(result.message):
        return True
    return (result.status or 0) >= 500 and "retention policy not found" in result.message


class RoutedWriter:
    """Splits each batch by target, writes each part to its place, and says per part what
    happened (issue 19: route per target, acknowledge per target).

    The raw series are the core: their answer is the batch's whenever every part answered
    alike. The ledger is an optional feature: when its place is missing or forbidden
    (`target_missing`), or marked unavailable (`ledger_down`, set by the service from the
    migrations), its lines come back as HOLD, so the delivery parks them (`Outbox.hold`) and
    the raw lines behind them keep flowing. A mixed answer is PARTIAL, with one part per
    target; the delivery acknowledges, parks, retries or bisects each part on its own.
    """

    def __init__(self, raw: Writer, ledger: Writer) -> None:
        self.raw = raw
        self.ledger = ledger
        self.ledger_down: str | None = None  # why the ledger's place cannot take lines now

    async def write(self, lines: Sequence[str]) -> WriteResult:
        ledger = [i for i, line in enumerate(lines) if line.startswith(LEDGER_PREFIX)]
        if not ledger:
            return await self.raw.write(lines)
        ledger_result = await self._write_ledger([lines[i] for i in ledger])
        if len(ledger) == len(lines):
            return ledger_result
        taken = set(ledger)
        raw = [i for i in range(len(lines)) if i not in taken]
        raw_result = await self.raw.write([lines[i] for i in raw])
        if raw_result.outcome is ledger_result.outcome and raw_result.outcome is not Outcome.HOLD:
            return raw_result
        return WriteResult(Outcome.PARTIAL, parts=((tuple(raw), raw_result),
                                                   (tuple(ledger), ledger_result)))

    async def _write_ledger(self, lines: list[str]) -> WriteResult:
        if self.ledger_down is None:
            result = await self.ledger.write(lines)
            if result.outcome is not Outcome.RETRY or not target_missing(result):
                return result
            self.ledger_down = (f"the ledger's place in InfluxDB cannot take writes (HTTP "
                                f"{result.status}: {result.message[:200]})")
        return WriteResult(Outcome.HOLD, None, self.ledger_down, target=LEDGER_TARGET)

    async def close(self) -> None:
        await asyncio.gather(self.raw.close(), self.ledger.close())


def make_routed_writer(settings: Settings) -> RoutedWriter:
    """The writer for the outbox's lines: raw series and ledger each to their target."""
    return RoutedWriter(make_writer(settings.influx), make_writer(ledger_influx(settings)))
