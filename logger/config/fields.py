"""Value types the settings share beyond pydantic's own.

`Bool`: a switch takes `true` or `false` and nothing else. pydantic's bool also takes `1`, `"yes"`,
`"on"`, `"t"` or `"y"`: `enabled = "no"` is a typo for false that happens to work, and
`enabled = 2` a mistake it would hide. A TOML file gives a real boolean; an environment
variable gives text, so the words `true` and `false` (any case) are taken there too.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _strict_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError("must be true or false")


Bool = Annotated[bool, BeforeValidator(_strict_bool)]
