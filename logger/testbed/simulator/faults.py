"""Runtime-switchable misbehaviour of the simulated box.

The logger must survive a box that is slow, fails, returns garbage, disappears, or wraps and
types its payloads differently from the samples. These settings make each of those happen on
demand, from the CLI, from Python, or over `POST /_sim/faults`, so the tests can exercise every
error path against a real server instead of a mock. Random decisions come from RNGs seeded from
the simulator seed (one stream per kind of fault), so a test run is reproducible for a given
sequence of requests.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

ENDPOINTS = ("meter", "solar", "battery", "charger", "plug")
DownMode = Literal["503", "close"]
Action = Literal["ok", "error", "invalid-json", "close"]


@dataclass
class FaultSettings:
    """What can go wrong. All defaults mean "behave like a healthy box"."""

    delay: float = 0.0  # seconds added to every /api/ems/* response
    delay_endpoints: dict[str, float] = field(default_factory=dict)  # per endpoint, overrides
    error_rate: float = 0.0  # probability of a 5xx answer
    error_status: int = 500  # the 5xx status used for injected errors
    invalid_json_rate: float = 0.0  # probability of a truncated (invalid) JSON body
    down_mode: DownMode = "503"  # while down: answer 503, or close without answering
    wrap_data: bool = False  # quirk: {"data": payload}
    numbers_as_strings: bool = False  # quirk: every number printed as a JSON string
    absent: list[str] = field(default_factory=list)  # device types removed from the box now
    # Device types that also list one device whose id is a lone UTF-16 surrogate, sent as the
    # legal JSON escape `"inv\\ud800"`: a string no UTF-8 (SQLite, an HTTP body) can carry.
    poison_ids: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Raise ValueError with a precise message on any out-of-range value."""
        if self.delay < 0:
            raise ValueError(f"delay must be >= 0, got {self.delay}")
        for name, seconds in self.delay_endpoints.items():
            if name not in ENDPOINTS:
                raise ValueError(f"unknown endpoint {name!r} in delay_endpoints ({ENDPOINTS})")
            if seconds < 0:
                raise ValueError(f"delay for {name} must be >= 0, got {seconds}")
        for key in ("error_rate", "invalid_json_rate"):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{key} must be within [0, 1], got {value}")
        if not 500 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 5xx status, got {self.error_status}")
        for key in ("absent", "poison_ids"):
            for name in getattr(self, key):
                if name not in ENDPOINTS[1:]:
                    raise ValueError(f"{key}: {name!r} is not a device type ({ENDPOINTS[1:]})")
        if self.down_mode not in ("503", "close"):
            raise ValueError(f"down_mode must be '503' or 'close', got {self.down_mode!r}")

    def delay_for(self, endpoint: str) -> float:
        """The delay of one endpoint: its own setting if any, else the global one."""
        return self.delay_endpoints.get(endpoint, self.delay)


@dataclass(frozen=True)
class Decision:
    """What to do with one request."""

    action: Action
    delay: float
    status: int = 200


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "delay": (int, float),
    "delay_endpoints": dict,
    "error_rate": (int, float),
    "error_status": int,
    "invalid_json_rate": (int, float),
    "down_mode": str,
    "wrap_data": bool,
    "numbers_as_strings": bool,
    "absent": list,
    "poison_ids": list,
}


class Faults:
    """The live fault settings plus the seeded RNGs that turn rates into decisions."""

    def __init__(
        self,
        seed: int = 1,
        settings: FaultSettings | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = dataclasses.replace(settings) if settings else FaultSettings()
        self.settings.delay_endpoints = dict(self.settings.delay_endpoints)
        self.settings.absent = list(self.settings.absent)
        self.settings.poison_ids = list(self.settings.poison_ids)
        self.settings.validate()
        self._monotonic = monotonic
        self._error_rng = random.Random(f"{seed}:error")
        self._invalid_rng = random.Random(f"{seed}:invalid-json")
        self._down_until: float | None = None

    # ------------------------------------------------------------------ down

    def set_down(self, seconds: float, mode: DownMode | None = None) -> None:
        """Make every /api/ems/* request fail for `seconds` real seconds (0 = back up now)."""
        if seconds < 0:
            raise ValueError(f"down seconds must be >= 0, got {seconds}")
        if mode is not None:
            self.settings.down_mode = mode
            self.settings.validate()
        self._down_until = self._monotonic() + seconds if seconds > 0 else None

    def down_remaining(self) -> float:
        """Real seconds the box stays down (0 when up)."""
        if self._down_until is None:
            return 0.0
        remaining = self._down_until - self._monotonic()
        if remaining <= 0:
            self._down_until = None
            return 0.0
        return remaining

    # --------------------------------------------------------------- settings

    def to_dict(self) -> dict[str, Any]:
        """Current settings as JSON-able dict (plus the remaining down time)."""
        out = dataclasses.asdict(self.settings)
        out["down_seconds"] = self.down_remaining()
        return out

    def update(self, changes: dict[str, Any]) -> None:
        """Merge `changes` (as sent to POST /_sim/faults) into the settings, atomically.

        Keys are the FaultSettings fields plus `down_seconds` (start/stop a down period) and
        `reset: true` (back to healthy defaults first). `delay_endpoints` merges per endpoint; a
        null value removes that endpoint's override. Unknown keys or bad values raise ValueError
        and change nothing.
        """
        if not isinstance(changes, dict):
            raise ValueError("fault settings must be a JSON object")
        new = (
            FaultSettings()
            if changes.get("reset")
            else dataclasses.replace(
                self.settings, delay_endpoints=dict(self.settings.delay_endpoints)
            )
        )
        down_seconds: float | None = None
        for key, value in changes.items():
            if key == "reset":
                continue
            if key == "down_seconds":
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError("down_seconds must be a number")
                down_seconds = float(value)
                continue
            expected = _FIELD_TYPES.get(key)
            if expected is None:
                known = sorted([*_FIELD_TYPES, "down_seconds", "reset"])
                raise ValueError(f"unknown fault setting {key!r}; known: {', '.join(known)}")
            if isinstance(value, bool) and expected is not bool:
                raise ValueError(f"{key} must not be a boolean")
            if key == "down_mode" and isinstance(value, int):
                value = str(value)
            if not isinstance(value, expected):
                raise ValueError(f"{key} has the wrong type: {type(value).__name__}")
            if key in ("absent", "poison_ids"):
                value = list(value)
            if key == "delay_endpoints":
                for name, seconds in value.items():
                    if seconds is None:
                        new.delay_endpoints.pop(name, None)
                    elif isinstance(seconds, bool) or not isinstance(seconds, int | float):
                        raise ValueError(f"delay_endpoints.{name} must be a number or null")
                    else:
                        new.delay_endpoints[name] = float(seconds)
                continue
            setattr(new, key, float(value) if expected == (int, float) else value)
        new.validate()
        if down_seconds is not None and down_seconds < 0:
            raise ValueError("down_seconds must be >= 0")
        self.settings = new
        if down_seconds is not None:
            self.set_down(down_seconds)

    # -------------------------------------------------------------- decisions

    def decide(self, endpoint: str) -> Decision:
        """Decide the fate of one /api/ems/{endpoint} request.

        Both RNGs are drawn on every request, whatever the outcome, so that changing one rate
        does not shift the other's sequence.
        """
        s = self.settings
        error_draw = self._error_rng.random()
        invalid_draw = self._invalid_rng.random()
        delay = s.delay_for(endpoint)
        if self.down_remaining() > 0:
            if s.down_mode == "close":
                return Decision("close", delay, 0)
            return Decision("error", delay, 503)
        if error_draw < s.error_rate:
            return Decision("error", delay, s.error_status)
        if invalid_draw < s.invalid_json_rate:
            return Decision("invalid-json", delay, 200)
        return Decision("ok", delay, 200)
