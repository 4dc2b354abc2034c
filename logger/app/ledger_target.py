"""The ledger as an optional feature of the sink: off when its place in InfluxDB cannot take
writes, and its lines parked meanwhile, so the raw series never wait for it (issue 19).

Two things can take the ledger's place away. Its migration (0003: the retention policy or
bucket) failed, for instance because the user may not create one: the gate says so
(`SinkGate.feature_problems`), and it retries on its own backoff. Or its writes are refused as
missing or forbidden (`[influx] auto_migrate = false`, a policy dropped by hand): the routed
writer notices (`RoutedWriter.ledger_down`). Either way the ledger job pauses, the ledger's
lines are parked (`Outbox.hold`), and `Features` shows why. After a refused write the place is
probed again on a backoff (a chunk of parked lines is queued again; none parked: the ledger
job simply runs again); once it works, every parked line is queued again, a chunk per flush.
"""

from __future__ import annotations

from logger.app.features import Features
from logger.core.backoff import Backoff
from logger.core.logs import get_logger
from logger.outbox import Outbox
from logger.sink.gate import SinkGate
from logger.sink.targets import LEDGER_TARGET, RoutedWriter

log = get_logger(__name__)

RELEASE_CHUNK = 5000  # parked lines queued again per flush (one batch)
PROBE_FIRST = 60.0
PROBE_MAX = 3600.0


class LedgerTarget:
    """Decides, before each flush, whether the ledger's place takes writes."""

    def __init__(self, gate: SinkGate, writer: RoutedWriter, outbox: Outbox,
                 features: Features) -> None:
        self.gate = gate
        self.writer = writer
        self.outbox = outbox
        self.features = features
        self.probe = Backoff(PROBE_FIRST, PROBE_MAX)
        self._probing = False
        self._down_by_migration = False
        self._parked = outbox.held.counts().get(LEDGER_TARGET, 0) > 0  # e.g. after a restart

    @property
    def problem(self) -> str | None:
        """Why the ledger is off, or None while its place takes writes."""
        return self.gate.feature_problems.get(LEDGER_TARGET) or self.writer.ledger_down

    def tick(self) -> None:
        """After the gate's `ensure()`, before the drain: follow the gate, judge the last
        probe, probe again when due, queue parked lines again while the place works."""
        migration = self.gate.feature_problems.get(LEDGER_TARGET)
        if migration is not None:
            self.writer.ledger_down = migration  # its lines are parked without a request
            self._down_by_migration = True
        elif self._down_by_migration:
            self.writer.ledger_down = None  # the migration works now
            self._down_by_migration = False
        if self._probing:
            self._probing = False
            if self.writer.ledger_down is None:
                self.probe.succeeded()
                log.info("the ledger's place in InfluxDB takes writes again")
            else:
                self.probe.failed()
        elif self.writer.ledger_down is not None and migration is None:
            if not self.probe.not_before:
                self.probe.failed()  # first refusal: the first probe waits PROBE_FIRST
            elif self.probe.ready():
                self.writer.ledger_down = None  # try again: parked lines and the ledger job
                self._probing = True
        if self.writer.ledger_down is None and (self._parked or self._probing):
            released = self.outbox.release_held(LEDGER_TARGET, RELEASE_CHUNK)
            self._parked = released == RELEASE_CHUNK
        elif self.writer.ledger_down is not None:
            self._parked = True
        self.features.set(LEDGER_TARGET, self.problem)
