"""Turning what a Jullix payload says into clean numbers, for every source.

The box prints float32 values with 17 digits (`2.7990000247955322` is float32(2.799)); some
firmware or proxies may send numbers as strings or wrap payloads in `{"data": ...}`, as the cloud
does. These helpers undo all of that in one place so the local and the cloud source write the
same numbers for the same reading.
"""

from __future__ import annotations

import json
import math
import re
import struct
from decimal import Decimal
from typing import Any

_FLOAT32 = struct.Struct("<f")

MAX_JSON_DEPTH = 32  # the box's payloads are 3 levels deep, the cloud's about 5


def parse_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing (ValueError) a document nested deeper than `max_depth`.

    A deeply nested answer would otherwise raise RecursionError, in the parser or in any
    recursive code after it (flattening a charger object, the repr in a log line), out of
    code documented as never raising.
    """
    try:
        payload = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to parse") from None
    stack = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                raise ValueError(f"JSON nested deeper than {max_depth} levels")
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return payload


def denoise_float32(value: float) -> float:
    """The shortest decimal with the same float32 value, when `value` is a printed float32.

    The box prints 15 to 17 significant digits of a float32, so "is a float32" means: within
    a few units of double rounding of one. A double that is not (a value computed or sent at
    full precision) is kept as is, so genuine precision is never thrown away.
    """
    try:
        packed = _FLOAT32.pack(value)
    except (OverflowError, struct.error):
        return value
    as_float32 = _FLOAT32.unpack(packed)[0]
    if abs(as_float32 - value) > abs(value) * 1e-14:
        return value
    shortest = value
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        try:
            if _FLOAT32.pack(candidate) == packed:
                shortest = candidate
                break
        except OverflowError:  # rounding up past the largest float32
            continue
    # The box's values have three decimals (W, Wh, mV); the firmware's own arithmetic can land
    # one float32 step away from them (50.6 V arrives as float32 50.600002). Accept the
    # three-decimal value when it lies within one float32 step.
    rounded = round(shortest, 3)
    if rounded != shortest and abs(rounded - as_float32) <= _float32_step(as_float32):
        return rounded
    return shortest


def _float32_step(value: float) -> float:
    """The distance from `value` (a float32) to the next float32 away from zero."""
    bits = struct.unpack("<I", _FLOAT32.pack(value))[0]
    following = struct.unpack("<f", struct.pack("<I", bits + 1))[0]
    return abs(following - value)


def number(value: Any) -> float | None:
    """A finite float from a JSON number or numeric string; None for anything else.

    Booleans are not numbers here (JSON `true` is not 1 kW); use `flag` for them.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        try:
            result = float(value)
        except OverflowError:  # a JSON integer beyond any float (e.g. 400 digits)
            return None
    elif isinstance(value, float):
        result = value
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            result = float(text)
        except ValueError:
            return None
    else:
        return None
    if not math.isfinite(result):
        return None
    return denoise_float32(result)


def flag(value: Any) -> float | None:
    """1.0/0.0 for a boolean-ish value (true/false, 0/1, "true"/"false"); None otherwise."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return 1.0 if value.strip().lower() in ("true", "yes") else 0.0
    return None


def scaled(value: float | None, factor: int) -> float | None:
    """`value * factor` computed in decimal, so 2.799 kW becomes exactly 2799.0 W."""
    if value is None:
        return None
    result = float(Decimal(repr(value)) * factor)
    return result if math.isfinite(result) else None  # 1e308 kW is no reading either


def kw_to_w(value: Any) -> float | None:
    return scaled(number(value), 1000)


ENVELOPE_KEYS = frozenset({"data", "status", "message", "meta", "success", "error"})


def unwrap(payload: Any) -> Any:
    """Remove `{"data": ..., "status": ...}` envelopes (the cloud's, and some box firmware's).

    Only an object whose keys are all envelope keys is an envelope: a device object that happens
    to have a `data` key keeps its other keys. Nested envelopes are removed too.
    """
    while isinstance(payload, dict) and "data" in payload and set(payload) <= ENVELOPE_KEYS:
        payload = payload["data"]
    return payload


def as_device_list(payload: Any) -> list[dict[str, Any]] | None:
    """A list of device objects; [] for an absent device type; None when it is not a list.

    The box sends lists, but a single object or `{}` are accepted too: firmware differs and
    the reference records both as possible.
    """
    payload = unwrap(payload)
    if payload is None:
        return []
    if isinstance(payload, list):
        return [item for item in payload if isinstance(item, dict)]
    if isinstance(payload, dict):
        return [payload] if payload else []
    return None


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_NAME = re.compile(r"[^a-z0-9]+")


def snake(name: str) -> str:
    """A field-key-safe snake_case version of a JSON key (`maxCurrent` -> `max_current`)."""
    return _NOT_NAME.sub("_", _CAMEL.sub("_", name).lower()).strip("_")
