"""P1 strictness: a telegram whose CRC is right but one register is malformed is refused whole.

dsmr_parser skips a line it cannot parse unless `throw_ex=True`; the telegram would then be
stored without that register, as if the meter had not sent it. The malformed line here fails
dsmr_parser's own line check (a decimal comma), so it is exactly the case `throw_ex` decides.
"""

from __future__ import annotations

from test_p1_parse import V171, resealed

from logger.sources.p1.decoder import PARSE_ERROR, P1Decoder

GOOD = b"1-0:1.8.1(000000.034*kWh)"
MALFORMED = b"1-0:1.8.1(000000,034*kWh)"


def test_the_unchanged_telegram_has_the_register():
    decoder = P1Decoder("home")
    [point] = [p for p in decoder.feed(resealed(V171, GOOD, GOOD)) if p.measurement == "p1"]
    assert point.field_dict["energy_import_t1_kwh"] == 0.034


def test_a_crc_valid_telegram_with_a_malformed_register_is_refused_not_stored_without_it():
    telegram = resealed(V171, GOOD, MALFORMED)
    assert int(telegram[-6:-2], 16) != int(V171[-6:-2], 16)  # resealed: a new, valid CRC
    decoder = P1Decoder("home")
    assert decoder.feed(telegram) == []
    assert dict(decoder.problems.counts) == {PARSE_ERROR: 1}
    assert decoder.stats.valid == 0
