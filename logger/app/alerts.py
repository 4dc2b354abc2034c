"""Warnings that matter: said once in the journal and shown by `status` while they hold.

Three conditions that lose data silently if nobody notices, each confirmed by `CONFIRM`
consecutive observations so that one odd reading never raises (or clears) one:

- `CaptarConsent`: P1 telegrams arrive without `1-0:1.6.0` (this month's capacity peak) after
  having carried it. The meter then stops sending its capacity-tariff registers: the Fluvius
  consent for the P1 port expired, or the meter was reconfigured. The telegrams stay valid, so
  nothing else would tell.
- `DeviceTypes`: a local device type (solar, battery, charger, plug) that showed devices now
  answers with none: a device was removed or lost its link to the box, and `power_flow` now
  counts it as 0 W.
- `ClockSkew`: the meter's clock and this host's clock more than `CLOCK_LIMIT_S` apart. Points are
  stamped with the meter's time, so one of the two clocks is wrong. This is a small separate
  check; deciding which clock to trust is not done here.

A warning is logged (WARNING) when it starts and (INFO) when it ends, never in between, and its
text is kept in the outbox meta `warning.<kind>` (empty once cleared), where `status` reads it.
What a check must remember across restarts (that telegrams had 1.6.0, which device types the box
showed) is kept in the meta as well. Warnings from an earlier run are cleared at start-up
(`clear_stale`): the next observation raises them again if they still hold.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from logger.core.logs import get_logger
from logger.outbox import Outbox, keys

log = get_logger(__name__)

CONFIRM = 3  # consecutive observations that raise or clear a warning
CLOCK_LIMIT_S = 120.0
DEVICE_TYPES = ("solar", "battery", "charger", "plug")


def clear_stale(outbox: Outbox) -> None:
    """Forget the warnings an earlier run left in the meta (see the module docstring)."""
    for key, value in outbox.stats().meta.items():
        if key.startswith(keys.WARNING_PREFIX) and value:
            outbox.set_meta(key, "")


def active_warnings(meta: dict[str, str]) -> dict[str, str]:
    """kind -> text of the warnings that hold, from an outbox's meta (for status, metrics)."""
    return {k.removeprefix(keys.WARNING_PREFIX): v for k, v in sorted(meta.items())
            if k.startswith(keys.WARNING_PREFIX) and v}


class Alert:
    """One warning: raised once, cleared once, its text in the outbox meta while it holds."""

    def __init__(self, outbox: Outbox, kind: str) -> None:
        self.outbox = outbox
        self.kind = kind
        self.active = False

    def raise_(self, message: str) -> None:
        if self.active:
            return
        self.active = True
        log.warning("%s", message)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        self.outbox.set_meta(keys.warning(self.kind), f"since {since}: {message}")

    def clear(self, message: str) -> None:
        if not self.active:
            return
        self.active = False
        log.info("%s", message)
        self.outbox.set_meta(keys.warning(self.kind), "")


class CaptarConsent:
    """P1 telegrams without `1-0:1.6.0` after having had it (see the module docstring)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.alert = Alert(outbox, "p1_captar_missing")
        self.had = outbox.get_meta(keys.P1_HAD_CAPTAR) == "1"
        self._missing = 0

    def observe(self, has_month_peak: bool) -> None:
        if has_month_peak:
            self._missing = 0
            if not self.had:
                self.had = True
                self.outbox.set_meta(keys.P1_HAD_CAPTAR, "1")
            self.alert.clear("P1: telegrams carry 1-0:1.6.0 (the month's capacity peak) again")
            return
        if not self.had:
            return  # a meter that never sent it: nothing was lost
        self._missing += 1
        if self._missing >= CONFIRM:
            self.alert.raise_(
                "P1: telegrams arrive without 1-0:1.6.0 (this month's capacity peak) after "
                "having it: the Fluvius consent for the P1 port may have expired (renew it in "
                "Mijn Fluvius) or the meter was reconfigured; the capacity-tariff registers "
                "(1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0) are not being recorded")


class DeviceTypes:
    """A local device type that showed devices and now shows none (see the module docstring)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        seen = outbox.get_meta(keys.LOCAL_DEVICE_TYPES) or ""
        self.seen = {name for name in seen.split(",") if name in DEVICE_TYPES}
        self._gone: dict[str, int] = {}
        self.alerts = {name: Alert(outbox, f"local_{name}_gone") for name in DEVICE_TYPES}

    def observe(self, present: Iterable[str], absent: Iterable[str]) -> None:
        """`present`: types that answered with devices; `absent`: types that answered, with
        none (404 or an empty list). A failed answer (timeout, 5xx) is neither."""
        before = set(self.seen)
        for name in present:
            self._gone.pop(name, None)
            self.seen.add(name)
            self.alerts[name].clear(f"local /api/ems/{name} reports devices again")
        for name in absent:
            if name not in self.seen:
                continue
            self._gone[name] = self._gone.get(name, 0) + 1
            if self._gone[name] >= CONFIRM:
                self.alerts[name].raise_(
                    f"local /api/ems/{name} no longer reports any device (it did before): a "
                    f"device was removed or lost its link to the box; `{name}` points stop and "
                    f"power_flow counts it as 0 W")
                # Remembered no longer: after a restart (which acknowledges the removal) the
                # installation is taken as it is now.
                self.seen.discard(name)
                self._gone.pop(name)
        if self.seen != before:
            self.outbox.set_meta(keys.LOCAL_DEVICE_TYPES, ",".join(sorted(self.seen)))


class ClockSkew:
    """The meter's clock more than `CLOCK_LIMIT_S` from this host's (module docstring)."""

    def __init__(self, outbox: Outbox, source: str) -> None:
        self.source = source
        self.alert = Alert(outbox, f"{source.lower()}_clock_skew")
        self._off = 0
        self._on = 0

    def observe(self, meter_time: datetime, host_time: datetime) -> None:
        offset = (meter_time - host_time).total_seconds()
        if abs(offset) > CLOCK_LIMIT_S:
            self._on = 0
            self._off += 1
            if self._off >= CONFIRM:
                side = "ahead of" if offset > 0 else "behind"
                self.alert.raise_(
                    f"{self.source}: the meter's clock is {_duration(abs(offset))} {side} this "
                    f"host's clock (more than {CLOCK_LIMIT_S:.0f} s): one of them is wrong; "
                    f"check the host's time sync (`timedatectl`); points carry the meter's time")
        else:
            self._off = 0
            self._on += 1
            if self._on >= CONFIRM:
                self.alert.clear(f"{self.source}: the meter's clock and this host's agree again")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
