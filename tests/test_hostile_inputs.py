"""A box that sends what no box should: ids that break line protocol, ever new ids, JSON nested
without end, a meter time from the year 2000. Each is refused and counted, the rest of the poll
goes on, and nothing grows without bound.

The box side is `httpx.MockTransport` (as in the fuzz tests): these are payloads the simulator
has no reason to produce. The real local samples are the starting point.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_samples import BATTERY_SAMPLE, METER_SAMPLE, SOLAR_SAMPLE

from logger.app.local_job import LocalJob
from logger.config import Settings
from logger.core.point import Point
from logger.core.problems import Problems
from logger.outbox import Outbox
from logger.sources.local.collector import LocalCollector, Status
from logger.sources.values import parse_json

NOW = datetime(2025, 5, 18, 19, 14, 35, tzinfo=UTC)  # the meter sample says 250518211432 CEST


def box(answers: dict[str, Any]) -> httpx.AsyncClient:
    """A box answering each endpoint with `answers[name]` (bytes as is, else JSON); else 404."""
    def handle(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        if name not in answers:
            return httpx.Response(404)
        body = answers[name]
        return httpx.Response(200, content=body if isinstance(body, bytes) else
                              json.dumps(body).encode())

    return httpx.AsyncClient(transport=httpx.MockTransport(handle))


def poll(answers: dict[str, Any], collector: LocalCollector | None = None):
    collector = collector or LocalCollector("http://box", "home", 2.0,
                                            Problems(logging.getLogger("test")))
    collector._client = box(answers)

    async def once():
        try:
            return await collector.poll(received_at=NOW)
        finally:
            await collector.close()

    return asyncio.run(once()), collector


def lines(points: list[Point]) -> list[str]:
    return [p.to_line() for p in points]


def test_a_device_id_with_a_newline_is_refused_and_counted_never_split_into_two_lines():
    solar = copy.deepcopy(SOLAR_SAMPLE)
    solar[0]["id"] = "SA1ES1\njunk,installation=home power_w=1.0"
    result, collector = poll({"meter": METER_SAMPLE, "solar": solar, "battery": BATTERY_SAMPLE})
    assert all("\n" not in line and "\r" not in line for line in lines(result.points))
    assert not [p for p in result.points if p.measurement == "solar"]
    assert {p.measurement for p in result.points} == {"meter", "battery", "power_flow"}
    assert collector.problems.counts["local_solar_bad_id"] == 1


@pytest.mark.parametrize("meter_id", ["1SAG\n3101021605", "1SAG\r3101", "1SAG\x00", "x" * 300])
def test_a_meter_id_that_cannot_be_a_tag_is_refused_and_counted(meter_id):
    meter = dict(METER_SAMPLE, meter=meter_id)
    result, collector = poll({"meter": meter, "solar": SOLAR_SAMPLE})
    assert not [p for p in result.points if p.measurement == "meter"]
    assert all("\n" not in line and "\r" not in line for line in lines(result.points))
    assert collector.problems.counts["local_meter_bad_id"] == 1


def test_the_installation_name_cannot_carry_a_line_end():
    with pytest.raises(ValueError, match="installation"):
        Settings(installation="home\nsecond")


def test_point_make_refuses_a_tag_value_line_protocol_cannot_carry():
    with pytest.raises(ValueError, match="control character"):
        Point.make("solar", {"installation": "home", "device_id": "a\nb"}, {"power_w": 1.0}, 0)


def test_a_deeply_nested_answer_fails_that_endpoint_only_and_never_raises():
    deep = b"[" * 100_000 + b"]" * 100_000  # json.loads alone raises RecursionError
    nested = {"power": 1}
    for _ in range(200):  # parses, but deeper than any payload of the box
        nested = {"inner": nested}
    result, collector = poll({"meter": METER_SAMPLE, "solar": deep, "battery": BATTERY_SAMPLE,
                              "charger": [dict(nested, id="JXEVC1")]})
    assert result.endpoints["solar"].status is Status.FAILED
    assert result.endpoints["charger"].status is Status.FAILED
    assert "nested" in result.endpoints["solar"].error
    assert {p.measurement for p in result.points} == {"meter", "battery", "power_flow"}
    flow = next(p for p in result.points if p.measurement == "power_flow").field_dict
    assert "solar_w" not in flow and "home_w" not in flow  # unknown, not guessed
    assert collector.problems.counts["local_solar_failed"] == 1


def test_parse_json_refuses_depth_beyond_the_bound_and_keeps_everything_within():
    assert parse_json(json.dumps({"a": [{"b": [1]}]})) == {"a": [{"b": [1]}]}
    assert parse_json("[" * 32 + "]" * 32) is not None
    with pytest.raises(ValueError, match="deeper than 32"):
        parse_json("[" * 33 + "]" * 33)
    with pytest.raises(ValueError, match="nested"):
        parse_json("[" * 100_000 + "]" * 100_000)


def test_a_box_listing_thousands_of_devices_writes_a_bounded_number():
    solar = [dict(SOLAR_SAMPLE[0], id=f"INV{i:05d}") for i in range(5000)]
    result, collector = poll({"meter": METER_SAMPLE, "solar": solar})
    assert len([p for p in result.points if p.measurement == "solar"]) == 64
    assert collector.problems.counts["local_solar_too_many"] == 1


def test_a_box_inventing_meter_ids_grows_neither_memory_nor_the_meta_table(tmp_path: Path):
    settings = Settings(local={"url": "http://box"},
                        outbox={"path": str(tmp_path / "outbox.sqlite")})
    outbox = Outbox(settings.outbox.path)
    job = LocalJob(settings, outbox, Problems(logging.getLogger("test")))

    async def polls():
        for i in range(60):
            meter = dict(METER_SAMPLE, meter=f"1SAG{i:010d}", time=f"2505182114{i:02d}")
            job.collector._client = box({"meter": meter})
            await job.poll()
        await job.close()

    asyncio.run(polls())
    outbox.commit()
    outbox.close()
    db = sqlite3.connect(tmp_path / "outbox.sqlite")
    meta_rows = db.execute("SELECT count(*) FROM meta").fetchone()[0]
    meters = db.execute("SELECT count(*) FROM outbox WHERE line LIKE 'meter,%'").fetchone()[0]
    db.close()
    assert meters == 60  # every reading was written ...
    assert len(job.collector.last_meter_times) <= 4  # ... but only a few clocks are kept
    assert meta_rows <= 20, meta_rows  # endpoint states, last samples, one meter-clock key


def test_a_meter_time_of_000101000000_is_refused_and_nothing_is_written_in_the_year_2000():
    """A box that has not read its meter yet prints `000101000000`: no point may land in 2000,
    whatever the host clock says (here it is right, and the meter has no history yet)."""
    result, collector = poll({"meter": dict(METER_SAMPLE, time="000101000000"),
                              "solar": SOLAR_SAMPLE})
    assert not [p for p in result.points if p.measurement == "meter"]
    assert all(p.time.year == 2025 for p in result.points)
    assert collector.problems.counts["local_meter_time_implausible"] == 1


def test_a_repeated_hour_time_with_nothing_to_resolve_it_is_skipped_not_guessed():
    """02:30 on the autumn night is 00:30Z or 01:30Z. A fresh logger (no history, no P1) whose
    host clock is far from both cannot tell: the reading is skipped, counted, never guessed."""
    ambiguous = dict(METER_SAMPLE, time="261025023000")
    result, collector = poll({"meter": ambiguous})
    assert not [p for p in result.points if p.measurement == "meter"]
    assert collector.problems.counts["local_meter_time_ambiguous"] == 1
    # With the host clock on one of the two instants, that one is taken.
    collector = LocalCollector("http://box", "home", 2.0, Problems(logging.getLogger("test")))
    collector._client = box({"meter": ambiguous})

    async def once():
        try:
            return await collector.poll(received_at=datetime(2026, 10, 25, 1, 30, 5, tzinfo=UTC))
        finally:
            await collector.close()

    [meter] = [p for p in asyncio.run(once()).points if p.measurement == "meter"]
    assert meter.time == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
