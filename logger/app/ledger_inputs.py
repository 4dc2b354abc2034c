"""Reading what one span of the ledger needs: every counter's readings (bracketed by the last
reading before and the first after the span), the power profile inside gaps, and how many cloud
profile points each quarter has. The sink answers the queries; `logger.ledger` computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from logger.config import LedgerSettings
from logger.ledger.counters import Readings, step_profile, to_units
from logger.ledger.energy import Channel, Device
from logger.ledger.sources import (
    CLOUD_PROFILE_TAGS,
    DEVICES,
    GRID_METER,
    GRID_P1,
    PROFILE,
    PROFILE_FIELDS,
    PROFILE_MEASUREMENT,
    SeriesSpec,
    grid_specs,
)
from logger.sink.ledger_reads import LedgerReads, Row

GRID_P1_FIELD = "energy_import_t1_kwh"
PAD_S = 3600  # read this far around the span; further only when a boundary is not bracketed


@dataclass
class SpanInputs:
    channels: list[Channel]
    grid: SeriesSpec
    cloud_points: dict[int, int]  # quarter start -> power_flow cloud points in it


def _device(spec: SeriesSpec, tags: tuple[tuple[str, str], ...]) -> Device | None:
    if spec.device_kind is None:
        return None
    values = dict(tags)
    return spec.device_kind, values.get("device_id", ""), values.get("localid", "")


def _add(series: dict[tuple[Device | None, str], Readings], spec: SeriesSpec, rows: Sequence[Row]
         ) -> None:
    key_at = spec.group_by.index(spec.key_tag) if spec.key_tag else None
    names = list(spec.fields)
    for row in rows:
        device = _device(spec, row.tags)
        key = row.tags[key_at][1] if key_at is not None else ""
        for name, value in zip(names, row.values, strict=False):
            if isinstance(value, int | float) and not isinstance(value, bool):
                series.setdefault((device, name), Readings()).add(row.time, to_units(value),
                                                                   key)


def _merged(a: Readings, b: Readings) -> Readings:
    out = Readings()
    for part in (a, b):
        for t, v, k in zip(part.times, part.values, part.keys(), strict=True):
            if not len(out) or t > out.times[-1]:
                out.add(t, v, k)
    return out


async def read_spec(reads: LedgerReads, spec: SeriesSpec, start: int, end: int, gap_s: float,
                    until: int | None = None) -> list[Channel]:
    """The channels of one raw measurement over [start, end], bracketed on both sides; with
    `until` (the service's "now"), nothing at or after it is read."""
    series: dict[tuple[Device | None, str], Readings] = {}
    fields = list(spec.fields)
    stop = end + PAD_S if until is None else min(end + PAD_S, until)
    async for page in reads.rows(spec.measurement, fields, start - PAD_S, stop,
                                 spec.group_by, spec.tags):
        _add(series, spec, page)
    # Nothing of this kind within a month before the span: none here (no battery, no gas
    # meter). Looking a month back lets a day inside a long gap still get its share.
    if not series and not await reads.nearest(spec.measurement, fields[:1], start, True,
                                              spec.group_by, spec.tags,
                                              horizons=(86400, 31 * 86400)):
        return []
    first_needed = any(not len(r) or r.times[0] > start for r in series.values()) or not series
    last_needed = stop == end + PAD_S and (
        any(not len(r) or r.times[-1] < end for r in series.values()) or not series)
    if first_needed:
        before: dict[tuple[Device | None, str], Readings] = {}
        _add(before, spec, await reads.nearest(spec.measurement, fields, start - PAD_S, True,
                                               spec.group_by, spec.tags))
        for k, r in before.items():
            series[k] = _merged(r, series[k]) if k in series else r
    if last_needed:
        after: dict[tuple[Device | None, str], Readings] = {}
        _add(after, spec, await reads.nearest(spec.measurement, fields, end + PAD_S, False,
                                              spec.group_by, spec.tags))
        for k, r in after.items():
            series[k] = _merged(series[k], r) if k in series else r
    gap = max(gap_s, spec.min_gap_s)
    return [
        Channel(spec.fields[name], readings, spec.max_units_per_s, gap, device)
        for (device, name), readings in sorted(series.items(), key=lambda kv: (kv[0][0] or ("",),
                                                                               kv[0][1]))
    ]


def _gaps(readings: Readings, gap_s: float) -> list[tuple[int, int]]:
    t = readings.times
    return [(t[i - 1], t[i]) for i in range(1, len(t)) if t[i] - t[i - 1] > gap_s]


async def attach_profiles(reads: LedgerReads, channels: list[Channel]) -> None:
    """Give each channel that has gaps the power profile `power_flow` has inside them."""
    intervals = sorted({g for ch in channels if ch.group in PROFILE
                        for g in _gaps(ch.readings, ch.gap_s)})
    if not intervals:
        return
    samples: dict[str, tuple[list[int], list[float]]] = {f: ([], []) for f in PROFILE_FIELDS}
    merged: list[tuple[int, int]] = []
    for t0, t1 in intervals:
        if merged and t0 <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], t1))
        else:
            merged.append((t0, t1))
    for t0, t1 in merged:
        async for page in reads.rows(PROFILE_MEASUREMENT, PROFILE_FIELDS, t0, t1 + 1):
            for row in page:
                for name, value in zip(PROFILE_FIELDS, row.values, strict=False):
                    if isinstance(value, int | float):
                        times, watts = samples[name]
                        if not times or row.time > times[-1]:
                            times.append(row.time)
                            watts.append(float(value))
    for ch in channels:
        if ch.group not in PROFILE:
            continue
        name, sign = PROFILE[ch.group]
        times, watts = samples[name]
        if times:
            ch.profile = step_profile(times, [max(0.0, sign * w) for w in watts])


async def _p1_covers(reads: LedgerReads, settings: LedgerSettings, start: int, end: int
                     ) -> bool:
    """`auto`: P1 when it has a reading around the day's start, and around its end too unless
    nothing has one there yet (today). A day on which P1 was switched on or off uses the meter,
    whose readings span it."""
    if settings.source != "auto":
        return settings.source == "p1"
    field = GRID_P1_FIELD
    if not await reads.count(GRID_P1.measurement, field, start - PAD_S, start + 1):
        return False
    if await reads.count(GRID_P1.measurement, field, end, end + PAD_S):
        return True
    return not await reads.count(GRID_METER.measurement, field, end, end + PAD_S)


async def read_span(reads: LedgerReads, settings: LedgerSettings, start: int, end: int,
                    until: int | None = None) -> SpanInputs:
    """Everything the span [start, end] needs (nothing at or after `until`)."""
    grid, volumes = grid_specs(settings.source, await _p1_covers(reads, settings, start, end))
    channels = await read_spec(reads, grid, start, end, settings.gap, until)
    for spec in (*DEVICES, *volumes):
        channels += await read_spec(reads, spec, start, end, settings.gap, until)
    await attach_profiles(reads, channels)
    cloud = await reads.counts(PROFILE_MEASUREMENT, "grid_w", start, end, 900,
                               tags=CLOUD_PROFILE_TAGS)
    return SpanInputs(channels, grid, cloud)
