"""The grid operator's quarter-hours in InfluxDB: the names the Fluvius import writes and the
ledger reads (docs/schema.md, `ledger_fluvius`). Named once here because two sibling layers
share them (`logger.sources.fluvius` writes, `logger.ledger` reads) and may not import each other.

The measurement starts with `ledger_` on purpose: it is routed to the ledger's own retention
policy or bucket (kept for `[ledger] retention`, by default forever), since it is history from
before the logger that the raw retention would refuse or expire, and a ledger rebuild needs it.

Identity: installation + `ean` + `register` + the interval's start. The validation status is a
field, never a tag: Fluvius replaces an estimated value by a validated one later, and a re-import
must overwrite the same point, not start a second series next to it.
"""

from __future__ import annotations

MEASUREMENT = "ledger_fluvius"

# `register` tag values: the ledger's own names for the four electricity registers (tariff 1 =
# day, 2 = night, as the P1 registers 1.8.1 / 1.8.2 / 2.8.1 / 2.8.2), and gas.
IMPORT_T1, IMPORT_T2, EXPORT_T1, EXPORT_T2 = "import_t1", "import_t2", "export_t1", "export_t2"
ELECTRICITY = (IMPORT_T1, IMPORT_T2, EXPORT_T1, EXPORT_T2)
GAS = "gas"

REGISTER_NAMES = {IMPORT_T1: "import day", IMPORT_T2: "import night", EXPORT_T1: "export day",
                  EXPORT_T2: "export night", GAS: "gas"}  # as people say them (report, status)

ENERGY_KWH = "energy_kwh"  # electricity: the register's energy in the interval; gas: its kWh
ENERGY_STATUS = "energy_status"  # the validation status of that value (a code below)
VOLUME_M3 = "volume_m3"  # gas: m³ in the hour
VOLUME_STATUS = "volume_status"

# Validation status codes (fields are floats). "No consumption" comes with an empty volume and
# counts 0; "missing" is a row without a value (it writes no energy, only its status).
MISSING, READ, VALIDATED, ESTIMATED, NO_CONSUMPTION = 0, 1, 2, 3, 4
STATUS_NAMES = {
    MISSING: "missing",
    READ: "read",
    VALIDATED: "validated",
    ESTIMATED: "estimated",
    NO_CONSUMPTION: "no consumption",
}
