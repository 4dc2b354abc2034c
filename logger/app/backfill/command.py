"""`jullix-logger backfill` by hand: the same run as the service's job, the same outbox, the
same delivery.

Points fetched from the cloud are committed to the outbox (the service's, from the same config)
before the gap is recorded as fetched, then delivered through the migration gate and `Delivery`,
so a point written by hand is as durable and as deduplicated as one written by the service: a
kill in the middle leaves the fetched points in the outbox, and a rerun (or the running service)
delivers them; nothing is written twice because every point's identity is stable. While the
service runs on the same outbox (`logger.outbox.lock`), the points are handed to it
(`logger.outbox.handoff`, committed just the same) and the service delivers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from logger.app import facts
from logger.app.backfill.absent import absent_devices
from logger.app.backfill.report import BackfillReport, record_failure, record_run
from logger.app.backfill.run import Backfill, Progress
from logger.app.delivery import Delivery, deliver_all, open_outbox
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.outbox import Outbox, keys
from logger.outbox.handoff import OutboxHandoff
from logger.outbox.lock import OutboxBusy
from logger.sink.gate import SinkGate
from logger.sink.influxql import InfluxQL, QueryError
from logger.sink.targets import ledger_influx, make_routed_writer
from logger.sources.cloud.client import CloudAuthError, CloudClient, CloudError

log = get_logger(__name__)

DELIVERY_TIMEOUT = 300.0  # then the rest waits in the outbox for the service


@dataclass
class CommandResult:
    report: BackfillReport | None = None
    error: str = ""  # why the run stopped ("" when it ran to its end)
    delivered: int = 0  # points InfluxDB confirmed during this command (or handed over)
    left: int = 0  # points still in the outbox afterwards
    handed_to: int | None = None  # the running service's pid, when the points went to it

    @property
    def ok(self) -> bool:
        return not self.error


async def backfill_by_hand(settings: Settings, since: datetime | None, until: datetime | None,
                           dry_run: bool, progress: Progress | None = None,
                           client: CloudClient | None = None) -> CommandResult:
    """Find the gaps, fetch them, commit the points, deliver them (see the module doc).

    `client` is a ready cloud client to use (and close) instead of one built from the settings.
    """
    result = CommandResult()
    ql = InfluxQL(settings.influx)
    if dry_run:  # reads only: no cloud client, no outbox, nothing written
        try:
            result.report = await Backfill(settings, ql, None, _refuse, Problems(log)).run(
                since, until, dry_run=True)
        except QueryError as exc:
            result.error = f"failed: {exc}"
        finally:
            await ql.close()
        return result
    if client is None:
        client = CloudClient(settings.cloud.url, settings.cloud.token,
                             timeout=settings.cloud.timeout)
    outbox: Outbox | OutboxHandoff
    try:
        outbox = open_outbox(settings)
    except OutboxBusy as busy:  # the service drains it: hand the points over
        outbox, result.handed_to = OutboxHandoff(settings.outbox.path), busy.pid or 0
    problems = Problems(log, on_count=outbox.count)

    async def emit(points: list[Point]) -> None:
        outbox.put(points, source="backfill")
        outbox.count(keys.BACKFILL_POINTS, len(points))
        outbox.commit()  # durable before the gap is recorded as fetched

    delivery = Delivery(outbox, make_routed_writer(settings), settings.influx.batch_size
                        ) if isinstance(outbox, Outbox) else None
    try:
        try:
            backfill = Backfill(settings, ql, client, emit, problems, progress,
                                known_absent=lambda: absent_devices(outbox))
            result.report = await backfill.run(since, until)
        except CloudAuthError as exc:
            result.error = f"stopped: {exc}"
            facts.record_cloud(outbox, "stopped", str(exc))
        except (CloudError, QueryError) as exc:
            result.error = f"failed: {exc}"
            if isinstance(exc, CloudError):
                facts.record_cloud(outbox, "failing", f"backfill: {exc}")
        if result.report is not None:
            record_run(outbox, result.report)
            if result.report.api_calls and not result.error:
                facts.record_cloud(outbox, "ok", "backfill history answered")
        else:
            record_failure(outbox, result.error)
        if isinstance(outbox, OutboxHandoff):
            outbox.commit()
            result.delivered = outbox.handed
        elif delivery is not None:
            gate = SinkGate(settings.influx, ledger_influx(settings))
            report = await deliver_all(outbox, gate, delivery, DELIVERY_TIMEOUT)
            result.delivered = report.written
            result.left = outbox.depth()
    finally:
        await ql.close()
        if delivery is not None:
            await delivery.writer.close()
        await client.close()
        outbox.close()
    return result


async def _refuse(points: list[Point]) -> None:
    raise AssertionError("a dry run writes nothing")
