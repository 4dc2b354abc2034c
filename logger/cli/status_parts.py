"""The sections of `jullix-logger status` (logger/cli/status.py): whether the service runs, the
optional features, P1, the ledger, the backfill's waiting gaps, the last samples and the
counters grouped and named. Times are Belgian local time with their age."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import TextIO

from logger.app import facts, mqtt_state
from logger.app.features import feature_states
from logger.config import Settings
from logger.core.durations import human_duration, iso_and_age, moment_and_age
from logger.core.words import plural
from logger.outbox import keys

COLUMN = 14  # "dead letter   " and friends: the values start here


def line(out: TextIO, label: str, text: str, indent: int = 0) -> None:
    """`label` in its column, then `text` (a label as wide as the column still gets a space)."""
    out.write(f"{' ' * indent}{label:<{COLUMN - indent - 1}} {text}\n")


def _epoch(meta: Mapping[str, str], key: str) -> int | None:
    value = meta.get(key, "")
    return int(value) if value.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def print_service(meta: Mapping[str, str], out: TextIO, now: float | None = None,
                  locked_by: int | None = None) -> None:
    """Running or not, and how old the record `status` reads is (the service stores it at
    least every 30 s while it runs). `locked_by`: the pid holding the outbox's lock
    (logger/outbox/lock.py), which settles "running" whatever the record says."""
    now = time.time() if now is None else now
    started, beat = _epoch(meta, keys.SERVICE_STARTED), _epoch(meta, keys.SERVICE_HEARTBEAT)
    stopped, pid = _epoch(meta, keys.SERVICE_STOPPED), _epoch(meta, keys.SERVICE_PID)
    if locked_by is not None and (started is None or beat is None):
        line(out, "service", f"running (pid {locked_by or '?'}); no record of it yet")
        return
    if locked_by is not None:
        line(out, "service", f"running (pid {locked_by or pid or '?'}) since "
             f"{moment_and_age(started, now)}; this record is {human_duration(now - beat)} old")
        return
    if started is None:
        line(out, "service", "no record of a service run in this outbox yet")
        return
    if stopped is not None and stopped >= started:
        line(out, "service", f"not running: stopped cleanly at {moment_and_age(stopped, now)}; "
             "what follows is as it left it")
        return
    fresh = beat is not None and now - beat <= facts.HEARTBEAT_STALE_S
    if fresh and pid is not None and _alive(pid):
        line(out, "service", f"running (pid {pid}) since {moment_and_age(started, now)}; "
             f"this record is {human_duration(now - beat)} old")
        return
    last = moment_and_age(beat, now) if beat is not None else "unknown"
    line(out, "service", f"not running (or stalled): last sign of life {last}, no clean stop "
         "recorded (a crash, a kill or a power cut); what follows is as it left it")


def print_held(held: Mapping[str, int], out: TextIO) -> None:
    """Lines parked because their target cannot take them (issue 19: the rest flows)."""
    for target, count in sorted(held.items()):
        line(out, "held", f"{plural(count, f'{target} line')} parked: their place in InfluxDB "
             "cannot take them now; sent once it can (see `features`)", indent=2)


def print_features(settings: Settings, meta: Mapping[str, str], out: TextIO) -> None:
    """One line per optional feature: on, off or degraded, and why (logger/app/features.py)."""
    out.write("features\n")
    for feature in feature_states(settings, meta):
        line(out, feature.name, f"{feature.state}: {feature.reason}", indent=2)


def print_mqtt(settings: Settings, meta: Mapping[str, str], counters: Mapping[str, int],
               out: TextIO) -> None:
    """The Home Assistant output, as the running service last recorded it."""
    view = mqtt_state.read(dict(meta), dict(counters))
    if view is None:
        if settings.mqtt.active:
            line(out, "mqtt", f"{settings.mqtt.display_url} (not run yet)")
        return
    since = f" since {view.since}" if view.since else ""
    line(out, "mqtt", f"{view.broker or settings.mqtt.display_url} {view.state}{since}")
    line(out, "messages", f"{view.sent} sent, {view.dropped} values dropped (replaced while the "
         f"broker was away), {view.reconnects} reconnects, {view.waiting} waiting", indent=2)
    if view.last_error and not view.connected:
        line(out, "error", view.last_error, indent=2)


def print_samples(meta: Mapping[str, str], out: TextIO) -> None:
    out.write("last sample per source\n")
    samples = sorted((k.removeprefix(keys.LAST_SAMPLE_PREFIX), v) for k, v in meta.items()
                     if k.startswith(keys.LAST_SAMPLE_PREFIX))
    if not samples:
        out.write("  (none yet)\n")
    for name, value in samples:
        out.write(f"  {name:<22} {iso_and_age(value)}\n")


def _words(name: str) -> str:
    return name.replace("_", " ").replace(".", " ")


def print_counters(counters: Mapping[str, int], out: TextIO) -> None:
    """The persistent totals, grouped and named (the P1 ones are in the P1 section)."""
    accepted: dict[str, dict[str, int]] = defaultdict(dict)
    groups: dict[str, dict[str, int]] = defaultdict(dict)
    for name, value in counters.items():
        if name.startswith(keys.ACCEPTED_PREFIX):
            source, _, measurement = name.removeprefix(keys.ACCEPTED_PREFIX).partition(".")
            accepted[source][measurement] = value
        elif name.startswith(keys.WRITE_ERRORS_PREFIX):
            groups["write errors"][name.removeprefix(keys.WRITE_ERRORS_PREFIX)] = value
        elif name in (keys.OVERFLOW_DROPPED, keys.DEAD_LETTERED, keys.DEAD_LETTERS_PRUNED):
            groups["lost"][name] = value
        elif name.startswith("p1_") or name == keys.POINTS_WRITTEN:
            continue  # the P1 section; the written total has its own line
        else:
            group = name.partition("_")[0]
            groups[group if group in ("local", "cloud", "backfill", "ledger") else "other"][
                name.removeprefix(f"{group}_") if group != name else name] = value
    out.write("counters      (totals since this outbox was created)\n")
    for source, per in sorted(accepted.items()):
        inside = ", ".join(f"{m} {n}" for m, n in sorted(per.items()))
        line(out, f"from {source}", f"{plural(sum(per.values()), 'point')} accepted ({inside})",
             indent=2)
    line(out, "written", f"{plural(counters.get(keys.POINTS_WRITTEN, 0), 'point')} confirmed "
         "by InfluxDB", indent=2)
    for group in ("write errors", "lost", "local", "cloud", "backfill", "ledger", "other"):
        shown = {k: v for k, v in groups.get(group, {}).items() if v}
        if shown:
            line(out, group, ", ".join(f"{_words(k)} {v}" for k, v in sorted(shown.items())),
                 indent=2)


def print_backfill_gaps(settings: Settings, out: TextIO, shown: int = 10) -> None:
    """Gaps whose cloud fetch failed, and when the scheduled backfill tries them again."""
    from logger.app.backfill.state import STATE_FILE, failing_gaps

    path = settings.outbox.path.parent / STATE_FILE
    if not path.exists():
        return
    failing = failing_gaps(path, settings.installation)
    if not failing:
        return
    verb = "waits" if len(failing) == 1 else "wait"
    out.write(f"backfill      {plural(len(failing), 'gap')} {verb} for another try after "
              "failed fetches\n")
    for failure in failing[:shown]:
        retry = (moment_and_age(failure.next_try) if failure.next_try > time.time()
                 else "at the next run")
        out.write(f"  {failure.gap.describe()}: failed {failure.failures}x, next try "
                  f"{retry}: {failure.reason}\n")
    if len(failing) > shown:
        out.write(f"  ... and {len(failing) - shown} more\n")


def print_p1(meta: Mapping[str, str], counters: Mapping[str, int], out: TextIO) -> None:
    """P1 link state (as the running service last recorded it), rate and errors by kind."""
    state = meta.get(keys.P1_STATE, "unknown")
    since = meta.get(keys.P1_STATE_SINCE)
    detail = meta.get(keys.P1_DETAIL)
    text = f"{meta.get(keys.P1_ADDRESS, '')} link {state}"
    if since:
        text += f" since {iso_and_age(since)}"
    if detail:
        text += f" ({detail})"
    line(out, "p1", text)
    line(out, "rate", f"{meta.get(keys.P1_RATE, '0')} valid telegrams/min, "
         f"{counters.get(keys.P1_TELEGRAMS, 0)} in total", indent=2)
    errors = {k.removeprefix("p1_"): v for k, v in counters.items()
              if k.startswith("p1_") and k != keys.P1_TELEGRAMS and v}
    shown = ", ".join(f"{_words(k)} {v}" for k, v in sorted(errors.items())) or "none"
    line(out, "errors", shown, indent=2)


def print_ledger(meta: Mapping[str, str], counters: Mapping[str, int], out: TextIO) -> None:
    """The energy ledger's lag, counter resets and capacity-peak disagreements."""
    newest = meta.get(keys.LEDGER_NEWEST_END, "")
    if not (newest.isdigit() or counters.get(keys.LEDGER_COUNTER_RESET)
            or counters.get(keys.LEDGER_PEAK_MISMATCHES)):
        return
    out.write("ledger\n")
    if newest.isdigit():
        line(out, "newest", f"complete period ends {moment_and_age(int(newest))} (the "
             "ledger lag)", indent=2)
    resets = counters.get(keys.LEDGER_COUNTER_RESET, 0)
    if resets:
        line(out, "resets", f"{resets} counter reset(s)/meter swap(s); newest: "
             f"{meta.get(keys.LEDGER_LAST_RESET, '?')}", indent=2)
    mismatches = counters.get(keys.LEDGER_PEAK_MISMATCHES, 0)
    if mismatches:
        line(out, "WARNING", f"capacity peak disagrees with the meter's register "
             f"({mismatches}x); newest: {meta.get(keys.LEDGER_PEAK_MISMATCH, '?')}", indent=2)
