"""Which device types the local poller recorded as absent: the one fact that lets a cloud 404
mean "no such device" (0 W) instead of "no such history" (field left out).

The local job writes each endpoint's last state into the outbox meta
(`logger.outbox.keys.local_endpoint_status`: `ok`, `absent` or `failed`); the cloud history
devices solar, battery and charger have local endpoints of the same name. The grid never counts
as absent: without its history there is nothing to write.
"""

from __future__ import annotations

from logger.outbox import Outbox, keys
from logger.outbox.handoff import OutboxHandoff
from logger.sources.cloud.paths import HISTORY_DEVICES
from logger.sources.local.collector import Status


def absent_devices(outbox: Outbox | OutboxHandoff) -> frozenset[str]:
    """History devices whose local endpoint last answered "no such device type"."""
    return frozenset(
        device for device in HISTORY_DEVICES
        if device != "grid"
        and outbox.get_meta(keys.local_endpoint_status(device)) == Status.ABSENT.value
    )
