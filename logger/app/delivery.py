"""Moving committed points from the outbox into InfluxDB: the one delivery path.

Rows are deleted only after a 2xx. A link or server problem keeps them and backs off; a batch the
server rejects is split in halves until the points it refuses are isolated, so one bad point never
condemns the rest. Those are moved to the dead-letter table with the server's message. The
service's flush job and `jullix-logger backfill` both deliver through here.

Budgets (issue 13): one drain stops at its `deadline` (checked between requests, bisection
included; the service also bounds the whole flush with `asyncio.wait_for`, so a server that
trickles bytes cannot hold it), and spends at most `BISECT_REQUESTS` requests on splitting
rejected batches: 5,000 refused points then cost many short flushes, not one of 9,999 requests.
What a budget leaves stays queued for the next drain.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from logger.config import Settings
from logger.core.backoff import Backoff
from logger.core.logs import get_logger
from logger.outbox import Outbox, Row, keys
from logger.outbox.lock import OutboxLock
from logger.sink.gate import SinkGate
from logger.sink.writers import Outcome, Writer, WriteResult

log = get_logger(__name__)

BISECT_REQUESTS = 64  # requests one drain may spend isolating refused points
PURGE_ROWS = 10_000  # confirmed rows of a drained backlog deleted per drain (~30 ms here)
SEND_STEPS = 8  # loop turns for httpx to put a request on the wire before the next read


def open_outbox(settings: Settings) -> Outbox:
    """The outbox as `[outbox]` configures it, to drain (the service's and the commands'):
    locked for this process (`logger.outbox.lock`), OutboxBusy when another one drains it."""
    box = settings.outbox
    lock = OutboxLock(box.path).acquire()
    try:
        return Outbox(box.path, box.max_mb, box.overflow, commit_interval=box.commit_interval,
                      dead_letter_max=box.dead_letter_max, dead_letter_days=box.dead_letter_days,
                      lock=lock)
    except BaseException:
        lock.release()
        raise


@dataclass
class DrainReport:
    written: int = 0
    dead_lettered: int = 0
    held: int = 0  # lines parked because their target could not take them
    requests: int = 0
    bisect_requests: int = 0
    out_of_budget: bool = False  # stopped by the deadline or the bisection budget
    retry: WriteResult | None = None
    rejected_messages: list[str] = field(default_factory=list)


class Delivery:
    """Drains the outbox into one writer, respecting backoff."""

    def __init__(self, outbox: Outbox, writer: Writer, batch_size: int = 5000) -> None:
        self.outbox = outbox
        self.writer = writer
        self.batch_size = batch_size
        self.backoff = Backoff()
        self.healthy = True
        self.last_success: float | None = None
        self._last_problem: str | None = None
        self._last_hold: dict[str, str] = {}  # target -> the reason last logged
        self._deadline: float | None = None

    async def drain(self, deadline: float | None = None, force: bool = False) -> DrainReport:
        """Send committed rows until the outbox is empty, the server refuses, or `deadline`.

        `deadline` is a `time.monotonic()` value; `force` ignores the backoff gate (used once
        at shutdown, where waiting is pointless).
        """
        report = DrainReport()
        if not force and not self.backoff.ready():
            return report
        self._deadline = deadline
        while not self._out_of_time(report):
            rows = self.outbox.peek(self.batch_size)
            if not rows:
                break
            if self._full_committed(rows):
                if not await self._pipeline(rows, report):
                    break
            elif not await self._send(rows, report):
                break
        if self.outbox.confirmed.waiting and not report.out_of_budget:
            # A drained backlog's confirmed rows (`logger.outbox.confirmed`), invisible to every
            # reader: deleted a chunk per drain that ended within its budget (the queue ran dry,
            # or InfluxDB asked us to wait), never while a backlog is still being sent, so the
            # drain leaves the CPU to InfluxDB.
            await asyncio.to_thread(self.outbox.purge_confirmed, PURGE_ROWS)
        if report.written:
            now = time.time()
            self.last_success = now
            self.outbox.set_meta(keys.LAST_WRITE_OK, f"{now:.3f}")
            self.outbox.set_meta(keys.LAST_WRITE_POINTS, str(report.written))
        return report

    def _out_of_time(self, report: DrainReport) -> bool:
        if self._deadline is not None and time.monotonic() >= self._deadline:
            report.out_of_budget = True
        return report.out_of_budget

    async def _send(self, rows: Sequence[Row], report: DrainReport, split: bool = False
                    ) -> bool:
        """Write rows, bisecting on rejection; False when the server asked us to wait or a
        budget ran out (the rows not yet written stay queued)."""
        if split:
            if self._out_of_time(report) or report.bisect_requests >= BISECT_REQUESTS:
                report.out_of_budget = True
                return False
            report.bisect_requests += 1
        result = await self.writer.write([row.line for row in rows])
        report.requests += 1
        if result.outcome is Outcome.OK:
            self._acknowledge(rows, report)
            return True
        return await self._not_written(rows, result, report)

    def _acknowledge(self, rows: Sequence[Row], report: DrainReport) -> None:
        self.outbox.ack(rows)
        self.outbox.count(keys.POINTS_WRITTEN, len(rows))
        report.written += len(rows)
        self._recovered()

    def _full_committed(self, rows: Sequence[Row]) -> bool:
        return len(rows) == self.batch_size and rows[-1].id is not None

    async def _pipeline(self, rows: Sequence[Row], report: DrainReport) -> bool:
        """A backlog: full committed batches back to back, the disk work overlapped with the
        wire. While batch N is POSTed, one worker thread records batch N-1 as confirmed (moves
        the watermark of `logger.outbox.confirmed`: one small row, not 5,000 deletions) and
        reads batch N+1 through a second connection; the loop only sends. Batches are plain
        (id, line) tuples here; ends at a batch that is not full and committed, or that
        InfluxDB did not confirm (then handled as `_send` does, row by row); returns like
        `_send`."""
        batch = [(row.id, row.line) for row in rows if row.id is not None]
        lines = [line for _, line in batch]
        acked: list[tuple[int, str]] = []
        try:
            while True:
                posting = asyncio.create_task(self.writer.write(lines))
                try:
                    for _ in range(SEND_STEPS):  # let the request reach the wire first
                        await asyncio.sleep(0)
                    freed, following, next_lines = await asyncio.to_thread(
                        self._disk_work, acked, batch[-1][0])
                finally:
                    result = await posting
                acked = []
                self.outbox.forget_bytes(freed)
                report.requests += 1
                if result.outcome is not Outcome.OK:
                    return await self._not_written([Row(i, line) for i, line in batch], result,
                                                   report)
                acked = batch
                self.outbox.count(keys.POINTS_WRITTEN, len(batch))
                report.written += len(batch)
                self._recovered()
                if self._out_of_time(report) or len(following) < self.batch_size:
                    return True
                batch, lines = following, next_lines
        finally:
            if acked:
                self.outbox.forget_bytes(self.outbox.ack_committed(acked))

    def _disk_work(self, acked: Sequence[tuple[int, str]], last_id: int
                   ) -> tuple[int, list[tuple[int, str]], list[str]]:
        """In a worker thread: confirm the previous batch, read the next one and its lines."""
        freed = self.outbox.ack_committed(acked)
        following = self.outbox.peek_committed_after(last_id, self.batch_size)
        return freed, following, [line for _, line in following]

    async def _not_written(self, rows: Sequence[Row], result: WriteResult, report: DrainReport
                           ) -> bool:
        """A batch InfluxDB did not take: wait (RETRY), bisect to isolate refused points
        (REJECT), park the lines of a target that cannot take them (HOLD), or each target's
        part on its own (PARTIAL). False when the server asked us to wait."""
        if result.outcome is Outcome.PARTIAL:
            go_on = True
            for indices, part in result.parts:
                subset = [rows[i] for i in indices]
                if part.outcome is Outcome.OK:
                    self._acknowledge(subset, report)
                elif not await self._not_written(subset, part, report):
                    go_on = False
            return go_on
        if result.outcome is Outcome.HOLD:
            self._hold(rows, result, report)
            return True
        self.outbox.count(keys.write_errors(error_class(result)))
        if result.outcome is Outcome.RETRY:
            report.retry = result
            self._failed(result)
            return False
        if len(rows) == 1:
            self.outbox.dead_letter(rows, result.message, result.status)
            report.dead_lettered += 1
            report.rejected_messages.append(result.message)
            log.error(
                "InfluxDB rejected a point for good (HTTP %s: %s); moved to the dead-letter "
                "table: %s",
                result.status,
                result.message,
                rows[0].line[:200],
            )
            return True
        middle = len(rows) // 2
        return (await self._send(rows[:middle], report, split=True)
                and await self._send(rows[middle:], report, split=True))

    def _hold(self, rows: Sequence[Row], result: WriteResult, report: DrainReport) -> None:
        """Park lines whose target cannot take them (`Outbox.hold`): the rest keeps flowing."""
        self.outbox.hold(rows, result.target, result.message)
        report.held += len(rows)
        if self._last_hold.get(result.target) != result.message:
            log.warning("%s; its lines are parked apart and everything else is delivered: "
                        "they are sent again once it works (`jullix-logger status` counts "
                        "them)", result.message)
            self._last_hold[result.target] = result.message

    def _failed(self, result: WriteResult) -> None:
        delay = self.backoff.failed(result.retry_after)
        self.healthy = False
        problem = _describe(result)
        if problem != self._last_problem:
            log.warning(
                "InfluxDB write failed (%s); keeping %d points in the outbox, retrying in %.0f s "
                "and backing off",
                problem,
                self.outbox.depth(),
                delay,
            )
            self._last_problem = problem
        else:
            log.debug("InfluxDB still failing (%s); next try in %.1f s", problem, delay)

    def _recovered(self) -> None:
        if not self.healthy:
            log.info("InfluxDB writes work again after %d failed attempts", self.backoff.failures)
        self.backoff.succeeded()
        self.healthy = True
        self._last_problem = None


def error_class(result: WriteResult) -> str:
    """The class a failed write is counted under (`write_errors.<class>` in `status` and
    `/metrics`): what an operator would do differently about it."""
    status = result.status
    if result.outcome is Outcome.REJECT:
        return "rejected"  # the content: bisected, the bad points dead-lettered
    if status is None:
        text = result.message.lower()
        return "timeout" if "timeout" in text or "timed out" in text else "unreachable"
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status in (408, 429):
        return "throttled"
    return "server_error" if status >= 500 else f"http_{status}"


def _describe(result: WriteResult) -> str:
    if result.status is None:
        return result.message or "no answer"
    hint = ""
    if result.status in (401, 403):
        hint = "; check the token or username/password"
    elif result.status == 404:
        hint = "; does the database/bucket exist? `jullix-logger check` tells"
    return f"HTTP {result.status}: {result.message[:200]}{hint}"


async def deliver_all(outbox: Outbox, gate: SinkGate, delivery: Delivery, timeout: float
                      ) -> DrainReport:
    """Deliver everything committed, waiting out backoffs, for at most `timeout` seconds.

    For one-shot commands (`backfill`): the same gate (migrations first) and the same delivery
    as the service's flush job, run to the end instead of once a second. What is left when the
    time is up stays in the outbox for the service (or the next command) to deliver.
    """
    total = DrainReport()
    deadline = time.monotonic() + timeout
    while outbox.depth() and time.monotonic() < deadline:
        if await gate.ensure():
            report = await delivery.drain(deadline=deadline)
            total.written += report.written
            total.dead_lettered += report.dead_lettered
            total.requests += report.requests
            total.retry = report.retry
            if not (report.retry or report.written or report.dead_lettered or report.held):
                break  # nothing moved and nothing to wait for
            not_before = delivery.backoff.not_before
        else:
            not_before = gate.backoff.not_before
        await asyncio.sleep(max(0.05, min(not_before - time.monotonic(),
                                          deadline - time.monotonic())))
    outbox.commit()  # the meta (last write) and counters the drain recorded
    return total
