"""Day-ahead prices from a CSV file (`jullix-logger prices import FILE`). Pure.

The format (docs/cost.md): one price per line, `start,price_eur_mwh[,resolution]`, with an
optional header line. `start` is the period's start in ISO 8601 with its UTC offset
(`2025-10-26T02:00:00+01:00`) or in UTC (`...Z`): a local time without an offset is refused,
since the repeated autumn hour would make it two instants. `price_eur_mwh` may be negative; with
`;` as the separator (a spreadsheet in a Belgian locale) a decimal comma is accepted too.

The resolution (`PT15M` or `PT60M`) is inferred from the distance to the next line's start (the
last line, and a line before a gap, take the one before them) and checked: each start lies on a
multiple of its resolution in UTC, two lines never share a start, and a third column, when
given, agrees. The first problem stops the import with its line number: a half-imported file is
worse than none.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from itertools import pairwise

from logger.sources.prices.a44 import duration_s
from logger.sources.prices.points import RESOLUTIONS, PricePoint

KNOWN = tuple(RESOLUTIONS)  # seconds: 900, 1800, 3600


class CsvError(ValueError):
    """The file is not the documented format; the text names the line."""


def _start(text: str, line: int) -> int:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CsvError(f"line {line}: {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise CsvError(f"line {line}: {text!r} has no UTC offset (a Belgian local time is "
                       "ambiguous in the autumn hour): write +01:00, +02:00 or Z")
    return int(moment.timestamp())


def _price(text: str, line: int, decimal_comma: bool) -> float:
    value = text.strip()
    if decimal_comma:
        value = value.replace(",", ".")
    try:
        price = float(value)
    except ValueError:
        raise CsvError(f"line {line}: price {text!r} is not a number (EUR/MWh)") from None
    if price != price or abs(price) > 100_000:
        raise CsvError(f"line {line}: price {text!r} is not a price in EUR/MWh")
    return price


def parse_csv(text: str) -> list[PricePoint]:
    """The prices of one CSV file, in time order; CsvError on the first problem."""
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    delimiter = ";" if ";" in first else ","
    rows: list[tuple[int, int, float, int | None]] = []  # (start, line, price, resolution)
    for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        if not fields or not "".join(fields).strip() or fields[0].lstrip().startswith("#"):
            continue
        if not rows and not fields[0].strip()[:1].isdigit():
            continue  # the header line
        if len(fields) not in (2, 3):
            raise CsvError(f"line {number}: expected start,price_eur_mwh[,resolution], got "
                           f"{len(fields)} fields")
        given = None
        if len(fields) == 3 and fields[2].strip():
            try:
                given = duration_s(fields[2].strip().upper())
            except ValueError:
                raise CsvError(f"line {number}: resolution {fields[2]!r} is not PT15M or "
                               "PT60M") from None
        rows.append((_start(fields[0], number), number,
                     _price(fields[1], number, delimiter == ";"), given))
    if not rows:
        raise CsvError("no prices in the file")
    rows.sort()
    return _with_resolutions(rows)


def _with_resolutions(rows: list[tuple[int, int, float, int | None]]) -> list[PricePoint]:
    for before, row in pairwise(rows):
        if row[0] == before[0]:
            raise CsvError(f"line {max(row[1], before[1])}: starts the period line "
                           f"{min(row[1], before[1])} started too")
    out: list[PricePoint] = []
    previous: int | None = None
    for i, (start, line, price, given) in enumerate(rows):
        step = rows[i + 1][0] - start if i + 1 < len(rows) else None
        inferred = step if step in KNOWN else previous
        if given is not None and given not in KNOWN:
            raise CsvError(f"line {line}: resolution {given} s is not PT15M, PT30M or PT60M")
        resolution = given or inferred
        if resolution is None:
            raise CsvError(f"line {line}: cannot tell its resolution (no neighbour 15 or 60 "
                           "minutes away): add a third column PT15M or PT60M")
        if given is not None and inferred is not None and step in KNOWN and given != step:
            raise CsvError(f"line {line}: says {given // 60} minutes but the next period starts "
                           f"{step // 60} minutes later")
        if start % resolution:
            raise CsvError(f"line {line}: a {resolution // 60}-minute period cannot start at "
                           f"{datetime.fromtimestamp(start, UTC):%Y-%m-%d %H:%M} UTC")
        if step is not None and step < resolution:
            raise CsvError(f"line {line}: the next period starts before this one ends")
        previous = resolution
        out.append(PricePoint(start, resolution, price))
    return out
