"""Contracts in the config (`[[tariff]]`) and `[prices]`: the commented example loads, every key
is documented, and every mistake is one line naming the entry and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from logger.config import ConfigError, load_settings
from logger.config.tariff import Band, Contract, Grid, Injection, Offtake

ROOT = Path(__file__).resolve().parent.parent


def example_block() -> str:
    text = (ROOT / "config.example.toml").read_text()
    return text[text.index("\n# [[tariff]]\n") + 1:]


def uncommented(block: str) -> str:
    lines = []
    for line in block.splitlines():
        if line.startswith("# ") and not line.startswith(("# #", "# ##")):
            lines.append(line[2:])
    return "\n".join(lines) + "\n"


def load(tmp_path: Path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path)


def test_the_commented_flemish_example_loads_and_documents_every_key(tmp_path):
    settings = load(tmp_path, uncommented(example_block()))
    [contract] = settings.tariff
    assert contract.region == "flanders" and contract.offtake.kind == "dynamic"
    assert contract.capacity_eur_kw_year == 49.40 and contract.vat_pct == 6.0
    text = (ROOT / "config.example.toml").read_text()
    intro = text[text.index("# Contracts:"):text.index("\n# [[tariff]]\n")]
    assert "EXAMPLE, NOT YOUR PRICES" in intro and "renaudallard" in intro  # where from
    block = example_block()
    for model in (Contract, Offtake, Injection, Grid, Band):
        for key in model.model_fields:
            assert re.search(rf"\b{key}\b", block), f"{model.__name__}.{key} undocumented"


def test_prices_settings_and_the_token_from_a_credential(tmp_path, monkeypatch):
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "entsoe_token").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    settings = load(tmp_path, "[prices]\nenabled = true\ntoken = 'from-file'\n")
    assert settings.prices.token.get_secret_value() == "from-systemd"
    assert "from-systemd" not in repr(settings.prices) and "from-systemd" not in str(
        settings.model_dump())
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    monkeypatch.setenv("JULLIX_LOGGER_PRICES__TOKEN", "from-env")
    assert load(tmp_path, "").prices.token.get_secret_value() == "from-env"


DYNAMIC = "offtake = {kind = 'dynamic', factor = 1.0, adder_eur_kwh = 0.01}\n"


@pytest.mark.parametrize(("text", "message"), [
    ("[[tariff]]\n" + DYNAMIC, r"\[\[tariff\]\] #1 valid_from: Field required"),
    ("[[tariff]]\nvalid_from = 2026-01-01\n" + DYNAMIC + "[[tariff]]\nvalid_from = 2026-01-01\n"
     + DYNAMIC, "two contracts are valid from 2026-01-01"),
    ("[[tariff]]\nvalid_from = 2025-01-01\nvalid_until = 2026-02-01\n" + DYNAMIC
     + "[[tariff]]\nvalid_from = 2026-01-01\n" + DYNAMIC, "they overlap"),
    ("[[tariff]]\nvalid_from = 2025-01-01\nvalid_until = 2025-12-01\n" + DYNAMIC
     + "[[tariff]]\nvalid_from = 2026-01-01\n" + DYNAMIC,
     "no contract from 2025-12-01 to 2026-01-01"),
    ("[[tariff]]\nvalid_from = 2026-01-01\nexcise = 0.05\n" + DYNAMIC,
     r"unknown key \[\[tariff\]\] #1 excise"),
    ("[[tariff]]\nvalid_from = 2026-01-01\n"
     "offtake = {kind = 'single', price_eur_kwh = 0.3, adder = 1}\n",
     r"unknown key \[\[tariff\]\] #1 offtake.adder"),
    ("[[tariff]]\nvalid_from = 2026-01-01\nlevies_eur_kwh = -0.01\n" + DYNAMIC,
     r"#1 levies_eur_kwh: Input should be greater than or equal to 0"),
    ("[[tariff]]\nvalid_from = 2026-01-01\ngrid = {distribution_eur_kwh = -0.05}\n" + DYNAMIC,
     r"#1 grid.distribution_eur_kwh: Input should be greater than or equal to 0"),
    ("[[tariff]]\nvalid_from = 2026-01-01\nofftake = {kind = 'day_night', t1_eur_kwh = 0.3}\n",
     "kind 'day_night' needs t2_eur_kwh"),
    ("[[tariff]]\nvalid_from = 2026-01-01\nofftake = {kind = 'single', price_eur_kwh = 0.3, "
     "factor = 1.1}\n", "kind 'single' does not use factor"),
    ("[[tariff]]\nvalid_from = 2026-01-01\nregion = 'wallonia'\ncapacity_eur_kw_year = 50\n"
     + DYNAMIC, "does not exist in wallonia"),
    ("[[tariff]]\nvalid_from = 2026-01-01\ngrid = {bands = [{hours = '25:00-07:00', "
     "eur_kwh = 0.1}]}\n" + DYNAMIC, "not a time range of the day"),
    ("[prices]\nzone = 'BE'\n", r"\[prices\] zone: .*not a 16-character EIC"),
], ids=["no-valid-from", "same-date", "overlap", "gap", "unknown-component", "unknown-key",
        "negative-levies", "negative-grid", "incomplete", "stray-key", "wallonia-capacity",
        "band", "zone"])
def test_a_mistake_is_one_line_naming_the_entry_and_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text)
    assert re.search(message, str(err.value)), str(err.value)
    assert "\n" not in str(err.value)


def test_every_cost_and_price_field_the_code_writes_is_in_docs_schema():
    from logger.ledger.cost_points import COST_FIELDS, SAVINGS_FIELDS

    schema = (ROOT / "docs" / "schema.md").read_text()
    sections = {name: schema.split(f"### `{name}`", 1)[1].split("\n## ", 1)[0].split("\n### ")[0]
                for name in ("ledger_cost", "ledger_savings")}
    prices = schema.split("## `price_day_ahead`", 1)[1].split("\n## ", 1)[0]
    for name, fields in (("ledger_cost", COST_FIELDS), ("ledger_savings", SAVINGS_FIELDS)):
        for field in fields:
            assert f"`{field}`" in sections[name], (name, field)
    for field in ("price_eur_mwh", "next_price_eur_mwh", "`zone`", "`resolution`"):
        assert field in prices, field
