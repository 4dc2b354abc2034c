"""A lifetime counter's value at period boundaries, from its readings. Pure.

Readings are in whole register units (Wh for a kWh register with 3 decimals, litres for m³), so
every difference is an exact integer. The counter is followed as a *continuous* total: each
interval between two consecutive readings adds its difference, except across a break (a counter
going backwards, a jump no installation can make in that time, a new meter id), which adds 0 and
is reported. A boundary gets:

- the total at the reading exactly on it when there is one: exact;
- the total before and after an interval whose counter did not move: exact (it is that value);
- otherwise a value between the readings around it: the interval's difference times the share
  of it before the boundary (in time, or in the power profile's energy when the interval is a
  gap and a profile is given), rounded to a whole unit: estimated.

Rounding whole units per boundary keeps sums exact: a day is the sum of its quarters, a gap's
total is the counter's own difference, however it is distributed.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Fraction of the interval (t0, t1) that lies before the boundary b, or None: no profile there.
Profile = Callable[[int, int, int], float | None]

BACKWARD_NOISE_UNITS = 4  # a float32 register can seem to step back a few units: not a reset


@dataclass
class Readings:
    """One counter's readings in time order: epoch seconds, value in units, segment key.

    The segment key is what identifies the physical counter (the meter id): a change of key is
    a meter swap, never a difference to count. Keys are kept as runs (index where a key starts),
    since they almost never change: a day of 1 s readings costs two arrays, not a list too.
    """

    times: array = field(default_factory=lambda: array("q"))
    values: array = field(default_factory=lambda: array("q"))
    key_runs: list[tuple[int, str]] = field(default_factory=list)

    def add(self, t: int, value: int, key: str = "") -> None:
        if not self.key_runs or self.key_runs[-1][1] != key:
            self.key_runs.append((len(self.times), key))
        self.times.append(t)
        self.values.append(value)

    def keys(self) -> list[str]:
        """Every reading's key (for tests and merging; `track` walks the runs)."""
        out: list[str] = []
        for n, (start, key) in enumerate(self.key_runs):
            end = self.key_runs[n + 1][0] if n + 1 < len(self.key_runs) else len(self.times)
            out += [key] * (end - start)
        return out

    def __len__(self) -> int:
        return len(self.times)


@dataclass
class Break:
    """An interval whose difference was not counted, and why."""

    t0: int
    t1: int
    reason: str
    before: int
    after: int


@dataclass
class Track:
    """A counter at every boundary: value (None where no reading lies on both sides), exactness,
    the breaks and the gaps (intervals longer than the gap threshold) between its readings."""

    values: list[int | None]
    exact: list[bool]
    breaks: list[Break]
    gaps: list[tuple[int, int]]


def to_units(value: float, scale: int = 1000) -> int:
    """A register value (kWh, m³ with 3 decimals) as whole units (Wh, l)."""
    return round(value * scale)


def track(
    readings: Readings,
    boundaries: Sequence[int],
    max_units_per_s: float,
    gap_s: float,
    profile: Profile | None = None,
) -> Track:
    """The counter's continuous total at each boundary (sorted), relative to its first reading."""
    nb = len(boundaries)
    values: list[int | None] = [None] * nb
    exact = [False] * nb
    breaks: list[Break] = []
    gaps: list[tuple[int, int]] = []
    times, raw, runs = readings.times, readings.values, readings.key_runs
    n = len(times)
    if n == 0:
        return Track(values, exact, breaks, gaps)
    bi = 0
    while bi < nb and boundaries[bi] < times[0]:
        bi += 1
    total = 0
    t0, v0, k0 = times[0], raw[0], runs[0][1]
    run = 0
    next_change = runs[1][0] if len(runs) > 1 else n
    while bi < nb and boundaries[bi] == t0:
        values[bi], exact[bi] = 0, True
        bi += 1
    for i in range(1, n):
        if i == next_change:
            run += 1
            next_change = runs[run + 1][0] if run + 1 < len(runs) else n
        t1, v1, k1 = times[i], raw[i], runs[run][1]
        if t1 <= t0:
            continue  # a repeat of the same second: the first one counts
        diff = v1 - v0
        broken = False
        if k1 != k0:
            breaks.append(Break(t0, t1, f"meter id {k0} -> {k1}", v0, v1))
            broken = True
        elif diff < 0:
            if diff >= -BACKWARD_NOISE_UNITS:
                continue  # float32 noise: keep the higher reading as the reference
            breaks.append(Break(t0, t1, "counter went backwards", v0, v1))
            broken = True
        elif diff > max_units_per_s * (t1 - t0) + BACKWARD_NOISE_UNITS:
            breaks.append(Break(t0, t1, "jump larger than possible", v0, v1))
            broken = True
        if broken:
            diff = 0
        if t1 - t0 > gap_s:
            gaps.append((t0, t1))
        while bi < nb and boundaries[bi] < t1:
            b = boundaries[bi]
            if diff == 0:
                values[bi], exact[bi] = total, not broken
            else:
                share = None
                if profile is not None and t1 - t0 > gap_s:
                    share = profile(t0, b, t1)
                if share is None:
                    share = (b - t0) / (t1 - t0)
                values[bi] = total + min(diff, max(0, round(diff * share)))
            bi += 1
        total += diff
        t0, v0, k0 = t1, v1, k1
        while bi < nb and boundaries[bi] == t1:
            values[bi], exact[bi] = total, True
            bi += 1
    return Track(values, exact, breaks, gaps)


def step_profile(times: Sequence[int], watts: Sequence[float], hold_s: int = 900) -> Profile:
    """A power profile from samples (each holds until the next one, at most `hold_s`), as the
    share of an interval's energy before a boundary; None when the interval has no energy in it.
    """

    def energy(a: int, b: int) -> float:
        total = 0.0
        for i, t in enumerate(times):
            end = min(times[i + 1] if i + 1 < len(times) else t + hold_s, t + hold_s)
            lo, hi = max(a, t), min(b, end)
            if hi > lo and watts[i] > 0:
                total += watts[i] * (hi - lo)
        return total

    def share(t0: int, b: int, t1: int) -> float | None:
        whole = energy(t0, t1)
        if whole <= 0:
            return None
        return energy(t0, b) / whole

    return share
