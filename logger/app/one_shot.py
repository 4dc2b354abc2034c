"""A one-shot command's way into InfluxDB (`prices fetch`, `prices import`, `cost`): points go
through the outbox, the migration gate and the delivery exactly as the service's do, so a point
written by hand is as durable and as deduplicated as the service's; a dry run opens nothing.
While the service runs on the same outbox (`logger.outbox.lock`), the points are handed to it
(`logger.outbox.handoff`: committed just the same) and the service delivers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logger.app.delivery import Delivery, deliver_all, open_outbox
from logger.config import Settings
from logger.core.point import Point
from logger.outbox import Outbox
from logger.outbox.handoff import OutboxHandoff
from logger.outbox.lock import OutboxBusy
from logger.sink.gate import SinkGate
from logger.sink.targets import ledger_influx, make_routed_writer

DELIVERY_TIMEOUT = 600.0


class NotReady(Exception):
    """InfluxDB cannot take writes yet (unreachable, not migrated); the text says why."""


@dataclass
class Delivered:
    queued: int = 0
    written: int = 0  # confirmed by InfluxDB (or, with `handed_to`, handed to the service)
    left: int = 0  # still in the outbox (the service delivers them later)
    handed_to: int | None = None  # the running service's pid, when the points went to it


class OneShot:
    """`async with OneShot(settings, dry_run) as out: out.put(points)`; then `out.result`."""

    def __init__(self, settings: Settings, dry_run: bool = False) -> None:
        self.settings = settings
        self.dry_run = dry_run
        self.outbox: Outbox | OutboxHandoff | None = None
        self.gate = SinkGate(settings.influx, ledger_influx(settings))
        self.result = Delivered()

    async def __aenter__(self) -> OneShot:
        if self.dry_run:
            return self
        if not self.settings.influx.configured:
            raise NotReady("[influx] url is empty: nothing to write into")
        if not await self.gate.ensure():
            raise NotReady(f"InfluxDB is not ready ({self.gate.state}); nothing was written")
        try:
            self.outbox = open_outbox(self.settings)
        except OutboxBusy as busy:  # the service drains it: hand the points over to it
            self.outbox = OutboxHandoff(self.settings.outbox.path)
            self.result.handed_to = busy.pid or 0
        return self

    def put(self, points: Sequence[Point]) -> None:
        """Queue points; `deliver` (at the latest when the command ends) commits them."""
        self.result.queued += len(points)
        if self.outbox is not None and points:
            self.outbox.put(points)

    async def deliver(self) -> None:
        """Deliver what is queued now (a long command does this as it goes, so the outbox,
        and the memory its delivery takes, stay those of one part)."""
        if self.outbox is None:
            return
        self.outbox.commit()  # durable first: what a crash or Ctrl-C leaves, the service sends
        if isinstance(self.outbox, OutboxHandoff):
            self.result.written = self.outbox.handed
            return
        if not self.outbox.depth():
            return
        delivery = Delivery(self.outbox, make_routed_writer(self.settings),
                            self.settings.influx.batch_size)
        try:
            drained = await deliver_all(self.outbox, self.gate, delivery, DELIVERY_TIMEOUT)
        finally:
            await delivery.writer.close()
        self.result.written += drained.written

    async def __aexit__(self, kind: object, exc: object, tb: object) -> None:
        if self.outbox is None:
            return
        try:
            if exc is None:
                await self.deliver()
            if isinstance(self.outbox, Outbox):
                self.result.left = self.outbox.depth()
        finally:
            self.outbox.close()
            self.outbox = None
