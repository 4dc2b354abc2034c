"""The durable queue between sources and InfluxDB, which is also the embedded store.

`store.Outbox` (SQLite); `keys` names every meta key and counter. Imports only `logger.core`.
"""

from logger.outbox.store import Outbox, OutboxStats, Row

__all__ = ["Outbox", "OutboxStats", "Row"]
