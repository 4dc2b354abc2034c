"""The lines of one Fluvius export -> readings, and the lines refused with their reasons.

Tolerant of what the file can carry (a UTF-8 byte-order mark, CRLF or LF line ends, a last line
without its end, a re-saved file in Windows-1252 or with `,` between columns), strict about what
it means: a line whose cells cannot be read, whose interval is not a quarter-hour (gas: an hour),
whose register or unit is unknown, or whose status this parser does not know (with a value) is
refused, counted with its line number, and never becomes a point. An empty volume is a reading
too: 0 with the status "no consumption", otherwise "missing" (no value).

Streaming: lines in, readings out, so a two-year export never sits in memory whole.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from logger.core import fluvius_schema as schema
from logger.sources.fluvius import fields
from logger.sources.fluvius.fields import ELECTRICITY, GAS, KWH, CellError
from logger.sources.fluvius.header import Columns, HeaderError, columns_of, delimiter_of
from logger.sources.fluvius.times import Intervals

LENGTH_S = {ELECTRICITY: 900, GAS: 3600}
SHOWN_LINES = 10  # line numbers kept per reason (the count is always whole)


class FormatError(ValueError):
    """The file is not a Fluvius export this parser can read at all; the text says why."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One line: a register's value in one interval, in thousandths of its unit."""

    line: int
    kind: str  # ELECTRICITY or GAS
    register: str  # the `register` tag value
    unit: str  # KWH or M3
    start: int  # UTC epoch seconds
    end: int
    value: int | None  # Wh or litres; None when the file has no value (status MISSING)
    status: int  # logger.core.fluvius_schema code
    ean: str
    meter: str


@dataclass
class Refusals:
    """Lines not used: a count per reason, the first line numbers of each."""

    counts: Counter[str] = field(default_factory=Counter)
    lines: dict[str, list[int]] = field(default_factory=dict)

    def add(self, reason: str, line: int) -> None:
        self.counts[reason] += 1
        shown = self.lines.setdefault(reason, [])
        if len(shown) < SHOWN_LINES:
            shown.append(line)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class FileFacts:
    """What one file turned out to be, for the summary."""

    language: str = ""
    delimiter: str = ";"
    encoding: str = "utf-8"
    lines: int = 0  # data lines (not the header, not blank lines)
    readings: int = 0
    statuses: Counter[str] = field(default_factory=Counter)  # status name -> readings
    unknown_statuses: Counter[str] = field(default_factory=Counter)  # as written -> lines
    eans: set[str] = field(default_factory=set)
    meters: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)
    refused: Refusals = field(default_factory=Refusals)


def decoded_lines(chunks: Iterable[bytes], facts: FileFacts) -> Iterator[str]:
    """Text lines from the file's bytes, given as lines (an open binary file iterates so) or
    chunks of whole lines: the BOM dropped, CR/LF stripped, UTF-8, else Windows-1252 (a
    spreadsheet's "CSV" save)."""
    first = True
    for chunk in chunks:
        if first:
            first = False
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise FormatError("the file is UTF-16 (a spreadsheet's \"Unicode text\"): use "
                                  "the CSV file as Mijn Fluvius downloads it")
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        for piece in chunk.splitlines() or [b""]:  # CR, LF or CRLF; a CR-only file: one chunk
            try:
                yield piece.decode("utf-8")
            except UnicodeDecodeError:
                facts.encoding = "windows-1252"
                yield piece.decode("cp1252", errors="replace")


class ExportParser:
    """Parses one file; `readings(chunks)` yields, `facts` says what was seen and refused."""

    def __init__(self) -> None:
        self.facts = FileFacts()
        self._intervals = Intervals()
        self._columns: Columns | None = None

    def readings(self, chunks: Iterable[bytes]) -> Iterator[Reading]:
        lines = decoded_lines(chunks, self.facts)
        header = next(lines, None)
        while header is not None and not header.strip():
            header = next(lines, None)
        if header is None:
            raise FormatError("the file is empty")
        delimiter = delimiter_of(header)
        try:
            columns = columns_of(next(csv.reader([header], delimiter=delimiter)))
        except HeaderError as exc:
            raise FormatError(str(exc)) from None
        self._columns = columns
        self.facts.language, self.facts.delimiter = columns.language, delimiter
        reader = csv.reader(lines, delimiter=delimiter)
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            line = reader.line_num + 1  # the header is line 1
            self.facts.lines += 1
            try:
                reading = self._reading(row, line, columns)
            except (CellError, ValueError) as exc:
                self.facts.refused.add(str(exc), line)
                continue
            if reading is not None:
                self.facts.readings += 1
                yield reading

    def _reading(self, row: list[str], line: int, columns: Columns) -> Reading | None:
        if len(row) < columns.needed:
            raise CellError(f"{len(row)} of {columns.width} columns (a truncated line?)")
        cell = columns.get
        kind, register = fields.register(cell(row, "register"))
        unit = fields.unit(cell(row, "unit"))
        if kind == ELECTRICITY and unit != KWH:
            raise CellError(f"electricity in {cell(row, 'unit').strip()!r}, not kWh")
        value = fields.volume(cell(row, "volume"))
        status_text = cell(row, "status")
        status = fields.status(status_text)
        if value is None:
            if status == schema.NO_CONSUMPTION:
                value = 0
            else:
                status = schema.MISSING
        elif status is None:
            shown = " ".join(status_text.split())[:40] or "(empty)"
            self.facts.unknown_statuses[shown] += 1
            raise CellError(f"validation status {shown!r} is not known: not imported")
        elif status == schema.NO_CONSUMPTION and value:
            raise CellError("status \"no consumption\" with a volume that is not 0")
        start, end = self._intervals.resolve(
            f"{register}/{unit}", fields.day(cell(row, "from_date")),
            fields.seconds_of_day(cell(row, "from_time")), fields.day(cell(row, "to_date")),
            fields.seconds_of_day(cell(row, "to_time")), LENGTH_S[kind])
        ean = fields.ean(cell(row, "ean"))
        meter = cell(row, "meter").strip()
        self.facts.kinds.add(kind)
        self.facts.eans.add(ean)
        if meter:
            self.facts.meters.add(meter)
        self.facts.statuses[schema.STATUS_NAMES[status]] += 1
        return Reading(line, kind, register, unit, start, end, value, status, ean, meter)
