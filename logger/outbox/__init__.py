"""The durable queue between sources and InfluxDB, which is also the embedded store.

`store.Outbox` (SQLite with an in-memory front; its docstring states the durability promise),
`bound` (the `max_mb` bound, from the queue alone), `dead_letters` (bounded on their own),
`confirmed` (a drained backlog's rows, confirmed behind a watermark and deleted later),
`held` (lines whose target cannot take them now), `facts` (meta and counts until committed),
`reading` (what readers see);
`keys` names every meta key and counter. Imports only `logger.core`.

For other code (status, metrics): `Outbox.depth()`, `oldest_age()`, `pending`,
`dead_letters.count()`, `queue_bytes()` and `stats()` (all of these plus counters and meta).
"""

from logger.outbox.reading import OutboxStats
from logger.outbox.store import Outbox, Row

__all__ = ["Outbox", "OutboxStats", "Row"]
