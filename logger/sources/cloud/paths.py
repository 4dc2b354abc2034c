"""The platform API paths the logger calls (dates unpadded, as the one known client does)."""

from __future__ import annotations

from datetime import date

# device in the history path -> power_flow field
HISTORY_DEVICES = {"grid": "grid_w", "solar": "solar_w", "battery": "battery_w",
                   "charger": "car_w"}


def ymd(day: date) -> str:
    return f"{day.year}/{day.month}/{day.day}"


def history_path(installation_id: str, device: str, quantity: str, day: date) -> str:
    return f"history/recent/{installation_id}/{device}/{quantity}/{ymd(day)}"


def day_history_paths(installation_id: str, day: date) -> list[str]:
    """The calls the backfill makes for one day."""
    return [history_path(installation_id, d, "power", day) for d in HISTORY_DEVICES]


def probe_paths(installation_id: str, day: date) -> list[str]:
    """Every read-only history/statistics endpoint known or inferred, for `cloud-probe`."""
    paths = [
        "installation/all",
        f"installation/{installation_id}",
        f"actual/{installation_id}/summary/power",
    ]
    paths += [f"actual/{installation_id}/detail/{t}" for t in
              ("battery", "solar", "grid", "home", "plug", "charger", "metering")]
    for device in ("grid", "solar", "battery", "home", "charger", "plug"):
        for quantity in ("power", "energy"):
            paths.append(history_path(installation_id, device, quantity, day))
    paths += [f"statistics/energy/{installation_id}/{span}"
              for span in ("daily", "monthly", "yearly")]
    paths += [f"cost/hourly/price/{installation_id}/{ymd(day)}",
              f"cost/total/{installation_id}/{day.year}/{day.month}",
              f"charger/installation/{installation_id}/all",
              f"plug/installation/{installation_id}/all"]
    return paths
