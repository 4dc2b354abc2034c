"""Readings -> `ledger_fluvius` Points (docs/schema.md; names in `logger.core.fluvius_schema`).

An electricity line is one point: its register's energy and status. A gas hour has two lines,
one in m³ and one in kWh, for the same identity (installation, ean, register `gas`, start): they
must become one point, since two points of one identity would overwrite each other's fields in
the outbox. A gas hour becomes a point once both its lines were read (they are next to each
other in Fluvius's files); an hour still waiting for its other line when the file ends (a file
of m³ only, or one sorted by unit) becomes a point then, whatever order the lines were in.
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
    """Points of one file's readings: electricity at once, a gas hour once it has both lines,
    the rest when `finish` is called."""

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
            key = (reading.ean, reading.start)
            fields = self._gas.setdefault(key, {})
            fields.update(_fields(reading.value, reading.status, *names))
            if schema.VOLUME_STATUS in fields and schema.ENERGY_STATUS in fields:
                del self._gas[key]  # both lines of the hour: done
                return Point.make(schema.MEASUREMENT, self._tags(reading), fields, reading.start)
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
