"""Accounting for points stamped at receive time (solar, battery, charger, plug, power_flow).

They have no time of their own, so their ground truth is the poll they came from: the simulator
records every meter reading it served (`/_sim/served`, true time), and each poll that got a meter
reading writes one `power_flow` whose `grid_w` is that reading's import minus export. A
`power_flow` row is *present* for a served reading when it lies within `SLACK_S` of it with that
grid value; a second row for the same reading is *duplicated*; a row that matches no served
reading (a wrong time) is *unexpected*. The other receive-time measurements must each lie within
`SLACK_S` of a served reading. Polls must be at least 2 s apart for this to be exact.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from faults.accounting import Accounting
from logger.testbed.influxd import InfluxServer

SLACK_S = 2  # a receive time is the poll's start, the reading's second is when it was served
DEVICES = ("solar", "battery", "charger", "plug")


def served_grid_w(values: dict[str, Any]) -> float:
    return values["power"]["in"] * 1000 - values["power"]["out"] * 1000


def account_receive_times(scenario: str, server: InfluxServer, db: str,
                          served: dict[int, dict[str, Any]], since: int,
                          until: int | None = None) -> Accounting:
    """power_flow (and device rows) in [since, until] against the readings served there."""
    end = until if until is not None else max(served, default=since)
    window = {t: v for t, v in served.items() if since <= t <= end}
    rows = [r for r in server.points(db, "power_flow")
            if since - SLACK_S <= r["time"] <= end + SLACK_S]
    paired: Counter[int] = Counter()
    unexpected: list[int] = []
    for row in rows:
        twins = [t for t, v in window.items() if abs(row["time"] - t) <= SLACK_S
                 and math.isclose(row["grid_w"], served_grid_w(v), abs_tol=1e-3)]
        if twins:
            paired[min(twins, key=lambda t: abs(row["time"] - t))] += 1
        else:
            unexpected.append(row["time"])
    for measurement in DEVICES:
        for row in server.points(db, measurement):
            if since - SLACK_S <= row["time"] <= end + SLACK_S and not any(
                    abs(row["time"] - t) <= SLACK_S for t in window):
                unexpected.append(row["time"])
    return Accounting(
        scenario=scenario, measurement="power_flow", expected=len(window),
        present=len(paired), missing=sorted(set(window) - set(paired)),
        duplicated=sum(n - 1 for n in paired.values()), unexpected=sorted(unexpected),
        series=1, value_mismatches=0,
    )
