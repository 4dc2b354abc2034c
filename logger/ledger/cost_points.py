"""Cost and savings rows as `ledger_cost` / `ledger_savings` fields and Points, and stored day
fields read back as rows (a month is the sum of its days). Pure; docs/schema.md defines every
field.

`cost_fields` / `savings_fields` are also the plain dicts a JSON view shows. A missing period
(a quarter without the day-ahead price its contract needs, or a longer period holding one) is
written with `missing` = 1 and no euro field at all: it is never costed as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isfinite

from logger.core.point import Point
from logger.ledger.cost import Charges, CostRow
from logger.ledger.savings import Counterfactual, SavingsRow
from logger.ledger.tariff import billed

COST = "ledger_cost"
SAVINGS = "ledger_savings"
MEASUREMENTS = (COST, SAVINGS)

COST_FIELDS = (
    "import_kwh", "export_kwh", "energy_eur", "grid_eur", "levies_eur", "injection_eur",
    "fixed_eur", "capacity_eur", "vat_eur", "total_eur", "price_eur_mwh", "price_basis_s",
    "contract_from_s", "missing", "missing_quarters", "quarters", "days", "estimated",
    "import_no_battery_kwh", "export_no_battery_kwh", "import_no_solar_kwh", "profile_points",
)
SAVINGS_FIELDS = (
    "import_no_battery_kwh", "export_no_battery_kwh", "import_no_solar_kwh", "cost_eur",
    "cost_no_battery_eur", "cost_no_solar_eur", "battery_eur", "battery_arbitrage_eur",
    "battery_capacity_eur", "solar_eur", "solar_avoided_import_eur", "solar_injection_eur",
    "peak_no_battery_w", "peak_no_solar_w", "billed_no_battery_w", "billed_no_solar_w",
    "mean_12m_no_battery_w", "mean_12m_no_solar_w", "profile_points", "missing", "estimated",
)
LONG = ("1d", "1mo")

Fields = dict[str, float | None]


def cost_fields(row: CostRow) -> Fields:
    """The `ledger_cost` fields of one period."""
    missing = row.missing > 0
    out: Fields = {
        "import_kwh": row.import_wh / 1000, "export_kwh": row.export_wh / 1000,
        "missing": 1.0 if missing else 0.0, "estimated": 1.0 if row.estimated else 0.0,
        "contract_from_s": None if row.contract_from is None else float(row.contract_from),
    }
    if row.kind == "15m":  # a quarter is one quarter, missing or not: no counts to write
        out["price_basis_s"] = float(row.basis_s)
    else:
        out["missing_quarters"] = float(row.missing)
        out["quarters"] = float(row.quarters)
    if row.kind in LONG:
        out["days"] = float(row.days)
    if missing:
        return out
    c = row.charges
    out.update(energy_eur=c.energy, grid_eur=c.grid, levies_eur=c.levies,
               injection_eur=c.injection, vat_eur=c.vat, total_eur=c.total,
               price_eur_mwh=row.price_eur_mwh)
    if row.kind in LONG:
        out["fixed_eur"] = c.fixed
    if row.kind == "1mo":
        out["capacity_eur"] = c.capacity
    return out


def counterfactual_fields(cf: Counterfactual) -> Fields:
    """What a `15m` cost point carries of the savings: the quarter's counterfactual energies
    and the `power_flow` samples they came from (`ledger_savings` sums them per day)."""
    return {"import_no_battery_kwh": cf.no_battery.imported / 1000,
            "export_no_battery_kwh": cf.no_battery.exported / 1000,
            "import_no_solar_kwh": cf.no_solar.imported / 1000,
            "profile_points": float(cf.points)}


def savings_fields(row: SavingsRow) -> Fields:
    """The `ledger_savings` fields of one period."""
    missing = row.missing > 0
    out: Fields = {
        "import_no_battery_kwh": row.import_no_battery_wh / 1000,
        "export_no_battery_kwh": row.export_no_battery_wh / 1000,
        "import_no_solar_kwh": row.import_no_solar_wh / 1000,
        "profile_points": float(row.points), "missing": 1.0 if missing else 0.0,
        "estimated": 1.0 if row.estimated else 0.0,
    }
    out["peak_no_battery_w"] = row.peak_no_battery_w
    out["peak_no_solar_w"] = row.peak_no_solar_w
    if row.kind == "1mo":
        out["billed_no_battery_w"] = billed(row.peak_no_battery_w)
        out["billed_no_solar_w"] = billed(row.peak_no_solar_w)
        out["mean_12m_no_battery_w"] = row.mean_no_battery_w
        out["mean_12m_no_solar_w"] = row.mean_no_solar_w
    if missing:
        return out
    out.update(cost_eur=row.actual.total, cost_no_battery_eur=row.no_battery.total,
               cost_no_solar_eur=row.no_solar.total, battery_eur=row.battery_eur,
               battery_arbitrage_eur=row.battery_eur - row.battery_capacity_eur,
               solar_eur=row.solar_eur, solar_injection_eur=row.solar_injection_eur,
               solar_avoided_import_eur=row.solar_eur - row.solar_injection_eur)
    if row.kind == "1mo":
        out["battery_capacity_eur"] = row.battery_capacity_eur
    return out


def point(measurement: str, kind: str, start: int, fields: Fields, installation: str
          ) -> Point | None:
    """The period's Point. A year is ~80,000 of them, so the tags (the installation name was
    checked when the config was read; `period` is one of four words) are not checked again
    per point, and the fields (floats by construction) are only filtered for None and NaN and
    sorted, which is what `Point.make` would do with them."""
    values = [(k, v) for k, v in fields.items() if v is not None and isfinite(v)]
    values.sort()
    if not values:
        return None
    tags = (("installation", installation), ("period", kind))
    return Point(measurement, tags, tuple(values), start)


def _f(fields: Mapping[str, float | None], name: str) -> float:
    value = fields.get(name)
    return 0.0 if value is None else float(value)


def cost_from_fields(kind: str, start: int, end: int, fields: Mapping[str, float | None]
                     ) -> CostRow:
    """A stored day (or month) back as a row, for summing a month."""
    row = CostRow(kind, start, end, round(_f(fields, "import_kwh") * 1000),
                  round(_f(fields, "export_kwh") * 1000))
    row.charges = Charges(_f(fields, "energy_eur"), _f(fields, "grid_eur"),
                          _f(fields, "levies_eur"), _f(fields, "injection_eur"),
                          _f(fields, "fixed_eur"), 0.0, _f(fields, "vat_eur"))
    row.missing = int(_f(fields, "missing_quarters") if kind != "15m" else _f(fields, "missing"))
    row.quarters = int(_f(fields, "quarters")) if kind != "15m" else 1
    row.days = int(_f(fields, "days"))
    row.estimated = bool(_f(fields, "estimated"))
    contract = fields.get("contract_from_s")
    row.contract_from = None if contract is None else int(contract)
    price = fields.get("price_eur_mwh")
    if price is not None:
        row.spot_sum, row.spot_n = float(price) * max(row.quarters, 1), max(row.quarters, 1)
        if row.import_wh:
            row.spot_import, row.spot_wh = float(price) * row.import_wh, row.import_wh
    return row


def _totals(total: float, injection: float) -> Charges:
    return Charges(energy=total + injection, injection=injection)


def savings_from_fields(kind: str, start: int, end: int, fields: Mapping[str, float | None]
                        ) -> SavingsRow:
    """A stored savings day back as a row: its totals (and the injection the sun earned),
    which is what a month sums."""
    row = SavingsRow(kind, start, end, estimated=bool(_f(fields, "estimated")))
    row.actual = _totals(_f(fields, "cost_eur"), 0.0)
    row.no_battery = _totals(_f(fields, "cost_no_battery_eur"),
                             _f(fields, "solar_injection_eur"))
    row.no_solar = _totals(_f(fields, "cost_no_solar_eur"), 0.0)
    row.import_no_battery_wh = round(_f(fields, "import_no_battery_kwh") * 1000)
    row.export_no_battery_wh = round(_f(fields, "export_no_battery_kwh") * 1000)
    row.import_no_solar_wh = round(_f(fields, "import_no_solar_kwh") * 1000)
    row.peak_no_battery_w = _f(fields, "peak_no_battery_w")
    row.peak_no_solar_w = _f(fields, "peak_no_solar_w")
    row.missing = int(_f(fields, "missing"))
    row.points = int(_f(fields, "profile_points"))
    return row
