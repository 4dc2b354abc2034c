"""The `JULLIX_LOGGER_*` environment variables: which are in use, and which would be ignored.

pydantic-settings reads `JULLIX_LOGGER_<SECTION>__<KEY>` and silently skips everything else with
the prefix: `JULLIX_LOGGER_INFLUX_URL` (one underscore) or `JULLIX_LOGGER_INFLUXDB__URL` (no such
section) would leave the default in place without a word. This module names them so the
commands can warn.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from logger.config.settings import ENV_PREFIX, Settings


def _sections() -> set[str]:
    return {name for name, field in Settings.model_fields.items()
            if isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields")}


def _top_level() -> set[str]:
    return set(Settings.model_fields) - _sections()


def environment_settings(environ: Mapping[str, str] | None = None) -> list[str]:
    """The names of the `JULLIX_LOGGER_*` variables that set something, sorted."""
    env = os.environ if environ is None else environ
    return sorted(name for name in env if name.upper().startswith(ENV_PREFIX)
                  and not _problem(name))


def environment_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """One sentence per `JULLIX_LOGGER_*` variable the settings would ignore."""
    env = os.environ if environ is None else environ
    problems = [_problem(name) for name in sorted(env) if name.upper().startswith(ENV_PREFIX)]
    return [p for p in problems if p]


def _problem(name: str) -> str:
    rest = name.upper()[len(ENV_PREFIX):].lower()
    sections, top = _sections(), _top_level()
    if rest in top or rest in sections:
        return ""
    section, delimiter, key = rest.partition("__")
    if delimiter:
        if section in sections and key:
            return ""  # an unknown key there is refused by the settings, naming it
        known = ", ".join(sorted(sections))
        return (f"environment variable {name} is ignored: [{section}] is not a section "
                f"(sections: {known})")
    for known in sorted(sections, key=len, reverse=True):
        if rest.startswith(known + "_"):
            fixed = f"{ENV_PREFIX}{known.upper()}__{rest[len(known) + 1:].upper()}"
            return (f"environment variable {name} is ignored: section and key are separated "
                    f"by two underscores ({fixed})")
    return f"environment variable {name} is ignored: it names no setting"
