"""Fuzzing the local API path: arbitrary JSON trees and mutations of the real samples.

The box side is faked with `httpx.MockTransport` (this is a unit fuzz test of parsing; the
simulator covers the real HTTP path). Properties: `LocalCollector.poll` never raises whatever
the five endpoints answer, and every point it makes has float, finite fields, non-empty tags and
a clean line (see `invariants.check_point`). The pure parsing functions are fuzzed directly too.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from local_samples import BATTERY_SAMPLE, METER_SAMPLE, SOLAR_SAMPLE

from fuzz.invariants import check_point
from logger.core.problems import Problems
from logger.sources.local.collector import (
    ENDPOINTS,
    LocalCollector,
    device_points,
    grid_power_w,
    meter_fields,
    power_flow_point,
)
from logger.sources.local.parse import generic_fields
from logger.sources.values import as_device_list, number, unwrap

NOW = datetime(2025, 5, 18, 19, 14, 35, tzinfo=UTC)
FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CHARGER_SAMPLE = [{"id": "JXEVC0001", "localid": "C01", "power": 7.4, "soc": 55.0,
                   "temperature": 21.5, "max_current": 16, "state": "charging", "busy": True}]
PLUG_SAMPLE = [{"id": "JXPLG0001", "power": 0.085, "plug_state": True}]
SAMPLES = {"meter": METER_SAMPLE, "solar": SOLAR_SAMPLE, "battery": BATTERY_SAMPLE,
           "charger": CHARGER_SAMPLE, "plug": PLUG_SAMPLE}

scalars = (
    st.none() | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.integers(min_value=10**300, max_value=10**400)  # JSON integers beyond any float
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["", " ", "0", "1", "-0", "1e999", "nan", "NaN", "inf", "-Infinity",
                       "true", "false", "250518211432", "991231235959", "2.5", "0x10",
                       "1_000", "١٢٣", "\x00", "a,b=c d", "\\", "\n", "inv\ud800",
                       "\udfff", "\ud83d\ude00", "\ud83d"])
    | st.text(max_size=20)
    # Lone surrogates (hypothesis leaves them out of text by default): json.dumps writes them
    # as the legal escapes `\ud800`, which the box may send (issue 19).
    | st.text(st.characters(categories=("Cs",)) | st.characters(), max_size=8)
)
json_trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=12) | st.sampled_from(
        ["id", "localid", "power", "energy", "time", "meter", "data", "status", "battery",
         "voltage", "current_power", "max_power", "device_id", "mac", "serial"]), inner,
        max_size=6),
    max_leaves=25,
)


def paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a node of a JSON tree."""
    found = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, sample: Any) -> Any:
    """A real sample with a few nodes replaced, deleted, duplicated or wrapped."""
    tree = copy.deepcopy(sample)
    for _ in range(draw(st.integers(1, 4))):
        targets = paths(tree)
        path = draw(st.sampled_from(targets))
        action = draw(st.sampled_from(["replace", "delete", "wrap", "stringify", "listify"]))
        if not path:
            if action == "wrap":
                tree = {"data": tree, "status": "ok"}
            elif action == "replace":
                tree = draw(json_trees)
            continue
        parent = tree
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        if action == "replace":
            parent[key] = draw(json_trees)
        elif action == "delete":
            del parent[key]
        elif action == "wrap":
            parent[key] = {"data": parent[key]}
        elif action == "stringify":
            parent[key] = json.dumps(parent[key])
        else:
            parent[key] = [parent[key], parent[key]]
    return tree


def payload_for(endpoint: str) -> st.SearchStrategy[Any]:
    return json_trees | mutated(SAMPLES[endpoint]) | st.just(SAMPLES[endpoint])


answers = st.one_of(
    st.tuples(st.just(200), st.none()),  # the payload (drawn per endpoint)
    st.tuples(st.sampled_from([404, 500, 503]), st.just(b"")),
    st.tuples(st.just(200), st.binary(max_size=40)),  # garbage bytes
    st.tuples(st.just(200), st.sampled_from([b"NaN", b"[1e400]", b'{"power": Infinity}',
                                             b"9" * 400, b"{"])),
    st.tuples(st.just(200), st.sampled_from([  # raw JSON text with surrogate escapes
        b'[{"id": "inv\\uD800", "localid": "A01", "power": 1.5}]',
        b'[{"id": "A", "localid": "\\udc00", "power": 1.5}]',
        b'{"meter": {"id": "\\uDBFF\\uDBFF", "time": "250518211432"}}',
        b'[{"id": "ok", "\\ud800key": 2.0, "power": 0.5}]'])),
)


def collector(bodies: dict[str, tuple[int, bytes]], last: dict | None = None) -> LocalCollector:
    def handle(request: httpx.Request) -> httpx.Response:
        status, body = bodies[request.url.path.rsplit("/", 1)[-1]]
        return httpx.Response(status, content=body)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return LocalCollector("http://box", "home", 2.0, Problems(logging.getLogger("fuzz")),
                          last_meter_times=last, client=client)


@FUZZ
@given(data=st.data())
def test_a_poll_never_raises_and_makes_only_clean_points(data: st.DataObject) -> None:
    bodies = {}
    for endpoint in ENDPOINTS:
        status, body = data.draw(answers, label=f"{endpoint} answer")
        if body is None:
            payload = data.draw(payload_for(endpoint), label=f"{endpoint} payload")
            body = json.dumps(payload, allow_nan=True).encode()
        bodies[endpoint] = (status, body)
    box = collector(bodies)

    async def poll_twice():
        try:
            first = await box.poll(received_at=NOW)
            second = await box.poll(received_at=NOW)  # the same reading again
            return first, second
        finally:
            await box.close()

    first, second = asyncio.run(poll_twice())
    for point in first.points + second.points:
        check_point(point)
    assert not [p for p in second.points if p.measurement == "meter"], "a repeat was written"
    identities = [p.identity for p in first.points]
    assert len(identities) == len(set(identities)) or _same_device_twice(first.points)


def _same_device_twice(points) -> bool:
    """Two list entries with the same id and localid are one series: last one wins (InfluxDB)."""
    return all(p.measurement not in ("meter", "power_flow") for p in points
               if [q.identity for q in points].count(p.identity) > 1)


@FUZZ
@given(meter=json_trees | mutated(METER_SAMPLE))
def test_meter_parsing_functions_return_only_finite_floats(meter: Any) -> None:
    meter = unwrap(meter)
    if not isinstance(meter, dict):
        return
    for value in meter_fields(meter).values():
        assert value is None or (type(value) is float and value == value
                                 and abs(value) != float("inf"))
    grid = grid_power_w(meter)
    assert grid is None or type(grid) is float


@FUZZ
@given(kind=st.sampled_from(["solar", "battery", "charger", "plug"]), data=st.data())
def test_device_parsing_makes_only_clean_points(kind: str, data: st.DataObject) -> None:
    payload = data.draw(payload_for(kind))
    devices = as_device_list(payload)
    if devices is None:
        return
    for point in device_points(kind, devices, "home", NOW, Problems(logging.getLogger("f"))):
        check_point(point)
    for device in devices:
        for value in generic_fields(device).values():
            assert value is None or type(value) is float
    flow = power_flow_point("home", NOW, "local", data.draw(st.floats()), 0.0, None, 1.0)
    if flow is not None:
        check_point(flow)


@FUZZ
@given(value=json_trees)
def test_number_is_a_finite_float_or_none(value: Any) -> None:
    result = number(value)
    assert result is None or (type(result) is float and result == result
                              and abs(result) != float("inf"))
