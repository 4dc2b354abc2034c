"""`power_flow`: the installation-level view every power source writes, and its one rule.

Conventions (docs/schema.md): grid + import / - export; battery + discharging / - charging (the
box's inverter convention); `home_w` = grid + solar + battery - car, i.e. consumption other than
the car, and only when every term is known at that instant: a missing term would make the home
look like it used (or produced) what was not measured.
"""

from __future__ import annotations

from datetime import datetime

from logger.core.point import Point

TERMS = ("grid_w", "solar_w", "battery_w", "car_w")


def home_w(grid_w: float | None, solar_w: float | None, battery_w: float | None,
           car_w: float | None) -> float | None:
    """Consumption other than the car, or None unless every term is known."""
    if grid_w is None or solar_w is None or battery_w is None or car_w is None:
        return None
    return grid_w + solar_w + battery_w - car_w


def power_flow_point(
    installation: str,
    moment: datetime | int,
    source: str,
    grid_w: float | None,
    solar_w: float | None,
    battery_w: float | None,
    car_w: float | None,
) -> Point | None:
    """The `power_flow` point of one instant (tag `source`: `local` or `cloud`)."""
    fields = {
        "grid_w": grid_w,
        "solar_w": solar_w,
        "battery_w": battery_w,
        "car_w": car_w,
        "home_w": home_w(grid_w, solar_w, battery_w, car_w),
    }
    return Point.make("power_flow", {"installation": installation, "source": source}, fields,
                      moment)
