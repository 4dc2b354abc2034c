"""A Mijn Fluvius export of a simulated history (tests/ledger_data.py): what the grid operator
would let the user download for the same meter, in the shape of the public samples
(tests/data/fluvius/README.md): the Dutch `kwartiertotalen` and `uurtotalen` files.

Values are the model's ground truth: each quarter's register differences in Wh (the integer-joule
counters floored to the register's resolution, as the meter shows them), two lines per quarter
for the tariff in force (offtake and injection), gas per hour in m³ and kWh. Wall times are the
Belgian local times of the interval's start and end instants, which is how Fluvius writes the DST
days (the first pass's 02:45 quarter "ends" 02:00). Written by the test, not by the product.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger_data import History

from logger.testbed.simulator.model import NIGHT_END_H, NIGHT_START_H

BRUSSELS = ZoneInfo("Europe/Brussels")  # the test's own zone arithmetic, not the product's
HEADER = ("Van datum;Van tijdstip;Tot datum;Tot tijdstip;EAN;Meter;Metertype;Register;Volume;"
          "Eenheid;Validatiestatus")
GAS_HEADER = ("Van datum;Van tijdstip;Tot datum;Tot tijdstip;EAN-code;Meter;Metertype;Register;"
              "Volume;Eenheid;Validatiestatus;Calorische Bovenwaarde")
EAN = "541448820099887766"
GAS_EAN = "541448860099887766"
KWH_PER_M3 = 11.25  # the caloric value the generated gas kWh use (Wh per litre)


def wall(t: int) -> tuple[str, str]:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.strftime("%d-%m-%Y"), local.strftime("%H:%M:%S")


def night(t: int) -> bool:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.weekday() >= 5 or local.hour >= NIGHT_START_H or local.hour < NIGHT_END_H


def kwh(wh: int) -> str:
    return f"{wh // 1000},{wh % 1000:03d}"


def quarter_energy(history: History, t: int) -> dict[str, int]:
    """Wh per register of the quarter [t, t + 900) from the model's truth."""
    a, b = history.truth[t], history.truth[t + 900]
    return {"import_t1": b.import_wh[0] - a.import_wh[0],
            "import_t2": b.import_wh[1] - a.import_wh[1],
            "export_t1": b.export_wh[0] - a.export_wh[0],
            "export_t2": b.export_wh[1] - a.export_wh[1]}


def electricity_lines(history: History, starts: Iterable[int], meter: str,
                      planted: dict[tuple[int, str], int] | None = None) -> list[str]:
    """Two lines per quarter (the tariff in force); `planted`: Wh added to (start, register)."""
    lines = [HEADER]
    for t in starts:
        energy = quarter_energy(history, t)
        for key, wh in (planted or {}).items():
            if key[0] == t:
                energy[key[1]] += wh
        tariff = "t2" if night(t) else "t1"
        idle = "t1" if tariff == "t2" else "t2"
        assert energy[f"import_{idle}"] == energy[f"export_{idle}"] == 0, (t, energy)
        row = ";".join((*wall(t), *wall(t + 900), f'="{EAN}"', meter, "Digitale Meter"))
        name = "Nacht" if tariff == "t2" else "Dag"
        lines.append(f"{row};Afname {name};{kwh(energy[f'import_{tariff}'])};kWh;Gevalideerd")
        lines.append(f"{row};Injectie {name};{kwh(energy[f'export_{tariff}'])};kWh;Gevalideerd")
    return lines


def gas_lines(history: History, starts: Iterable[int], meter: str) -> list[str]:
    lines = [GAS_HEADER]
    for t in starts:
        litres = history.truth[t + 3600].gas_l - history.truth[t].gas_l
        assert history.truth[t].gas_l >= 0 and history.truth[t + 3600].gas_l >= 0
        row = ";".join((*wall(t), *wall(t + 3600), f'="{GAS_EAN}"', meter, "Digitale Meter"))
        lines.append(f"{row};Afname;{kwh(round(litres * KWH_PER_M3))};kWh;Gevalideerd;Definitief")
        lines.append(f"{row};Afname;{kwh(litres)};m³;Gevalideerd;")
    return lines


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\ufeff" + "\n".join(lines)).encode())  # BOM, LF, no final line end
    return path
