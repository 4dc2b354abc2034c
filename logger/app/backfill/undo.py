"""`jullix-logger backfill --undo`: take a backfill back.

The cloud points are a series of their own (`power_flow`, `source=cloud`), so undoing is
removing that series in a time range, and nothing else: the local points, the meter and other
installations stay. The backfill state forgets the gaps of the range too, so a later backfill
fetches them again (the scheduled one will, within its lookback window, unless `[backfill]
enabled = false`). Cloud realtime (`[cloud] realtime`) writes the same series; its points in
the range go as well.

Where the server cannot delete points of a range (InfluxDB 3, Cloud Serverless), nothing is
removed and nothing forgotten: the result says why (`refused`) and what would have gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from logger.app.backfill.run import local_series
from logger.app.backfill.state import STATE_FILE, BackfillState
from logger.config import Settings
from logger.sink.erase import DeleteRefused, count_points, delete_points, refusal
from logger.sink.influxql import InfluxQL


@dataclass
class UndoResult:
    start: int
    end: int
    found: int  # cloud points in the range before
    left: int  # after (0 unless the server kept some)
    forgotten: int = 0  # backfill state records dropped
    dry_run: bool = False
    refused: str = ""  # why this server removed nothing (it cannot delete points of a range)


async def undo_backfill(settings: Settings, since: datetime, until: datetime,
                        dry_run: bool = False) -> UndoResult:
    """Remove the `source=cloud` power_flow points of [since, until); QueryError on failure."""
    start, end = int(since.timestamp()), int(until.timestamp())
    series = local_series(settings.installation, source="cloud")
    ql = InfluxQL(settings.influx)
    try:
        found = await count_points(ql, series, start, end)
        result = UndoResult(start, end, found, found, dry_run=dry_run)
        if dry_run:
            result.refused = refusal(await ql.flavour(), series) or ""
            return result
        if found:
            try:
                await delete_points(settings.influx, ql, series, start, end)
            except DeleteRefused as exc:
                result.refused = str(exc)
                return result
            result.left = await count_points(ql, series, start, end)
    finally:
        await ql.close()
    state = BackfillState(settings.outbox.path.parent / STATE_FILE, settings.installation)
    result.forgotten = state.forget(start, end)
    if result.forgotten:
        state.save()
    return result
