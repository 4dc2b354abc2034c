"""`jullix-logger import-fluvius`: Mijn Fluvius exports into InfluxDB, through the outbox.

Each file is read as it streams (two years of quarter-hours never sit in memory), its readings
checked against the installation's meter, turned into `ledger_fluvius` points and committed to
the outbox (the service's, from the same config) in chunks, which are delivered through the
migration gate and `Delivery` as the import goes: as durable and as deduplicated as a point the
service writes, and the outbox never fills with a long import. Identities are stable
(installation, EAN, register, start), so overlapping files and a second import overwrite.

The meter check: an export names its meter (`1SAG...`, the P1 equipment id). When the logger
knows the installation's meter (the `meter_id` tag of its newest `p1` or `meter` points), an
electricity line of another meter is refused, counted and named, unless `--meter` names it. Gas
meters are not checked: the logger does not record their numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from logger.app.delivery import Delivery, deliver_all, open_outbox
from logger.app.ledger_job import GRID_FIELD, make_reads
from logger.config import Settings
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.ledger.sources import GRID_METER, GRID_P1
from logger.outbox import Outbox
from logger.outbox.handoff import OutboxHandoff
from logger.outbox.lock import OutboxBusy
from logger.sink.gate import SinkGate
from logger.sink.influxql import InfluxQL, QueryError
from logger.sink.targets import ledger_influx, make_routed_writer
from logger.sources.fluvius.fields import ELECTRICITY
from logger.sources.fluvius.parse import ExportParser, FileFacts, FormatError, Refusals
from logger.sources.fluvius.points import PointMaker
from logger.sources.fluvius.tally import Tally

log = get_logger(__name__)

SOURCE = "fluvius"  # the outbox's accepted-points counter: accepted.fluvius.ledger_fluvius
CHUNK = 10_000  # points committed (and delivered) at a time: bounded memory
CHUNK_TIMEOUT = 120.0
FINAL_TIMEOUT = 300.0  # then the rest waits in the outbox for the service
FULL = 0.8  # stop before the outbox bound would drop points (InfluxDB not taking them)
METER_HORIZONS = (86400, 31 * 86400, 400 * 86400)

Progress = Callable[[str, int, int], None]  # (file name, bytes read, file size)


@dataclass
class FileResult:
    path: Path
    facts: FileFacts | None = None
    error: str = ""  # the file could not be read as an export
    meters_refused: Refusals = field(default_factory=Refusals)
    points: int = 0


@dataclass
class ImportResult:
    dry_run: bool
    meters: set[str] | None = None  # the meter numbers accepted; None: not checked
    meters_from: str = ""  # why those (or why none)
    files: list[FileResult] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    points: int = 0
    delivered: int = 0
    left: int = 0
    stopped: str = ""  # why the import stopped before its end ("" when it did not)
    influx: bool = True  # [influx] url is set (else the outbox is the store)
    handed_to: int | None = None  # the running service's pid, when the points went to it

    @property
    def ok(self) -> bool:
        return not self.stopped and all(not f.error and not f.meters_refused.total
                                        for f in self.files)


async def installation_meters(settings: Settings) -> tuple[set[str] | None, str]:
    """The installation's meter ids as InfluxDB knows them (newest `p1`/`meter` points)."""
    if not settings.influx.configured:
        return None, "not checked: [influx] url is empty, so the logger knows no meter id"
    ql = InfluxQL(settings.influx)
    found: set[str] = set()
    try:
        reads = make_reads(settings, ql)
        for spec in (GRID_P1, GRID_METER):
            rows = await reads.nearest(spec.measurement, [GRID_FIELD], int(time.time()), True,
                                       ("meter_id",), horizons=METER_HORIZONS)
            found |= {dict(r.tags)["meter_id"] for r in rows if dict(r.tags)["meter_id"]}
    except (QueryError, OSError) as exc:
        return None, f"not checked: InfluxDB could not be asked ({exc})"
    finally:
        await ql.close()
    if not found:
        return None, "not checked: InfluxDB has no p1 or meter readings of this installation yet"
    return found, "the installation's meter in InfluxDB"


class FluviusImport:
    """One run of the command (see the module docstring)."""

    def __init__(self, settings: Settings, dry_run: bool, progress: Progress | None = None
                 ) -> None:
        self.settings = settings
        self.result = ImportResult(dry_run, influx=settings.influx.configured)
        self.progress = progress
        self.outbox: Outbox | OutboxHandoff | None = None
        self.delivery: Delivery | None = None
        self.gate: SinkGate | None = None
        self._batch: list[Point] = []
        self._deliver = False  # InfluxDB takes points: deliver as the import goes

    async def run(self, paths: Sequence[Path], meters: Sequence[str] = ()) -> ImportResult:
        result = self.result
        if meters:
            result.meters, result.meters_from = set(meters), "--meter"
        else:
            result.meters, result.meters_from = await installation_meters(self.settings)
        if not result.dry_run:
            try:
                self.outbox = open_outbox(self.settings)
            except OutboxBusy as busy:  # the service drains it: hand the points over to it
                self.outbox = OutboxHandoff(self.settings.outbox.path)
                result.handed_to = busy.pid or 0
            if self.settings.influx.configured and isinstance(self.outbox, Outbox):
                self.delivery = Delivery(self.outbox, make_routed_writer(self.settings),
                                         self.settings.influx.batch_size)
                self.gate = SinkGate(self.settings.influx, ledger_influx(self.settings))
                self._deliver = await self.gate.ensure()
                if not self._deliver:
                    log.warning("import-fluvius: InfluxDB is not ready (%s): the points wait in "
                                "the outbox", self.gate.state)
        try:
            for path in paths:
                if result.stopped:
                    break
                result.files.append(await self._file(path))
            await self._flush(final=True)
        finally:
            if self.delivery is not None:
                await self.delivery.writer.close()
            if self.outbox is not None:
                if self._batch:  # a Ctrl-C (or an error) in the middle: keep what was read
                    self.outbox.put(self._batch, source=SOURCE)
                self.outbox.close()  # commits what is pending
        return result

    async def _file(self, path: Path) -> FileResult:
        done = FileResult(path)
        parser = ExportParser()
        maker = PointMaker(self.settings.installation)
        try:
            size = path.stat().st_size
            with path.open("rb") as handle:
                for reading in parser.readings(handle):
                    if self._refused_meter(reading.kind, reading.meter, reading.line, done):
                        continue
                    self.result.tally.add(reading)
                    point = maker.add(reading)
                    if point is not None:
                        await self._add([point], done)
                        if self.result.stopped:
                            break
                    if self.progress is not None and reading.line % 2000 == 0:
                        self.progress(path.name, handle.tell(), size)
                await self._add(maker.finish(), done)
            if self.progress is not None:
                self.progress(path.name, size, size)
        except FormatError as exc:
            done.error = str(exc)
        except OSError as exc:
            done.error = f"cannot read it: {exc.strerror or exc}"
        done.facts = parser.facts
        await self._flush()  # one file's gas hours never meet the next file's in memory
        return done

    def _refused_meter(self, kind: str, meter: str, line: int, done: FileResult) -> bool:
        meters = self.result.meters
        if kind != ELECTRICITY or meters is None or not meter or meter in meters:
            return False
        done.meters_refused.add(meter, line)
        return True

    async def _add(self, points: list[Point], done: FileResult) -> None:
        done.points += len(points)
        self.result.points += len(points)
        if self.outbox is None:
            return
        self._batch += points
        if len(self._batch) >= CHUNK:
            await self._flush()

    async def _flush(self, final: bool = False) -> None:
        """Commit the batch, then deliver what the outbox holds (the import's and the
        service's); stop the import before the outbox bound would have to drop points."""
        outbox = self.outbox
        if outbox is None:
            return
        if self._batch:
            outbox.put(self._batch, source=SOURCE)
            outbox.commit()
            self._batch = []
        if isinstance(outbox, OutboxHandoff):  # committed for the running service to deliver
            self.result.delivered = outbox.handed
            return
        if self._deliver and self.delivery is not None and self.gate is not None and (
                outbox.depth()):
            report = await deliver_all(outbox, self.gate, self.delivery,
                                       FINAL_TIMEOUT if final else CHUNK_TIMEOUT)
            self.result.delivered += report.written
            if not report.written and outbox.depth():
                self._deliver = False  # not taking points now: the rest waits in the outbox
        self.result.left = outbox.depth()
        if not final and outbox.queue_bytes() > FULL * outbox.max_bytes:
            self.result.stopped = (
                f"the outbox is {FULL:.0%} full ({self.settings.outbox.max_mb:g} MB, "
                "[outbox] max_mb) and InfluxDB is not taking points: the import stopped before "
                "the outbox would drop any; start InfluxDB (or the service) and run it again")
