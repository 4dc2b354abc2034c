"""How the files next to this script were made (run once; the tests read the files, never this).

Each file has the exact shape of a public Mijn Fluvius export (README.md in this folder says
which), with values that follow a simple rule so the tests' expected numbers can be worked out
by hand: `python tests/data/fluvius/make_samples.py` rewrites them byte for byte.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
BOM = "\ufeff"
EAN = '="541448820044512345"'
GAS_EAN = '="541448860022334455"'
METER = "1SAG1100000292"
GAS_METER = "7MIT1100000293"


def kwh(wh: int) -> str:
    return f"{wh // 1000},{wh % 1000:03d}"


def write(name: str, lines: list[str], newline: str, final_newline: bool) -> None:
    text = BOM + newline.join(lines) + (newline if final_newline else "")
    (HERE / name).write_bytes(text.encode("utf-8"))


def autumn_nl() -> None:
    """2021-10-31 (Sunday: night registers only), 100 quarter-hours, as the Dutch sample."""
    header = ("Van datum;Van tijdstip;Tot datum;Tot tijdstip;EAN;Meter;Metertype;Register;"
              "Volume;Eenheid;Validatiestatus")
    times = [f"{h:02d}:{m:02d}:00" for h in range(3) for m in (0, 15, 30, 45)]
    times += [f"02:{m:02d}:00" for m in (0, 15, 30, 45)]  # the second pass
    times += [f"{h:02d}:{m:02d}:00" for h in range(3, 24) for m in (0, 15, 30, 45)]
    lines = [header]
    for i, start in enumerate(times):
        h, m = int(start[:2]), int(start[3:5])
        end = f"{h + (m + 15) // 60:02d}:{(m + 15) % 60:02d}:00"
        end = "00:00:00" if (h, m) == (23, 45) else end
        end_day = "01-11-2021" if (h, m) == (23, 45) else "31-10-2021"
        if i == 11:
            end = "02:00:00"  # the first pass's 02:45 quarter ends at 03:00 CEST = 02:00 CET
        status = "Geschat" if 40 <= i < 50 else "Gevalideerd"
        row = f"31-10-2021;{start};{end_day};{end};{EAN};{METER};Digitale Meter"
        lines.append(f"{row};Afname Nacht;{kwh(100 + i)};kWh;{status}")
        lines.append(f"{row};Injectie Nacht;;kWh;Geen verbruik")
    write("Verbruikshistoriek_elektriciteit_541448820044512345_20211031_20211031_"
          "kwartiertotalen.csv", lines, "\n", final_newline=False)


def spring_en() -> None:
    """2024-03-31 (Sunday), 92 quarter-hours, English as the English sample; truncated end."""
    header = ("From (date);From (time);Until (date);Until (time);EAN code;Meter;Meter type;"
              "Register;Volume;Unit;Validation status;Description")
    starts = [(h, m) for h in range(24) for m in (0, 15, 30, 45) if h != 2]
    lines = [header]
    for i, (h, m) in enumerate(starts):
        end_h, end_m = h + (m + 15) // 60, (m + 15) % 60
        if (end_h, end_m) == (2, 0):
            end_h = 3  # 01:45 CET + 15 min = 03:00 CEST
        end_day, end = "31/03/2024", f"{end_h:02d}:{end_m:02d}:00"
        if end_h == 24:
            end_day, end = "01/04/2024", "00:00:00"
        row = f"31/03/2024;{h:02d}:{m:02d}:00;{end_day};{end};{EAN};{METER};Digital meter"
        if i == 0:
            lines.append(f"{row};Offtake Night;;kWh;No consumption;")
            lines.append(f"{row};Injection Night;;kWh;No consumption;")
            continue
        status = "Estimated" if i == 50 else ("Validated" if i >= 60 else "Read")
        lines.append(f"{row};Offtake Night;{kwh(200 + i)};kWh;{status};")
        lines.append(f"{row};Injection Night;{kwh(i % 7)};kWh;{status};")
    lines.append(f"01/04/2024;00:00:00;01/04/2024;00:15:00;{EAN};{METER};Digital meter;"
                 "Offtake Nig")
    write("Consumption_history_electricity_541448820044512345_20240331_20240401_"
          "15 minute totals.csv", lines, "\r\n", final_newline=False)


def statuses_nl() -> None:
    """A Monday morning with every status and every kind of bad line; the newer Dutch header."""
    header = ("Van (datum);Van (tijdstip);Tot (datum);Tot (tijdstip);EAN-code;Meter;Metertype;"
              "Register;Volume;Eenheid;Validatiestatus;Omschrijving")
    day = "15-01-2024"

    def row(start: str, end: str, register: str, volume: str, status: str, unit: str = "kWh",
            date: str = day) -> str:
        return (f"{date};{start};{day};{end};{EAN};{METER};Digitale Meter;{register};{volume};"
                f"{unit};{status};")

    lines = [header,
             row("06:45:00", "07:00:00", "Afname Nacht", "0,150", "Uitgelezen"),
             row("06:45:00", "07:00:00", "Injectie Nacht", "0,000", "Uitgelezen"),
             row("07:00:00", "07:15:00", "Afname Dag", "0,210", "Gevalideerd"),
             row("07:00:00", "07:15:00", "Injectie Dag", "0,005", "Gevalideerd"),
             row("07:15:00", "07:30:00", "Afname Dag", "0,180", "Geschat"),
             row("07:15:00", "07:30:00", "Injectie Dag", "", "Geen verbruik"),
             row("07:30:00", "07:45:00", "Afname Dag", "", "Gevalideerd"),
             row("07:30:00", "07:45:00", "Injectie Dag", "0,000", "Gevalideerd"),
             row("07:45:00", "08:00:00", "Afname Dag", "1,234", "Onbekend"),
             row("07:45:00", "08:00:00", "Injectie Dag", "0,012", "Uitgelezen"),
             row("08:00:00", "08:15:00", "Afname Dag", "0,1x5", "Gevalideerd"),
             row("08:00:00", "08:15:00", "Injectie Dag", "0,000", "Gevalideerd", date="15-13-2024"),
             row("08:15:00", "08:45:00", "Afname Dag", "0,050", "Gevalideerd"),
             row("08:15:00", "08:30:00", "Afname Piek", "0,050", "Gevalideerd"),
             row("08:15:00", "08:30:00", "Injectie Dag", "0,001", "Gevalideerd", unit="MWh"),
             "",
             row("08:15:00", "08:30:00", "Afname Dag", "0,040", "Uitgelezen"),
             f"{day};08:30:00;{day};08:45:00;{EAN};{METER};Digitale Meter;Afname Dag;0,0"]
    write("Verbruikshistoriek_elektriciteit_541448820044512345_20240115_20240115_"
          "kwartiertotalen.csv", lines, "\r\n", final_newline=False)


def gas_nl() -> None:
    """The autumn change 2023-10-29 00:00-04:00 in gas hours, as the Dutch gas sample."""
    header = ("Van datum;Van tijdstip;Tot datum;Tot tijdstip;EAN-code;Meter;Metertype;Register;"
              "Volume;Eenheid;Validatiestatus;Calorische Bovenwaarde")
    hours = [("00:00:00", "01:00:00"), ("01:00:00", "02:00:00"), ("02:00:00", "02:00:00"),
             ("02:00:00", "03:00:00"), ("03:00:00", "04:00:00")]
    lines = [header]
    for i, (start, end) in enumerate(hours):
        row = f"29-10-2023;{start};29-10-2023;{end};{GAS_EAN};{GAS_METER};Digitale Meter;Afname"
        status = "Geschat" if i == 3 else "Gevalideerd"
        lines.append(f"{row};{kwh(1100 + 110 * i)};kWh;{status};Definitief")
        lines.append(f"{row};{kwh(100 + 10 * i)};m³;{status};")
    write("Verbruikshistoriek_gas_541448860022334455_20231029_20231029_uurtotalen.csv", lines,
          "\n", final_newline=False)


def gas_en() -> None:
    """The spring change 2024-03-31 00:00-04:00 (three hours), as the English gas sample."""
    header = ("From (date);From (time);Until (date);Until (time);EAN code;Meter;Meter type;"
              "Register;Volume;Unit;Validation status;Caloric upper value;Description")
    hours = [("00:00:00", "01:00:00"), ("01:00:00", "03:00:00"), ("03:00:00", "04:00:00")]
    lines = [header]
    for i, (start, end) in enumerate(hours):
        row = (f"31/03/2024;{start};31/03/2024;{end};{GAS_EAN};{GAS_METER};Digital meter;"
               "Offtake")
        lines.append(f"{row};{kwh(200 + 10 * i)};m³;Read;;")
        lines.append(f"{row};{kwh(2200 + 110 * i)};kWh;Read;;")
    write("Consumption_history_gas_541448860022334455_20240331_20240331_hourly totals.csv",
          lines, "\r\n", final_newline=True)


if __name__ == "__main__":
    autumn_nl()
    spring_en()
    statuses_nl()
    gas_nl()
    gas_en()
