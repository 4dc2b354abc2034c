"""Applying `POST /_sim/...` fault changes to a fault-settings dataclass: the one rule the cloud
and the ENTSO-E fakes share (`reset` first, unknown keys refused naming the known ones, an
injected `status` must be 4xx/5xx, per-key checks and conversions)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def http_error_status(value: Any) -> Any:
    if value is not None and not 400 <= int(value) <= 599:
        raise ValueError("status must be 4xx or 5xx")
    return value


def apply_changes(settings: Any, changes: Mapping[str, Any], kind: str,
                  convert: Mapping[str, Callable[[Any], Any]]) -> None:
    """Set each changed field of the dataclass `settings`; `convert[key]` checks or converts a
    value (raising ValueError); `reset: true` restores the defaults first."""
    if changes.get("reset"):
        settings.__init__()
    known = settings.__dataclass_fields__
    for key, value in changes.items():
        if key == "reset":
            continue
        if key not in known:
            raise ValueError(f"unknown {kind} fault {key!r}; known: {', '.join(known)}, reset")
        check = convert.get(key)
        setattr(settings, key, check(value) if check is not None else value)
