"""Readings -> `ledger_fluvius` Points (docs/schema.md; names in `logger.core.fluvius_schema`).

An electricity line is one point: its register's energy and status. A gas hour has two lines,
one in m³ and one in kWh, for the same identity (installation, ean, register `gas`, start): they
must become one point, since two points of one identity would overwrite each other's fields in
the outbox. A file's gas lines are therefore collected (an hourly year is 8,760 hours) and become
points when the file ends, whatever order its lines are in.
"""

from __future__ import annotations

from logger.core import fluvius_schema as schema
from logger.core.point import Point
from logger.sources.fluvius.fields import GAS, M3
from logger.sources.fluvius.parse import Reading


def _fields(value: int | None, status: int, value_name: str, status_name: str
            ) -> dict[str, float | None]:
    return {value_name: None if value is None else value / 1000, status_name: float(status)}


class PointMaker:
    """Points of one file's readings: electricity at once, gas when `finish` is called."""

    def __init__(self, installation: str) -> None:
        self.installation = installation
        self._gas: dict[tuple[str, int], dict[str, float | None]] = {}

    def _tags(self, reading: Reading) -> dict[str, str]:
        return {"installation": self.installation, "ean": reading.ean,
                "register": reading.register}

    def add(self, reading: Reading) -> Point | None:
        if reading.kind == GAS:
            if reading.unit == M3:
                names = (schema.VOLUME_M3, schema.VOLUME_STATUS)
            else:
                names = (schema.ENERGY_KWH, schema.ENERGY_STATUS)
            self._gas.setdefault((reading.ean, reading.start), {}).update(
                _fields(reading.value, reading.status, *names))
            return None
        fields = _fields(reading.value, reading.status, schema.ENERGY_KWH, schema.ENERGY_STATUS)
        return Point.make(schema.MEASUREMENT, self._tags(reading), fields, reading.start)

    def finish(self) -> list[Point]:
        """The gas hours collected so far, as points (and forget them)."""
        out = []
        for (ean, start), fields in sorted(self._gas.items(), key=lambda kv: kv[0][1]):
            tags = {"installation": self.installation, "ean": ean, "register": schema.GAS}
            point = Point.make(schema.MEASUREMENT, tags, fields, start)
            if point is not None:
                out.append(point)
        self._gas.clear()
        return out
