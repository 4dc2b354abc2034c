"""Fluvius exports: the grid operator's quarter-hour history, from the CSV files Mijn Fluvius
offers ("Verbruikshistoriek ... kwartiertotalen", "Consumption history ... 15 minute totals",
and the gas "uurtotalen" / "hourly totals"), turned into Points. Pure: file lines in, readings
and Points out, every refused line counted with its number and reason; no I/O, no InfluxDB.

- `header`: the header row in Dutch or English (both spellings Fluvius has used) -> columns.
- `fields`: one cell each: dates, times, volumes with decimal commas, `="EAN"`, registers,
  units and validation statuses.
- `times`: Belgian local times -> UTC, both DST days included (the repeated autumn hour by the
  interval's end time or, where both passes fit, by the order of the rows).
- `parse`: the lines of one file -> `Reading`s and `Refusal`s.
- `points`: readings -> `ledger_fluvius` Points (the names: `logger.core.fluvius_schema`).
- `tally`: what the imported files hold, once per quarter-hour however often files overlap.
"""
