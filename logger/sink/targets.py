"""Where a line goes: the raw series into `[influx]`'s database/policy or bucket, the ledger into
its own retention policy (API v1) or bucket (API v2), so raw data may expire while the ledger is
kept forever.

The rule is by measurement name (every ledger measurement starts with `ledger_`), applied in the
writer: the outbox and the delivery stay unaware of targets, a ledger line is queued, retried and
dead-lettered like any other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from logger.config import InfluxSettings, Settings
from logger.sink.influxql import query_target, quote_ident
from logger.sink.writers import Outcome, Writer, WriteResult, make_writer

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


class RoutedWriter:
    """Splits each batch by target and writes both parts; the worst answer is the result.

    A part that succeeded is written again when the batch is retried: harmless, a point's
    identity makes the second write an overwrite with the same values.
    """

    def __init__(self, raw: Writer, ledger: Writer) -> None:
        self.raw = raw
        self.ledger = ledger

    async def write(self, lines: Sequence[str]) -> WriteResult:
        ledger = [line for line in lines if line.startswith(LEDGER_PREFIX)]
        if not ledger:
            return await self.raw.write(lines)
        raw = [line for line in lines if not line.startswith(LEDGER_PREFIX)]
        results = [await self.ledger.write(ledger)]
        if raw:
            results.append(await self.raw.write(raw))
        for outcome in (Outcome.RETRY, Outcome.REJECT):
            for result in results:
                if result.outcome is outcome:
                    return result
        return results[0]

    async def close(self) -> None:
        await asyncio.gather(self.raw.close(), self.ledger.close())


def make_routed_writer(settings: Settings) -> Writer:
    """The writer for the outbox's lines: raw series and ledger each to their target."""
    return RoutedWriter(make_writer(settings.influx), make_writer(ledger_influx(settings)))
