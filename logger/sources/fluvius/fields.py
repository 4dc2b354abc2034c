"""One cell of a Fluvius export each: volumes, EANs, registers, units, validation statuses,
dates and times. Every function returns the value or raises `CellError` with a short reason (the
line is then refused and counted, never guessed).

The vocabulary is what public exports show (docs/fluvius.md): Dutch `Afname Dag`, `Afname Nacht`,
`Injectie Dag`, `Injectie Nacht` (gas: `Afname`), English `Offtake Day/Night`, `Injection
Day/Night` (gas: `Offtake`); statuses `Gevalideerd`, `Uitgelezen`, `Geschat`, `Geen verbruik`
and `Validated`, `Read`, `Estimated`, `No consumption`. Volumes have three decimals and a decimal
comma (`0,173`); an empty volume is either "no consumption" (0) or missing.
"""

from __future__ import annotations

from datetime import date

from logger.core import fluvius_schema as schema
from logger.core.point import tag_problem


class CellError(ValueError):
    """A cell that cannot be read; the message is the reason shown for the line."""


ELECTRICITY, GAS = "electricity", "gas"

# normalised register text -> (kind, `register` tag value)
REGISTERS = {
    "afname dag": (ELECTRICITY, schema.IMPORT_T1),
    "afname nacht": (ELECTRICITY, schema.IMPORT_T2),
    "injectie dag": (ELECTRICITY, schema.EXPORT_T1),
    "injectie nacht": (ELECTRICITY, schema.EXPORT_T2),
    "offtake day": (ELECTRICITY, schema.IMPORT_T1),
    "offtake night": (ELECTRICITY, schema.IMPORT_T2),
    "injection day": (ELECTRICITY, schema.EXPORT_T1),
    "injection night": (ELECTRICITY, schema.EXPORT_T2),
    "afname": (GAS, schema.GAS),
    "offtake": (GAS, schema.GAS),
}
KWH, M3 = "kwh", "m3"
UNITS = {"kwh": KWH, "m³": M3, "m3": M3}
STATUSES = {
    "gevalideerd": schema.VALIDATED, "validated": schema.VALIDATED,
    "uitgelezen": schema.READ, "read": schema.READ,
    "geschat": schema.ESTIMATED, "estimated": schema.ESTIMATED,
    "geen verbruik": schema.NO_CONSUMPTION, "no consumption": schema.NO_CONSUMPTION,
}


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def register(text: str) -> tuple[str, str]:
    found = REGISTERS.get(_norm(text))
    if found is None:
        raise CellError(f"unknown register {text.strip()[:40]!r}")
    return found


def unit(text: str) -> str:
    found = UNITS.get(_norm(text))
    if found is None:
        raise CellError(f"unknown unit {text.strip()[:20]!r}")
    return found


def status(text: str) -> int | None:
    """The status code, None for a status this parser does not know (the caller counts it)."""
    return STATUSES.get(_norm(text))


def volume(text: str) -> int | None:
    """A volume in thousandths (Wh of a kWh value, litres of an m³ value); None when empty.

    `0,173` (Fluvius), `0.173` (a file re-saved in English), `1.234,567` (thousands dots).
    Three decimals are exact; a fourth and beyond are rounded half to even."""
    written = text.strip()
    text = written.strip('"').replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    whole, _, fraction = text.partition(".")
    if not whole:
        whole = "0"
    if not (whole.isdigit() and (fraction.isdigit() or not fraction)) or not whole.isascii():
        raise CellError(f"volume {written[:20]!r} is not a non-negative number")
    units = int(whole) * 1000 + int((fraction[:3] or "0").ljust(3, "0"))
    rest = fraction[3:]
    if rest:
        tail = int(rest) / 10 ** len(rest)
        if tail > 0.5 or (tail == 0.5 and units % 2):
            units += 1
    return units


def ean(text: str) -> str:
    """`="541448820052377134"` (how Fluvius keeps a spreadsheet from rounding it), or plain."""
    value = text.strip()
    if value.startswith("="):
        value = value[1:]
    value = value.strip().strip('"').strip()
    if not value:
        raise CellError("empty EAN")
    if not value.isalnum() or tag_problem(value) is not None:
        raise CellError(f"EAN {value[:30]!r} is not an EAN code (a spreadsheet may have "
                        "rounded it: use the file as downloaded)")
    return value


def day(text: str) -> date:
    """`22/10/2023` (English), `12-10-2021` (Dutch), `12.10.2021`, or ISO `2021-10-12`."""
    value = text.strip()
    parts = value.replace("/", "-").replace(".", "-").split("-")
    try:
        if len(parts) == 3 and len(parts[0]) == 4:
            return date(int(parts[0]), int(parts[1]), int(parts[2]))
        if len(parts) == 3 and len(parts[2]) == 4:
            return date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        pass
    raise CellError(f"date {value[:20]!r} is not DD-MM-YYYY")


def seconds_of_day(text: str) -> int:
    """`00:15:00` or `0:15` as seconds after local midnight (`24:00` is the next midnight)."""
    value = text.strip()
    parts = value.split(":")
    try:
        if len(parts) in (2, 3) and all(p.isdigit() for p in parts):
            h, m, s = int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else 0
            if m < 60 and s < 60 and (h < 24 or (h, m, s) == (24, 0, 0)):
                return h * 3600 + m * 60 + s
    except ValueError:
        pass
    raise CellError(f"time {value[:20]!r} is not HH:MM:SS")
