"""What can go wrong on the simulated P1 link: the settings, the seeded dice, the damage."""

from __future__ import annotations

import dataclasses
import itertools
import random
from dataclasses import dataclass
from typing import Any

KINDS = ("valid", "crc", "bad_crc_field", "non_ascii", "truncated")


@dataclass
class P1FaultSettings:
    """What can go wrong on the P1 link. Defaults: a healthy meter."""

    corrupt_rate: float = 0.0
    bad_crc_field_rate: float = 0.0
    non_ascii_rate: float = 0.0
    garbage_rate: float = 0.0
    disconnect_rate: float = 0.0
    split: bool = False
    paused: bool = False
    max_rate: float = 100.0
    # The capacity-tariff registers (1-0:1.4.0, 1-0:1.6.0, 0-0:98.1.0) are no longer sent, as
    # when the Fluvius P1 consent expired; the telegrams stay valid (their CRC covers the rest).
    no_captar: bool = False

    def validate(self) -> None:
        for key in (
            "corrupt_rate",
            "bad_crc_field_rate",
            "non_ascii_rate",
            "garbage_rate",
            "disconnect_rate",
        ):
            value = getattr(self, key)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"p1.{key} must be within [0, 1], got {value}")
        if not self.max_rate > 0:
            raise ValueError(f"p1.max_rate must be > 0, got {self.max_rate}")


_TYPES: dict[str, type | tuple[type, ...]] = {
    "corrupt_rate": (int, float),
    "bad_crc_field_rate": (int, float),
    "non_ascii_rate": (int, float),
    "garbage_rate": (int, float),
    "disconnect_rate": (int, float),
    "split": bool,
    "paused": bool,
    "max_rate": (int, float),
    "no_captar": bool,
}
_ACTIONS = ("hang", "disconnect", "reset")


class P1Faults:
    """Live P1 fault settings plus one seeded RNG per kind of damage."""

    def __init__(self, seed: int, settings: P1FaultSettings | None = None) -> None:
        self.settings = dataclasses.replace(settings) if settings else P1FaultSettings()
        self.settings.validate()
        self._rng = {
            name: random.Random(f"{seed}:p1:{name}")
            for name in ("corrupt", "bad_crc_field", "non_ascii", "garbage", "disconnect")
        }
        self.shape_rng = random.Random(f"{seed}:p1:shape")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self.settings)

    def prepare(self, changes: Any) -> tuple[P1FaultSettings, set[str]]:
        """Validate `changes` (the `p1` object of POST /_sim/faults): new settings + actions."""
        if not isinstance(changes, dict):
            raise ValueError("p1 fault settings must be a JSON object")
        new = P1FaultSettings() if changes.get("reset") else dataclasses.replace(self.settings)
        actions = set()
        for key, value in changes.items():
            if key in _ACTIONS:
                if not isinstance(value, bool):
                    raise ValueError(f"p1.{key} must be true or false")
                if value and key != "reset":
                    actions.add(key)
                continue
            expected = _TYPES.get(key)
            if expected is None:
                known = ", ".join(sorted([*_TYPES, *_ACTIONS]))
                raise ValueError(f"unknown p1 fault setting {key!r}; known: {known}")
            if isinstance(value, bool) and expected is not bool:
                raise ValueError(f"p1.{key} must not be a boolean")
            if not isinstance(value, expected):
                raise ValueError(f"p1.{key} has the wrong type: {type(value).__name__}")
            setattr(new, key, float(value) if expected == (int, float) else value)
        new.validate()
        return new, actions

    def decide(self) -> str:
        """The fate of the next telegram; every RNG is drawn every time (stable sequences)."""
        s = self.settings
        draws = {name: rng.random() for name, rng in self._rng.items()}
        if draws["disconnect"] < s.disconnect_rate:
            return "truncated"
        if draws["bad_crc_field"] < s.bad_crc_field_rate:
            return "bad_crc_field"
        if draws["non_ascii"] < s.non_ascii_rate:
            return "non_ascii"
        if draws["corrupt"] < s.corrupt_rate:
            return "crc"
        return "valid"

    def garbage(self) -> bytes:
        """Random bytes between telegrams, or b"" (never `/` or `!`: those would frame)."""
        if self._rng["garbage"].random() >= self.settings.garbage_rate:
            return b""
        rng = self.shape_rng
        size = rng.randint(1, 120)
        return bytes(b for b in (rng.randrange(256) for _ in range(size)) if b not in (0x2F, 0x21))


def damage(telegram: bytes, kind: str, rng: random.Random) -> bytes:
    """The telegram with the damage `kind` applied (the CRC is not recomputed)."""
    if kind == "crc":
        crc = int(telegram[-6:-2], 16)
        wrong = crc ^ (1 << rng.randrange(16))
        return telegram[:-6] + f"{wrong:04X}".encode() + b"\r\n"
    if kind == "bad_crc_field":
        return telegram[:-6] + b"XYZ\r\n"
    if kind == "non_ascii":
        header_end = telegram.index(b"\r\n\r\n") + 4
        position = rng.randrange(header_end, len(telegram) - 7)
        return (
            telegram[:position]
            + bytes([rng.choice((0xB3, 0xFF, 0xE9, 0x80))])
            + (telegram[position + 1 :])
        )
    return telegram


def pieces(data: bytes, rng: random.Random) -> list[bytes]:
    """`data` cut at 1 to 6 random byte boundaries."""
    if len(data) < 2:
        return [data]
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randint(1, 6))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]
