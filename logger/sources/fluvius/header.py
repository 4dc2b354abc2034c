"""The header row of a Fluvius export, in Dutch or English, to column positions.

Seen in public exports (docs/fluvius.md lists the sources):

- Dutch, older: `Van Datum;Van Tijdstip;Tot Datum;Tot Tijdstip;EAN;Meter;Metertype;Register;
  Volume;Eenheid;Validatiestatus` (later `Van datum`, ..., and `EAN-code` in gas files, which
  add `Calorische Bovenwaarde`);
- Dutch, newer: `Van (datum);Van (tijdstip);Tot (datum);Tot (tijdstip);EAN-code;...;
  Validatiestatus;Omschrijving`;
- English: `From (date);From (time);Until (date);Until (time);EAN code;Meter;Meter type;
  Register;Volume;Unit;Validation status;Description` (gas: `Caloric upper value` before
  `Description`).

Names are compared without case, brackets, dashes and repeated spaces, so each of these spellings
(and a header a spreadsheet re-saved) maps to the same columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# normalised header name -> (column role, language)
_NAMES = {
    "van datum": ("from_date", "nl"), "van tijdstip": ("from_time", "nl"),
    "tot datum": ("to_date", "nl"), "tot tijdstip": ("to_time", "nl"),
    "ean": ("ean", ""), "ean code": ("ean", ""), "meter": ("meter", ""),
    "metertype": ("meter_type", "nl"), "meter type": ("meter_type", "en"),
    "register": ("register", ""), "volume": ("volume", ""),
    "eenheid": ("unit", "nl"), "unit": ("unit", "en"),
    "validatiestatus": ("status", "nl"), "validation status": ("status", "en"),
    "omschrijving": ("description", "nl"), "description": ("description", "en"),
    "calorische bovenwaarde": ("caloric", "nl"), "caloric upper value": ("caloric", "en"),
    "from date": ("from_date", "en"), "from time": ("from_time", "en"),
    "until date": ("to_date", "en"), "until time": ("to_time", "en"),
}
REQUIRED = ("from_date", "from_time", "to_date", "to_time", "ean", "register", "volume", "unit",
            "status")
DELIMITERS = (";", ",", "\t")


class HeaderError(ValueError):
    """The first line is not the header of a Fluvius export; the text says what is missing."""


@dataclass(frozen=True)
class Columns:
    """Where each role is (index into a row), the language, and how many columns a row has."""

    index: dict[str, int]
    language: str  # "nl", "en" or "" (no language-specific name seen)
    width: int

    @property
    def needed(self) -> int:
        """Cells a line must have: up to the last required column (a trailing description or
        caloric value may be cut off, the data may not)."""
        return max(self.index[role] for role in REQUIRED) + 1

    def get(self, row: list[str], role: str) -> str:
        at = self.index.get(role)
        return row[at] if at is not None and at < len(row) else ""


def normalise(name: str) -> str:
    name = name.strip().strip('"').lower()
    name = re.sub(r"[()\-_]", " ", name)
    return " ".join(name.split())


def delimiter_of(line: str) -> str:
    """The separator of a header line: Fluvius writes `;`, a re-saved file may use `,` or tab."""
    return max(DELIMITERS, key=line.count)


def columns_of(names: list[str]) -> Columns:
    """The columns of a header row; HeaderError names the roles it lacks."""
    index: dict[str, int] = {}
    languages: set[str] = set()
    for at, name in enumerate(names):
        known = _NAMES.get(normalise(name))
        if known is None or known[0] in index:
            continue
        index[known[0]] = at
        if known[1]:
            languages.add(known[1])
    missing = [role for role in REQUIRED if role not in index]
    if missing:
        shown = ";".join(n.strip() for n in names[:14])[:200]
        raise HeaderError(f"not a Fluvius export header (no column for {', '.join(missing)}); "
                          f"the first line reads {shown!r}")
    language = languages.pop() if len(languages) == 1 else ""
    return Columns(index, language, len(names))
