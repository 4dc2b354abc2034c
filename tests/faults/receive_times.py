"""Accounting for points stamped at receive time (solar, battery, charger, plug, power_flow).

They have no time of their own, so their ground truth is the poll they came from: the simulator
records every meter reading it served (`/_sim/served`, true time), and each poll that got a meter
reading writes one `power_flow` whose `grid_w` is that reading's import minus export.

A receive time is the start of its poll (whole second); the poll's answers are served after it,
within the poll's timeout. So a row at t belongs to a reading served at s when
`-EARLY_S <= s - t <= LATE_S`: 1 s early for the meter clock's half-second and the two
truncations, the `[local] timeout` of the scenarios (2 s) plus 1 s late. A `power_flow` row is
*present* for the served reading it belongs to with that grid value; a second row for the same
reading is *duplicated*; a row that belongs to no served reading (a wrong time) is *unexpected*.
The other receive-time measurements must each belong to a served reading. Polls must be at
least 2 s apart for this to be exact.
"""

from __future__ import annotations

import math
from typing import Any

from faults.accounting import Accounting
from logger.testbed.influxd import InfluxServer

EARLY_S = 1  # the reading's second may precede the stamp this much
LATE_S = 3  # ... and follow it by the poll's timeout (2 s) + 1 s
DEVICES = ("solar", "battery", "charger", "plug")


def served_grid_w(values: dict[str, Any]) -> float:
    return values["power"]["in"] * 1000 - values["power"]["out"] * 1000


def account_receive_times(scenario: str, server: InfluxServer, db: str,
                          served: dict[int, dict[str, Any]], since: int,
                          until: int | None = None) -> Accounting:
    """power_flow (and device rows) of the readings served in [since, until]; rows near `since`
    that belong to an earlier reading are left out, not counted."""
    end = until if until is not None else max(served, default=since)
    window = {t: v for t, v in served.items() if since <= t <= end}
    def belongs(stamp: int, served_at: int) -> bool:
        return -EARLY_S <= served_at - stamp <= LATE_S

    rows = [r for r in server.points(db, "power_flow")
            if since - LATE_S <= r["time"] <= end + EARLY_S]
    # Rows and readings are both in time order, one row per reading: pair each row with the
    # earliest reading it may belong to that no earlier row took (greedy, in order).
    taken: set[int] = set()
    duplicated = 0
    unexpected: list[int] = []
    strays: list[str] = []
    for row in sorted(rows, key=lambda r: r["time"]):
        twins = sorted(t for t, v in served.items() if belongs(row["time"], t)
                       and math.isclose(row["grid_w"], served_grid_w(v), abs_tol=1e-3))
        free = [t for t in twins if t not in taken]
        if free:
            taken.add(free[0])
        elif any(t in window for t in twins):
            duplicated += 1
        elif twins:
            pass  # a second row of a reading before `since`: not this accounting's business
        else:
            unexpected.append(row["time"])
            strays.append(f"power_flow@{row['time']} grid_w={row['grid_w']}")
    for measurement in DEVICES:
        for row in server.points(db, measurement):
            if since - LATE_S <= row["time"] <= end + EARLY_S and not any(
                    belongs(row["time"], t) for t in served):
                unexpected.append(row["time"])
                strays.append(f"{measurement}@{row['time']}")
    result = Accounting(
        scenario=scenario, measurement="power_flow", expected=len(window),
        present=len(taken & set(window)), missing=sorted(set(window) - taken),
        duplicated=duplicated, unexpected=sorted(unexpected),
        series=1, value_mismatches=0,
    )
    if strays:
        near = {t: round(served_grid_w(window[t]), 3) for s in unexpected for t in window
                if abs(t - s) <= 4}
        result.notes.update(strays=strays, served_near=near)
    if result.missing or duplicated:  # what a reader needs to see why
        result.notes.update(
            served_grid_w={t: round(served_grid_w(v), 3) for t, v in window.items()},
            rows_grid_w={r["time"]: r["grid_w"] for r in rows})
    return result
