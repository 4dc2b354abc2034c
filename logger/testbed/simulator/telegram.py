"""Belgian DSMR 5 (Fluvius e-MUCS 1.7.1) telegrams printed from the house model.

The telegram tells the same story as the local API (`local_api.meter_payload`) because both print
the same `Snapshot`: the energy registers are the model's exact integer joules floored to whole Wh
(3-decimal kWh, like a real meter and like the local API before its float32 rounding), powers are
whole W printed as 3-decimal kW, voltages 0.1 V, gas and water whole litres (3-decimal m3). What
only the telegram carries is derived deterministically: per-phase power and current, the S/W flag,
M-Bus capture times and the 13-month peak history.

Layout and formats copy the two real Fluvius telegrams in the reference (`/FLU5\\253769484_A`,
`0-0:96.1.4(50217)`, hex-encoded equipment ids, `YYMMDDhhmmssS|W` timestamps, gas on channel 1 as
`24.2.3` with device type 003, water on channel 2 as `24.2.1` with device type 007, the
`632525252525W` placeholder for a month without a peak), ending in `!` and the CRC-16/ARC of
everything from `/` up to and including `!`, as 4 upper-case hex digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from .model import CAPTAR_PERIOD_S, InstallationFeatures, Snapshot, unit_noise

BRUSSELS = ZoneInfo("Europe/Brussels")

HEADER = "/FLU5\\253769484_A"
VERSION = "50217"
PLACEHOLDER_TIME = "632525252525W"
HISTORY_MONTHS = 13
MBUS_CAPTURE_S = 300  # gas and water meters report every 5 minutes
PHASES = ("l1", "l2", "l3")
# How the model's total power is spread over the phases (fractions of 20).
_PHASE_SHARE = {"l1": 8, "l2": 7, "l3": 5}

_CH_PEAK_W = 60
_CH_PEAK_Q = 61
_CH_MBUS_ID = 62


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/ARC (reflected polynomial 0xA001, initial value 0), as DSMR 4+ uses."""
    crc = 0
    table = _CRC_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def seal(body: str) -> bytes:
    """A complete telegram from its text `/...!`: the CRC and the final CR LF appended."""
    raw = body.encode("ascii")
    return raw + f"{crc16(raw):04X}\r\n".encode("ascii")


def dsmr_time(t: int) -> str:
    """POSIX seconds -> `YYMMDDhhmmssS` (summer time) or `...W` (winter), Brussels wall clock."""
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.strftime("%y%m%d%H%M%S") + ("S" if local.dst() else "W")


def hex_id(text: str) -> str:
    """An equipment id as the meter prints it: the ASCII bytes in upper-case hex."""
    return text.encode("ascii").hex().upper()


def kwh(joules: int) -> str:
    """An energy register: whole Wh (floored), printed as kWh with 3 decimals, 6 integer digits."""
    wh = joules // 3600
    return f"{wh // 1000:06d}.{wh % 1000:03d}"


def kw(watts: int) -> str:
    """Whole W printed as kW with 3 decimals, at least 2 integer digits (`00.338`)."""
    watts = max(0, int(watts))
    return f"{watts // 1000:02d}.{watts % 1000:03d}"


def volts(dv: int) -> str:
    return f"{dv // 10:03d}.{dv % 10:d}"


def amps(centi: int) -> str:
    return f"{centi // 100:03d}.{centi % 100:02d}"


def m3(millilitres: int) -> str:
    """A volume register: whole litres (floored), printed as m3 with 3 decimals."""
    litres = millilitres // 1000
    return f"{litres // 1000:05d}.{litres % 1000:03d}"


def month_key(t: int) -> int:
    local = datetime.fromtimestamp(t, BRUSSELS)
    return local.year * 12 + local.month - 1


def month_start(key: int) -> int:
    """POSIX seconds of local midnight on the 1st of month `key` (year * 12 + month - 1)."""
    year, month0 = divmod(key, 12)
    return int(datetime(year, month0 + 1, 1, tzinfo=BRUSSELS).timestamp())


def split_phases(watts: int, phases: tuple[str, ...]) -> dict[str, int]:
    """Whole-W shares of `watts` over `phases` that add up to exactly `watts`."""
    if not phases:
        return {}
    total_share = sum(_PHASE_SHARE[p] for p in phases)
    out: dict[str, int] = {}
    left = watts
    for phase in phases[:-1]:
        share = watts * _PHASE_SHARE[phase] // total_share
        out[phase] = share
        left -= share
    out[phases[-1]] = left
    return out


@dataclass
class Capture:
    """An M-Bus reading and the second it was captured."""

    t: int
    millilitres: int


@dataclass
class TelegramPrinter:
    """Prints one telegram per snapshot, keeping the meter-side state a telegram needs.

    Feed it every simulated second in order (`observe`), print whenever a telegram is due
    (`render`). The state it keeps: M-Bus captures (every 5 minutes) and the closed months'
    peaks (generated for the months before the simulation, taken from the model afterwards).
    """

    features: InstallationFeatures
    seed: int
    gas_id: str = ""
    water_id: str = ""
    gas: Capture | None = None
    water: Capture | None = None
    history: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    _month: int | None = None
    _month_peak: tuple[int, int] = (0, 0)  # (time, W) of the running month's peak

    def __post_init__(self) -> None:
        digits = int(unit_noise(self.seed, _CH_MBUS_ID, 0) * 1e10)
        if not self.gas_id:
            self.gas_id = f"7FLO{digits:010d}"
        if not self.water_id:
            self.water_id = f"8SET{(digits * 7 + 13) % 10**10:010d}"

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases the meter reports (an unreported phase has no lines at all)."""
        return tuple(p for p in PHASES if p != self.features.unreported_phase)

    # ------------------------------------------------------------------ state

    def _generated_peak(self, key: int) -> tuple[int, int] | None:
        """A plausible peak for a month before the simulation (placeholder for the oldest)."""
        first = self._month if self._month is not None else key
        if key < first - HISTORY_MONTHS + 2:
            return None  # the meter was installed later: no peak recorded
        start, end = month_start(key), month_start(key + 1)
        quarters = (end - start) // CAPTAR_PERIOD_S
        q = 1 + int(unit_noise(self.seed, _CH_PEAK_Q, key) * (quarters - 1))
        watts = 2000 + int(unit_noise(self.seed, _CH_PEAK_W, key) * 4000)
        return start + q * CAPTAR_PERIOD_S, watts

    def observe(self, s: Snapshot) -> None:
        """Take note of the state at second `s.t` (call for every second, in order)."""
        key = month_key(s.t)
        if self._month is None:
            self._month = key
            for past in range(key - HISTORY_MONTHS, key):
                self.history[past] = self._generated_peak(past)
        elif key != self._month:
            # The month closed: its last peak moves into the 13-month history.
            peak_t, peak_w = self._month_peak
            closed = self._month
            self.history[closed] = (peak_t, peak_w) if peak_w > 0 else None
            for old in [k for k in self.history if k < key - HISTORY_MONTHS]:
                del self.history[old]
            self._month = key
        if month_key(s.captar_month_max_t) == key:
            self._month_peak = (s.captar_month_max_t, round(s.captar_month_max_w))
        if self.gas is None or s.t % MBUS_CAPTURE_S == 0 or s.t - self.gas.t >= MBUS_CAPTURE_S:
            self.gas = Capture(s.t, s.gas_ml)
        if self.features.water and (
            self.water is None or s.t % MBUS_CAPTURE_S == 0 or s.t - self.water.t >= MBUS_CAPTURE_S
        ):
            self.water = Capture(s.t, s.water_ml)

    # ---------------------------------------------------------------- printing

    def month_peak(self, s: Snapshot) -> tuple[int, int]:
        """(time, W) of this month's peak as 1.6.0 shows it at `s.t`."""
        key = month_key(s.t)
        if month_key(s.captar_month_max_t) == key:
            return s.captar_month_max_t, round(s.captar_month_max_w)
        return month_start(key), 0  # the model has not rolled its month over yet

    def body(self, s: Snapshot, captar: bool = True) -> str:
        """The telegram text from `/` to `!` (no CRC) for snapshot `s` (after `observe(s)`);
        without the capacity-tariff lines (1.4.0, 1.6.0, 98.1.0) when `captar` is False."""
        f = self.features
        lines = [
            HEADER,
            "",
            f"0-0:96.1.4({VERSION})",
            f"0-0:96.1.1({hex_id(f.meter_id)})",
            f"0-0:1.0.0({dsmr_time(s.t)})",
            f"1-0:1.8.1({kwh(s.import_j[0])}*kWh)",
            f"1-0:1.8.2({kwh(s.import_j[1])}*kWh)",
            f"1-0:2.8.1({kwh(s.export_j[0])}*kWh)",
            f"1-0:2.8.2({kwh(s.export_j[1])}*kWh)",
            f"0-0:96.14.0({s.tariff:04d})",
        ]
        if captar:
            lines += self._captar_lines(s)
        lines.append(f"1-0:1.7.0({kw(s.import_w)}*kW)")
        lines.append(f"1-0:2.7.0({kw(s.export_w)}*kW)")
        phases = self.phases
        imports = split_phases(s.import_w, phases)
        exports = split_phases(s.export_w, phases)
        codes = {"l1": (21, 22, 32, 31), "l2": (41, 42, 52, 51), "l3": (61, 62, 72, 71)}
        for phase in phases:
            lines.append(f"1-0:{codes[phase][0]}.7.0({kw(imports[phase])}*kW)")
        for phase in phases:
            lines.append(f"1-0:{codes[phase][1]}.7.0({kw(exports[phase])}*kW)")
        dvs = dict(zip(PHASES, s.voltage_dv, strict=True))
        for phase in phases:
            lines.append(f"1-0:{codes[phase][2]}.7.0({volts(dvs[phase])}*V)")
        for phase in phases:
            watts = imports[phase] + exports[phase]  # at most one of them is non-zero
            centi = (watts * 1000 + dvs[phase] // 2) // dvs[phase] if dvs[phase] else 0
            lines.append(f"1-0:{codes[phase][3]}.7.0({amps(centi)}*A)")
        lines += ["0-0:96.3.10(1)", "0-0:17.0.0(999.9*kW)", "1-0:31.4.0(999*A)", "0-0:96.13.0()"]
        if self.gas is not None:
            lines += [
                "0-1:24.1.0(003)",
                f"0-1:96.1.1({hex_id(self.gas_id)})",
                "0-1:24.4.0(1)",
                f"0-1:24.2.3({dsmr_time(self.gas.t)})({m3(self.gas.millilitres)}*m3)",
            ]
        if f.water and self.water is not None:
            lines += [
                "0-2:24.1.0(007)",
                f"0-2:96.1.1({hex_id(self.water_id)})",
                f"0-2:24.2.1({dsmr_time(self.water.t)})({m3(self.water.millilitres)}*m3)",
            ]
        return "\r\n".join(lines) + "\r\n!"

    def _captar_lines(self, s: Snapshot) -> list[str]:
        """1.4.0 (running average), 1.6.0 (this month's peak), 98.1.0 (13 months' peaks)."""
        lines = [f"1-0:1.4.0({kw(round(s.captar_actual_w))}*kW)"]
        peak_t, peak_w = self.month_peak(s)
        lines.append(f"1-0:1.6.0({dsmr_time(peak_t)})({kw(peak_w)}*kW)")
        key = month_key(s.t)
        entries = []
        for past in range(key - HISTORY_MONTHS, key):
            peak = self.history.get(past)
            stamp = dsmr_time(month_start(past + 1))
            if peak is None:
                entries.append(f"({stamp})({PLACEHOLDER_TIME})(00.000*kW)")
            else:
                entries.append(f"({stamp})({dsmr_time(peak[0])})({kw(peak[1])}*kW)")
        lines.append(f"0-0:98.1.0({len(entries)})(1-0:1.6.0)(1-0:1.6.0)" + "".join(entries))
        return lines

    def render(self, s: Snapshot, captar: bool = True) -> bytes:
        """The complete telegram (with CRC and final CR LF) for snapshot `s`."""
        return seal(self.body(s, captar))
