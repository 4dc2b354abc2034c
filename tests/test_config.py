"""Configuration: file, environment, credentials; one clear line for every mistake."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from logger.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_defaults_work_without_a_file():
    settings = load_settings(None)
    assert settings.installation == "home"
    assert settings.local.url == "http://jullix.local"
    assert settings.influx.api == "v1"


def test_the_example_config_is_valid_and_documents_every_key():
    load_settings(ROOT / "config.example.toml")
    text = (ROOT / "config.example.toml").read_text()
    assert re.search(r"^installation = ", text, re.M)
    for section, model in Settings.model_fields.items():
        annotation = model.annotation
        if not hasattr(annotation, "model_fields"):
            continue
        assert f"[{section}]" in text, section
        body = text.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
        for key in annotation.model_fields:
            assert re.search(rf"^#? ?{key} = ", body, re.M), f"[{section}] {key} undocumented"


def test_an_unknown_key_names_the_key_and_the_file(tmp_path):
    path = write(tmp_path, "[influx]\ntokn = 'x'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == f"{path}: unknown key [influx] tokn"


def test_an_unknown_top_level_key_is_refused(tmp_path):
    path = write(tmp_path, "instalation = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown key instalation"):
        load_settings(path)


def test_a_wrong_type_names_the_key_and_the_value(tmp_path):
    path = write(tmp_path, "[local]\ninterval = 'fast'\n")
    with pytest.raises(ConfigError, match=r"config.toml: \[local\] interval: .*'fast'"):
        load_settings(path)


def test_an_unreadable_or_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")
    broken = write(tmp_path, "[local\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken)


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[local]\ninterval = 10\nurl = 'http://box'\n")
    monkeypatch.setenv("JULLIX_LOGGER_LOCAL__INTERVAL", "7")
    settings = load_settings(path)
    assert settings.local.interval == 7.0
    assert settings.local.url == "http://box"


def test_a_bad_environment_value_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("JULLIX_LOGGER_INFLUX__API", "v3")
    with pytest.raises(ConfigError, match="environment variable JULLIX_LOGGER_INFLUX__API"):
        load_settings(None)


def test_credentials_override_file_and_environment(tmp_path, monkeypatch):
    path = write(tmp_path, "[influx]\ntoken = 'from-file'\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "influx_token").write_text("from-credential\n")
    monkeypatch.setenv("JULLIX_LOGGER_INFLUX__TOKEN", "from-env")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    settings = load_settings(path)
    assert settings.influx.token.get_secret_value() == "from-credential"


def test_secrets_never_appear_in_reprs_or_errors(tmp_path):
    path = write(tmp_path, "[influx]\ntoken = 'supersecret'\npassword = 12\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "12" not in str(err.value).split("password")[-1]
    settings = load_settings(write(tmp_path, "[influx]\ntoken = 'supersecret'\n"))
    assert "supersecret" not in repr(settings)
    assert "supersecret" not in str(settings.model_dump(mode="json"))


def test_the_command_exits_2_with_one_line_for_a_bad_config(tmp_path):
    path = write(tmp_path, "[outbox]\nmax_mb = 'lots'\n")
    result = subprocess.run(
        [sys.executable, "-m", "logger", "status", "-c", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "[outbox] max_mb" in result.stderr and str(path) in result.stderr
