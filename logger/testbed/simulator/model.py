"""Deterministic physical model of a Belgian house behind a Jullix box.

One model is the single source of truth for every interface the simulator serves (local JSON API
now, P1 telegrams and cloud history later), so the interfaces can never disagree with each other.

Determinism: the model is integrated in fixed steps of one simulated second. Every random-looking
input (load noise, clouds, appliance spikes, voltage noise) is a pure function of
(seed, channel, time index) through a counter-based hash, never a sequential RNG that would
depend on how often somebody looked. The integrated state (counters, state of charge, capacity
tariff) therefore depends only on the seed, the installation and the start second: a value at a
given simulated second does not depend on when or how often the model was polled.

Exactness: energy counters are integers of joules (W·s) and every power in a step is an integer
number of watts, so `delta(counter) == sum(power * 1 s)` holds exactly and a counter can later be
printed with full Wh resolution (3-decimal kWh registers of a P1 telegram).

Sign conventions (all powers in W):
  * battery_w: positive = discharging into the house, negative = charging (Sofar / WD convention).
  * grid_w: positive = import from the grid, negative = export; import_w/export_w are both >= 0
    and at most one of them is non-zero.
  * grid_w = house_w + car_w - pv_w - battery_w (exactly, every second).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")
J_PER_KWH = 3_600_000
J_PER_WH = 3_600

# Brussels; PV array facing south with 35 degrees tilt.
_LAT = math.radians(50.85)
_LON_DEG = 4.35
_TILT = math.radians(35.0)

_MASK = (1 << 64) - 1

# Noise channels (arbitrary distinct constants, one per independent random input).
_CH_INIT = 1
_CH_BASE = 2
_CH_LOAD = 3
_CH_APPL = 4
_CH_APPL_SIZE = 5
_CH_DAY_CLOUD = 6
_CH_CLOUD = 7
_CH_FLICKER = 8
_CH_REG = 9
_CH_GAS = 10
_CH_WATER = 11
_CH_EV = 12
_CH_EV_ARRIVAL = 13
_CH_EV_SOC = 14
_CH_VOLT_SLOW = 20  # + phase
_CH_VOLT_FAST = 30  # + phase
_CH_PLUG = 40
_CH_ID = 50

NIGHT_START_H = 22  # tariff 2 (night) from 22:00 local on weekdays ...
NIGHT_END_H = 7  # ... until 07:00 local; all weekend is tariff 2.

EV_POWER_W = 11_000  # 3 x 16 A x 230 V
EV_CAPACITY_J = 60 * J_PER_KWH
EV_TARGET_PCT = 80.0
EV_DEPARTURE_S = 7 * 3600 + 1800  # 07:30 local

CAPTAR_PERIOD_S = 900


def _mix(x: int) -> int:
    """splitmix64 finalizer: a fast, well-distributed 64-bit integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def unit_noise(seed: int, channel: int, index: int) -> float:
    """Uniform value in [0, 1) that is a pure function of (seed, channel, index)."""
    return _mix(_mix(_mix(seed & _MASK) ^ channel) ^ (index & _MASK)) / 18446744073709551616.0


def _gauss(x: float, mu: float, sigma: float) -> float:
    d = (x - mu) / sigma
    return math.exp(-0.5 * d * d)


@dataclass(frozen=True)
class InstallationFeatures:
    """What the simulated installation has; the meter is always present."""

    solar: bool = True
    battery: bool = True
    charger: bool = False
    plug: bool = False
    inverters: int = 1  # 1 = hybrid A01; 2 = hybrid A01 + PV inverter T01 with the same id
    water: bool = True
    unreported_phase: str | None = None  # "l1" | "l2" | "l3": reported as 0 V
    meter_id: str = "1SAG3101021605"
    inverter_id: str | None = None  # None = derived from the seed, "SA1ES1xxxx"
    inverter_device: str = "Sofar HYD 5000-EP"
    pv_peak_w: int = 5000
    battery_capacity_wh: int = 10_000
    battery_max_w: int = 5000
    battery_min_soc_pct: float = 10.0
    battery_max_soc_pct: float = 100.0
    battery_efficiency: float = 0.95  # one-way

    def __post_init__(self) -> None:
        if self.inverters not in (1, 2):
            raise ValueError(f"inverters must be 1 or 2, got {self.inverters}")
        if self.unreported_phase not in (None, "l1", "l2", "l3"):
            raise ValueError(f"unreported_phase must be l1, l2 or l3, got {self.unreported_phase}")

    @property
    def has_inverter(self) -> bool:
        """The hybrid inverter exists when there is PV or a battery behind it."""
        return self.solar or self.battery

    def localids(self) -> tuple[str, ...]:
        """Local ids of the PV inverters (A01 is the hybrid that also carries the battery)."""
        return ("A01", "T01")[: self.inverters] if self.solar else ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state of the house at one simulated second `t` (POSIX seconds, UTC).

    Powers are those of the second that just ended ([t-1, t)); counters are totals at t.
    """

    t: int
    tariff: int  # DSMR: 1 = day, 2 = night
    house_w: int  # house consumption, including the plug, excluding the car
    car_w: int
    plug_w: int
    pv_w: int
    pv_inverter_w: tuple[int, ...]  # per PV inverter, in localids() order
    battery_w: int  # + discharging, - charging
    grid_w: int  # + import, - export
    import_w: int
    export_w: int
    import_j: tuple[int, int]  # tariff 1, tariff 2
    export_j: tuple[int, int]
    pv_energy_j: tuple[int, ...]
    battery_charged_j: int
    battery_discharged_j: int
    soc_pct: float
    battery_voltage_v: float
    captar_actual_w: float
    captar_month_max_w: float
    captar_month_max_t: int  # end of the peak quarter-hour, POSIX seconds
    voltage_dv: tuple[int, int, int]  # decivolts per phase
    gas_ml: int  # gas index in millilitres (1e-6 m3)
    water_ml: int
    car_connected: bool
    car_soc_pct: float
    plug_on: bool

    @property
    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    @property
    def local(self) -> datetime:
        """Belgian local time (fold set correctly in the autumn repeated hour)."""
        return datetime.fromtimestamp(self.t, BRUSSELS)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view in SI-ish units, for /_sim/state and debugging."""
        return {
            "utc": self.utc.isoformat(),
            "local": self.local.isoformat(),
            "tariff": self.tariff,
            "power_w": {
                "house": self.house_w,
                "car": self.car_w,
                "plug": self.plug_w,
                "pv": self.pv_w,
                "pv_inverters": list(self.pv_inverter_w),
                "battery": self.battery_w,
                "grid": self.grid_w,
                "import": self.import_w,
                "export": self.export_w,
            },
            "energy_kwh": {
                "import_1": self.import_j[0] / J_PER_KWH,
                "import_2": self.import_j[1] / J_PER_KWH,
                "export_1": self.export_j[0] / J_PER_KWH,
                "export_2": self.export_j[1] / J_PER_KWH,
                "pv": [e / J_PER_KWH for e in self.pv_energy_j],
                "battery_charged": self.battery_charged_j / J_PER_KWH,
                "battery_discharged": self.battery_discharged_j / J_PER_KWH,
            },
            "energy_j": {
                "import": list(self.import_j),
                "export": list(self.export_j),
                "pv": list(self.pv_energy_j),
                "battery_charged": self.battery_charged_j,
                "battery_discharged": self.battery_discharged_j,
            },
            "battery": {"soc_pct": self.soc_pct, "voltage_v": self.battery_voltage_v},
            "captar": {
                "actual_w": self.captar_actual_w,
                "month_max_w": self.captar_month_max_w,
                "month_max_utc": datetime.fromtimestamp(self.captar_month_max_t, UTC).isoformat(),
            },
            "voltage_v": [v / 10 for v in self.voltage_dv],
            "gas_m3": self.gas_ml / 1e6,
            "water_m3": self.water_ml / 1e6,
            "car": {"connected": self.car_connected, "soc_pct": self.car_soc_pct},
            "plug_on": self.plug_on,
        }


@dataclass(frozen=True, slots=True)
class _HourContext:
    """Everything that is constant within one UTC hour (local offsets change on UTC hours)."""

    start: int
    end: int
    offset_s: int
    local_date: date
    weekend: bool
    month_key: int  # year * 12 + month, local
    doy: int
    declination: float
    eot_min: float
    cloud_depth: float
    ev_today: tuple[bool, int, float]  # present, arrival second of day, start soc %
    ev_yesterday: tuple[bool, int, float]


class HouseModel:
    """The simulated house, integrated one simulated second at a time.

    `advance_to(t)` integrates up to t and returns the snapshot at t; asking for an earlier time
    than the model has reached returns the latest snapshot (the model never runs backwards;
    create a new model to rewind).
    """

    def __init__(
        self,
        seed: int = 1,
        features: InstallationFeatures | None = None,
        start: datetime | None = None,
    ) -> None:
        self.seed = int(seed)
        self._channel_base: dict[int, int] = {}
        self.features = features or InstallationFeatures()
        f = self.features
        if start is None:
            start = datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        t0 = math.floor(start.timestamp())
        self.start_t = t0
        self.inverter_id = f.inverter_id or f"SA1ES1{_mix(self.seed ^ _CH_ID) % 10000:04d}"

        def init(k: int) -> float:
            return unit_noise(self.seed, _CH_INIT, k)

        def kwh_to_j(kwh: float) -> int:
            return round(kwh * 1000) * J_PER_WH  # whole Wh

        self._import_j = [kwh_to_j(8000 + 8000 * init(1)), kwh_to_j(9000 + 12000 * init(2))]
        self._export_j = [kwh_to_j(4000 + 9000 * init(3)), kwh_to_j(1500 + 4000 * init(4))]
        n_pv = len(f.localids())
        self._pv_energy_j = [kwh_to_j(500 + 3000 * init(10 + i)) for i in range(n_pv)]
        charged = 300 + 900 * init(5)
        self._bat_charged_j = kwh_to_j(charged) if f.battery else 0
        self._bat_discharged_j = kwh_to_j(charged * 0.95 - 3 * init(6)) if f.battery else 0
        self._cap_j = f.battery_capacity_wh * J_PER_WH
        self._soc_min_j = self._cap_j * f.battery_min_soc_pct / 100
        self._soc_max_j = self._cap_j * f.battery_max_soc_pct / 100
        soc_pct = f.battery_min_soc_pct + (f.battery_max_soc_pct - f.battery_min_soc_pct) * init(7)
        self._soc_j = self._cap_j * soc_pct / 100 if f.battery else 0.0
        self._gas_ml = round((2000 + 3000 * init(8)) * 1e6)
        self._water_ml = round((100 + 400 * init(9)) * 1e6) if f.water else 0

        # Capacity tariff: import energy in the running quarter-hour, and the month peak.
        # The model starts at t0 - 1 and steps once, so the state is initialised for t0 - 1.
        tm1 = t0 - 1
        self._q_elapsed = tm1 % CAPTAR_PERIOD_S
        # Assume the running quarter so far averaged like a quiet house (~500 W).
        self._q_import_j = 500 * self._q_elapsed
        local0 = datetime.fromtimestamp(tm1, BRUSSELS)
        month_start = datetime(local0.year, local0.month, 1, tzinfo=BRUSSELS)
        ms = int(month_start.timestamp())
        self._max_month = local0.year * 12 + local0.month
        quarters_done = (tm1 - ms) // CAPTAR_PERIOD_S
        if quarters_done > 0:
            q = 1 + int(init(20) * quarters_done)
            self._max_t = ms + q * CAPTAR_PERIOD_S
            self._max_w = round(2500 + 2500 * init(21))
        else:
            self._max_t = ms
            self._max_w = 0

        self._ev_key: int | None = None
        self._car_soc_j = 0.0
        self._ctx: _HourContext | None = None
        self._noise_cache: dict[tuple[int, int], float] = {}

        # Last step's outputs.
        self._last: dict[str, Any] = {}
        self._t = tm1
        self._step()  # so that the snapshot at the start second has powers

    # ------------------------------------------------------------------ public

    @property
    def t(self) -> int:
        """The simulated second the model has reached (POSIX seconds)."""
        return self._t

    def advance_to(self, when: datetime | float) -> Snapshot:
        """Integrate up to `when` (floored to a whole second) and return the snapshot there."""
        target = math.floor(when.timestamp() if isinstance(when, datetime) else when)
        while self._t < target:
            self._step()
        return self.snapshot()

    def advance_by(self, seconds: int) -> Snapshot:
        """Integrate `seconds` more simulated seconds."""
        return self.advance_to(self._t + seconds)

    def snapshot(self) -> Snapshot:
        """The state at the second the model has reached."""
        last = self._last
        f = self.features
        soc_pct = 100 * self._soc_j / self._cap_j if f.battery else 0.0
        q_el = self._q_elapsed
        captar = self._q_import_j / q_el if q_el else 0.0
        return Snapshot(
            t=self._t,
            tariff=last["tariff"],
            house_w=last["house_w"],
            car_w=last["car_w"],
            plug_w=last["plug_w"],
            pv_w=last["pv_w"],
            pv_inverter_w=last["pv_inverter_w"],
            battery_w=last["battery_w"],
            grid_w=last["grid_w"],
            import_w=max(last["grid_w"], 0),
            export_w=max(-last["grid_w"], 0),
            import_j=(self._import_j[0], self._import_j[1]),
            export_j=(self._export_j[0], self._export_j[1]),
            pv_energy_j=tuple(self._pv_energy_j),
            battery_charged_j=self._bat_charged_j,
            battery_discharged_j=self._bat_discharged_j,
            soc_pct=soc_pct,
            battery_voltage_v=(
                round(48.8 + 0.045 * soc_pct - 0.00025 * last["battery_w"], 2) if f.battery else 0.0
            ),
            captar_actual_w=captar,
            captar_month_max_w=float(self._max_w),
            captar_month_max_t=self._max_t,
            voltage_dv=last["voltage_dv"],
            gas_ml=self._gas_ml,
            water_ml=self._water_ml,
            car_connected=last["car_connected"],
            car_soc_pct=100 * self._car_soc_j / EV_CAPACITY_J if self._ev_key is not None else 0.0,
            plug_on=last["plug_w"] > 0,
        )

    # ----------------------------------------------------------------- helpers

    def _u(self, channel: int, index: int) -> float:
        """Same value as unit_noise(self.seed, channel, index), with the prefix hash cached."""
        base = self._channel_base.get(channel)
        if base is None:
            base = self._channel_base[channel] = _mix(_mix(self.seed & _MASK) ^ channel)
        return _mix(base ^ (index & _MASK)) / 18446744073709551616.0

    def _smooth(self, channel: int, t: int, period: int) -> float:
        """Smoothly interpolated noise in [0, 1) with a correlation time of `period` seconds."""
        i, r = divmod(t, period)
        cache = self._noise_cache
        a = cache.get((channel, i))
        if a is None:
            a = self._u(channel, i)
            b = self._u(channel, i + 1)
            if len(cache) > 256:
                cache.clear()
            cache[(channel, i)] = a
            cache[(channel, i + 1)] = b
        else:
            b = cache.get((channel, i + 1))
            if b is None:
                b = cache[(channel, i + 1)] = self._u(channel, i + 1)
        x = r / period
        x = x * x * (3 - 2 * x)
        return a + (b - a) * x

    def _ev_session(self, d: date) -> tuple[bool, int, float]:
        o = d.toordinal()
        present = self._u(_CH_EV, o) < 0.6
        arrival = int(17.5 * 3600 + self._u(_CH_EV_ARRIVAL, o) * 2.5 * 3600)
        start_soc = 20 + 40 * self._u(_CH_EV_SOC, o)
        return present, arrival, start_soc

    def _context(self, t: int) -> _HourContext:
        start = t - t % 3600
        local = datetime.fromtimestamp(start, BRUSSELS)
        offset = local.utcoffset()
        assert offset is not None
        d = local.date()
        doy = d.timetuple().tm_yday
        b = 2 * math.pi * (doy - 81) / 364
        summerness = (1 + math.cos(2 * math.pi * (doy - 172) / 365)) / 2
        day_u = self._u(_CH_DAY_CLOUD, d.toordinal())
        return _HourContext(
            start=start,
            end=start + 3600,
            offset_s=int(offset.total_seconds()),
            local_date=d,
            weekend=d.weekday() >= 5,
            month_key=d.year * 12 + d.month,
            doy=doy,
            declination=math.radians(23.44) * math.sin(2 * math.pi * (284 + doy) / 365),
            eot_min=9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b),
            cloud_depth=min(0.95, (0.15 + 0.75 * day_u) * (1.0 - 0.25 * summerness)),
            ev_today=self._ev_session(d),
            ev_yesterday=self._ev_session(d - timedelta(days=1)),
        )

    def _pv_power(self, t: int, ctx: _HourContext) -> int:
        f = self.features
        if not f.solar:
            return 0
        solar_h = (t % 86400) / 3600 + _LON_DEG / 15 + ctx.eot_min / 60
        h_angle = math.radians((solar_h - 12) * 15)
        dec = ctx.declination
        cos_h = math.cos(h_angle)
        sin_elev = math.sin(_LAT) * math.sin(dec) + math.cos(_LAT) * math.cos(dec) * cos_h
        if sin_elev <= 0:
            return 0
        lat_t = _LAT - _TILT
        cos_inc = math.sin(lat_t) * math.sin(dec) + math.cos(lat_t) * math.cos(dec) * cos_h
        if cos_inc <= 0:
            return 0
        clear = f.pv_peak_w * 0.86 * cos_inc * sin_elev**0.35
        cloud = ctx.cloud_depth * self._smooth(_CH_CLOUD, t, 300)
        flicker = 0.06 * ctx.cloud_depth * self._smooth(_CH_FLICKER, t, 20)
        power = clear * max(0.03, 1.0 - cloud - flicker)
        return min(round(power), f.pv_peak_w)

    def _house_power(self, t: int, lsec: int, ctx: _HourContext) -> tuple[int, int]:
        """House consumption (W) including the fridge on the smart plug, and the plug's share."""
        h = lsec / 3600
        base = 260 + 80 * self._smooth(_CH_BASE, t, 1800)
        if ctx.weekend:
            peaks = 700 * _gauss(h, 9.0, 1.2) + 1000 * _gauss(h, 12.5, 1.0)
            peaks += 1300 * _gauss(h, 18.8, 1.5) + (350 if 9 <= h < 22 else 0)
        else:
            peaks = 900 * _gauss(h, 7.2, 0.5) + 1400 * _gauss(h, 19.0, 1.3)
            peaks += 150 if 9 <= h < 17 else 0
        noise = 240 * (self._smooth(_CH_LOAD, t, 60) - 0.5)
        slot = t // 120
        p_spike = 0.05 if 7 <= h < 23 else 0.005
        spike = 0.0
        if self._u(_CH_APPL, slot) < p_spike:
            spike = 1200 + 1000 * self._u(_CH_APPL_SIZE, slot)
        # Fridge: 85 W during 15 of every 40 minutes.
        phase = int(self._u(_CH_PLUG, 0) * 2400)
        plug = (
            85 + round(6 * (self._smooth(_CH_PLUG, t, 30) - 0.5)) if (t + phase) % 2400 < 900 else 0
        )
        house = max(120, round(base + peaks + noise + spike)) + plug
        return house, plug

    def _gas_rate_ml_s(self, t: int, lsec: int, ctx: _HourContext) -> int:
        h = lsec / 3600
        outdoor = 10.5 - 7.5 * math.cos(2 * math.pi * (ctx.doy - 15) / 365)
        outdoor += 3.0 * math.sin(2 * math.pi * (h - 9) / 24)
        heating = max(0.0, 17.0 - outdoor) * 0.06  # m3/h while the thermostat asks for heat
        if not (6 <= h < 22.5):
            heating *= 0.25  # night setback
        hot_water = 0.5 * _gauss(h, 7.3, 0.3) + 0.3 * _gauss(h, 20.0, 0.4)
        modulation = 0.6 + 0.8 * self._smooth(_CH_GAS, t, 180)
        return round((heating * modulation + hot_water) * 1e6 / 3600)

    def _water_rate_ml_s(self, t: int, lsec: int, ctx: _HourContext) -> int:
        if not self.features.water:
            return 0
        h = lsec / 3600
        shower = 9.0 if ctx.weekend else 7.0
        if shower <= h < shower + 1 / 6:
            return 150  # 9 l/min
        if 19.5 <= h < 19.5 + 1 / 12:
            return 100
        minute = t // 60
        if 7 <= h < 23 and self._u(_CH_WATER, minute) < 0.04:
            return 110
        return 0

    # -------------------------------------------------------------------- step

    def _step(self) -> None:
        """Integrate one simulated second [t, t+1) and move to t+1."""
        t = self._t
        ctx = self._ctx
        if ctx is None or not (ctx.start <= t < ctx.end):
            ctx = self._ctx = self._context(t)
            if ctx.month_key != self._max_month:
                # New month: the month peak restarts (at local midnight of the 1st).
                self._max_month = ctx.month_key
                self._max_w = 0
                self._max_t = t
        f = self.features
        lsec = (t + ctx.offset_s) % 86400
        h = lsec / 3600

        # Tariff: night (2) 22:00-07:00 local on weekdays and all weekend.
        night = ctx.weekend or h >= NIGHT_START_H or h < NIGHT_END_H
        tariff = 2 if night else 1

        house_w, plug_w = self._house_power(t, lsec, ctx)

        # PV, split over the inverters (A01 hybrid 60 %, T01 40 %).
        pv_w = self._pv_power(t, ctx)
        if f.inverters == 2 and f.solar:
            a = pv_w * 3 // 5
            pv_inv: tuple[int, ...] = (a, pv_w - a)
        elif f.solar:
            pv_inv = (pv_w,)
        else:
            pv_inv = ()
        for i, p in enumerate(pv_inv):
            self._pv_energy_j[i] += p

        # EV charger: a session starts on ~60 % of evenings and ends at 07:30 the next morning.
        car_w = 0
        connected = False
        if f.charger:
            key: int | None = None
            start_soc = 0.0
            today, yesterday = ctx.ev_today, ctx.ev_yesterday
            if today[0] and lsec >= today[1]:
                key, start_soc = ctx.local_date.toordinal(), today[2]
            elif yesterday[0] and lsec < EV_DEPARTURE_S:
                key, start_soc = ctx.local_date.toordinal() - 1, yesterday[2]
            if key != self._ev_key:
                self._ev_key = key
                self._car_soc_j = EV_CAPACITY_J * start_soc / 100 if key is not None else 0.0
            if key is not None:
                connected = True
                if self._car_soc_j < EV_CAPACITY_J * EV_TARGET_PCT / 100:
                    car_w = EV_POWER_W
                    self._car_soc_j += car_w * 0.92

        # Battery: covers the house (not the car) from PV surplus / to deficit, within limits.
        battery_w = 0
        if f.battery:
            deficit = house_w - pv_w
            regulation = round(40 * (self._u(_CH_REG, t // 5) - 0.5))
            want = deficit + regulation if deficit != 0 else 0
            want = max(-f.battery_max_w, min(f.battery_max_w, want))
            eff = f.battery_efficiency
            if want > 0:
                available_w = int((self._soc_j - self._soc_min_j) * eff)
                battery_w = max(0, min(want, available_w))
                self._soc_j -= battery_w / eff
                self._bat_discharged_j += battery_w
            elif want < 0:
                room_w = int((self._soc_max_j - self._soc_j) / eff)
                charge = max(0, min(-want, room_w))
                self._soc_j += charge * eff
                self._bat_charged_j += charge
                battery_w = -charge

        grid_w = house_w + car_w - pv_w - battery_w
        idx = tariff - 1
        if grid_w > 0:
            self._import_j[idx] += grid_w
            self._q_import_j += grid_w
        elif grid_w < 0:
            self._export_j[idx] += -grid_w

        # Capacity tariff: close the quarter-hour when t+1 is on a boundary.
        self._q_elapsed += 1
        if (t + 1) % CAPTAR_PERIOD_S == 0:
            avg = self._q_import_j / CAPTAR_PERIOD_S
            if avg > self._max_w:
                self._max_w = round(avg)
                self._max_t = t + 1
            self._q_import_j = 0
            self._q_elapsed = 0

        self._gas_ml += self._gas_rate_ml_s(t, lsec, ctx)
        self._water_ml += self._water_rate_ml_s(t, lsec, ctx)

        imp = max(grid_w, 0)
        exp = max(-grid_w, 0)
        volts = []
        for p in range(3):
            v = 2310 + 50 * (self._smooth(_CH_VOLT_SLOW + p, t, 600) - 0.5)
            v += 8 * (self._u(_CH_VOLT_FAST + p, t) - 0.5)
            v += exp * 0.008 - imp * 0.004
            volts.append(round(v))

        self._last = {
            "tariff": tariff,
            "house_w": house_w,
            "car_w": car_w,
            "plug_w": plug_w,
            "pv_w": pv_w,
            "pv_inverter_w": pv_inv,
            "battery_w": battery_w,
            "grid_w": grid_w,
            "voltage_dv": (volts[0], volts[1], volts[2]),
            "car_connected": connected,
        }
        self._t = t + 1
