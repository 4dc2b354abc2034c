"""Fuzzing config files: random TOML texts, keys and values, and random bytes.

Property: `load_settings` returns a valid `Settings` or raises `ConfigError` with one line of
text; no other exception ever escapes (the CLI turns ConfigError into exit code 2).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logger.config import ConfigError, Settings, load_settings

FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

KNOWN = {
    "local": ["enabled", "url", "interval", "timeout"],
    "p1": ["enabled", "host", "port", "idle_timeout", "every"],
    "cloud": ["enabled", "url", "token", "installation_id", "interval"],
    "influx": ["url", "api", "token", "org", "bucket", "database", "username", "password",
               "retention_policy", "timeout", "batch_size", "auto_migrate", "retention"],
    "outbox": ["path", "max_mb", "overflow", "commit_interval", "dead_letter_max",
               "dead_letter_days"],
    "log": ["level"],
}
SECTIONS = [*KNOWN, "Local", "unknown", "influx.extra", ""]

toml_scalars = (
    st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["v1", "v2", "drop_oldest", "drop_newest", "DEBUG", "INFO", "30d", "INF",
                       "1h", "0s", "-5d", "http://127.0.0.1:8086", "jullix.local", "", " ",
                       "/tmp/x.sqlite", "~/nope", "\x00", "é", "home"])
    | st.text(max_size=15)
)
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=6)


def toml_value(value: Any) -> str:
    """A TOML rendering (strings as JSON-escaped basic strings; may be invalid on purpose)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"installation = {toml_value(draw(toml_values))}")
    for section in draw(st.lists(st.sampled_from(SECTIONS), max_size=4, unique=True)):
        lines.append(f"[{section}]")
        keys = [*KNOWN.get(section, []), "typo", "Url", "max-mb"]
        for key in draw(st.lists(st.sampled_from(keys) | st.text(max_size=6), max_size=5,
                                 unique=True)):
            name = key if key.isidentifier() else json.dumps(key)
            lines.append(f"{name} = {toml_value(draw(toml_values))}")
    return "\n".join(lines) + "\n"


def check(path: Path) -> None:
    try:
        result = load_settings(path)
    except ConfigError as exc:
        text = str(exc)
        assert text and "\n" not in text and "\r" not in text, repr(text)
        assert "Traceback" not in text
    else:
        assert isinstance(result, Settings)


def clean_environment() -> None:
    for key in list(os.environ):
        if key.startswith("JULLIX_LOGGER_") or key == "CREDENTIALS_DIRECTORY":
            del os.environ[key]


@FUZZ
@given(text=config_texts())
def test_random_config_is_valid_or_one_line_error(tmp_path: Path, text: str) -> None:
    clean_environment()
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(path)


@FUZZ
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_random_bytes_are_valid_or_one_line_error(tmp_path: Path, data: bytes) -> None:
    clean_environment()
    path = tmp_path / "config.toml"
    path.write_bytes(data)
    check(path)


@FUZZ
@given(section=st.sampled_from(list(KNOWN)), data=st.data())
def test_every_known_key_with_any_value_is_valid_or_one_line_error(
        tmp_path: Path, section: str, data: st.DataObject) -> None:
    clean_environment()
    key = data.draw(st.sampled_from(KNOWN[section]))
    path = tmp_path / "config.toml"
    path.write_text(f"[{section}]\n{key} = {toml_value(data.draw(toml_values))}\n",
                    encoding="utf-8", errors="surrogatepass")
    check(path)
