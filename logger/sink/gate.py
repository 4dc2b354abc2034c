"""The write gate: nothing is written into a database whose migrations did not all succeed.

`SinkGate.ensure()` runs the migrations (logger.sink.migrator) on the first flush and, while they
fail, again with the project's backoff; until then every point waits in the outbox.

The gate depends only on the raw series' migrations (issue 19). An optional feature's migration
that fails (the ledger's retention policy: a user who may not create one) leaves the gate open:
`feature_problems` says which feature is off and why, and it is tried again on a slower backoff
(`FEATURE_RETRY_*`) until it works. Credentials that may write but not manage the database
(HTTP 403) open the gate without migrations, every feature off.
"""

from __future__ import annotations

import asyncio
import logging

from logger.config import InfluxSettings
from logger.core.backoff import Backoff
from logger.core.logs import get_logger
from logger.sink.flavour import Flavour, span_seconds
from logger.sink.migrator import MigrationReport, run_migrations
from logger.sink.support import support_lines

log = get_logger(__name__)


class SinkGate:
    """Holds writes back until the migrations have succeeded, retrying them with a backoff.

    `ready` is true at once when there is no InfluxDB or `[influx] auto_migrate = false` (then
    the database is the user's business, e.g. managed with `jullix-logger migrate`).
    """

    RETRY_FIRST = 5.0
    RETRY_MAX = 120.0
    FEATURE_RETRY_FIRST = 60.0
    FEATURE_RETRY_MAX = 3600.0

    def __init__(self, settings: InfluxSettings, ledger: InfluxSettings | None = None) -> None:
        self.settings = settings
        self.ledger = ledger  # the ledger's target, for migration 0003
        self.ready = not settings.configured or not settings.auto_migrate
        self.state = "ready" if self.ready else "migrations not run yet"
        self.backoff = Backoff(self.RETRY_FIRST, self.RETRY_MAX)
        self._last_error: str | None = None
        # Optional features whose migration failed: feature -> why (raw writes go on).
        self.feature_problems: dict[str, str] = {}
        self.feature_backoff = Backoff(self.FEATURE_RETRY_FIRST, self.FEATURE_RETRY_MAX)

    async def _migrate(self) -> MigrationReport:
        budget = max(30.0, self.settings.timeout * 10)
        try:
            return await asyncio.wait_for(run_migrations(self.settings, ledger=self.ledger),
                                          budget)
        except TimeoutError:
            return MigrationReport(error=f"migrations took longer than {budget:.0f} s")

    async def ensure(self) -> bool:
        """True once the database is migrated; otherwise tries again when the backoff allows.
        Once open, a feature whose migration failed is tried again when its backoff allows."""
        if self.ready:
            if self.feature_problems and self.feature_backoff.ready():
                self._features(await self._migrate())
            return True
        if not self.backoff.ready():
            return False
        report = await self._migrate()
        if report.ok or report.not_permitted:
            self.ready = True
            self.state = "ready" if report.ok else "ready (not migrated: not permitted)"
            self.backoff.succeeded()
            for line in report.lines:
                log.info("migration %s", line)
            if report.ok:
                log.info("%s at %s ready: %d migration(s) applied, %d already applied",
                         report.server, self.settings.display_url, len(report.applied),
                         len(report.already))
            else:
                log.warning("%s: these credentials may write but not manage the database; "
                            "writing without migrations (the database must exist; "
                            "docs/influxdb.md)", report.error)
            if report.server is not None:
                self._journal(report.server)
            self._features(report)
            return True
        if report.endpoints_missing:
            # Nothing can be migrated or recorded through an endpoint that only takes writes,
            # and nothing was half-applied either: write, and let InfluxDB's answers (a 404
            # for a missing bucket is retried, never dropped) speak for the database.
            self.ready, self.state = True, "ready (not migrated)"
            self.backoff.succeeded()
            log.warning(
                "%s: this InfluxDB endpoint takes no migrations; writing without them. Create "
                "the database/bucket and its retention yourself (`jullix-logger check` tells "
                "whether writes arrive)", report.error,
            )
            return True
        delay = self.backoff.failed()
        error = report.error or "unknown error"
        self.state = ("InfluxDB unreachable" if report.unreachable else "migrations failing")
        level = logging.WARNING if report.unreachable else logging.ERROR
        if error != self._last_error:
            log.log(
                level,
                "%s; not writing into a database that is not fully migrated: points stay in "
                "the outbox; next try in %.0f s (`jullix-logger migrate` shows details)",
                error, delay,
            )
            self._last_error = error
        else:
            log.debug("migrations still failing (%s); next try in %.0f s", error, delay)
        return False

    def _journal(self, flavour: Flavour) -> None:
        """Once, when the gate opens: which InfluxDB this is and what works there."""
        span = span_seconds(self.settings.max_query_span, flavour)
        for line in support_lines(flavour, self.settings, self.ledger or self.settings, span):
            log.info("%s: %s", flavour, line)

    def _features(self, report: MigrationReport) -> None:
        """Take the features' state from a migration run that opened (or kept open) the gate:
        a feature whose migration failed is off, logged once per reason, retried later."""
        if report.error is not None and not report.not_permitted:
            self.feature_backoff.failed()  # the server failed this time: try again later
            return
        for feature, error in report.feature_errors.items():
            if self.feature_problems.get(feature) != error:
                log.error("%s: the %s stays off and raw logging goes on; tried again later "
                          "(`jullix-logger migrate` shows details)", error, feature)
        for feature in self.feature_problems.keys() - report.feature_errors.keys():
            log.info("the %s's migration succeeded: the %s is on again", feature, feature)
        self.feature_problems = dict(report.feature_errors)
        if self.feature_problems:
            self.feature_backoff.failed()
        else:
            self.feature_backoff.succeeded()
