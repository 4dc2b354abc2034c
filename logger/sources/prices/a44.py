"""The ENTSO-E Transparency Platform's day-ahead price document (A44), parsed. Pure.

A `Publication_MarketDocument` holds one or more `TimeSeries` (one per delivery day, sometimes
one per resolution, sometimes repeated), each with `Period`s: `timeInterval` (start, end; UTC),
`resolution` (`PT60M` before delivery day 2025-10-01, `PT15M` since) and `Point`s (`position`
from 1, `price.amount` in `currency_Unit.name` per `price_Measure_Unit.name`: EUR per MWh).

Curve type A03 ("variable sized block") leaves out every point whose price repeats the previous
one: a missing position takes the last price before it, up to the end of the period (trailing
positions included: a period of 96 quarter-hours may list 90 points). Other curve types must list
every position; one that is missing there stays missing (never invented).

When nothing matches the query (tomorrow before publication, a zone without prices) the platform
answers an `Acknowledgement_MarketDocument` whose `Reason` says "No matching data found": that is
`NoMatchingData`, not an error. Element names are matched without their namespace, whose version
the platform changes now and then (7:0, 7:3). A document with a DTD is refused outright: no
legitimate answer has one, and entity expansion is how XML parsers are attacked.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime

from logger.sources.prices.points import PricePoint

_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")
MAX_BYTES = 32 * 1024 * 1024  # a year of quarter-hours is ~4 MB of XML


class A44Error(ValueError):
    """The answer is not an A44 document this parser can trust; the text says why."""


class NoMatchingData(Exception):
    """The platform has no prices for the query (its acknowledgement's reason, verbatim)."""


@dataclass
class A44Result:
    prices: list[PricePoint] = field(default_factory=list)
    series: int = 0  # TimeSeries read
    filled: int = 0  # positions A03 left out and forward-filled
    duplicates: int = 0  # the same period and resolution in two TimeSeries, same price
    conflicts: int = 0  # ... with another price (the first one is kept)
    unfilled: int = 0  # positions missing from a curve that must list them all


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: ET.Element, path: str) -> str | None:
    node: ET.Element | None = element
    for name in path.split("/"):
        node = _child(node, name) if node is not None else None
    return None if node is None or node.text is None else node.text.strip()


def duration_s(text: str) -> int:
    """`PT15M`, `PT60M`, `PT1H` as seconds."""
    match = _DURATION.match(text or "")
    if not match or not any(match.groups()):
        raise A44Error(f"resolution {text!r} is not a duration this parser knows (PT15M, PT60M)")
    seconds = int(match.group(1) or 0) * 3600 + int(match.group(2) or 0) * 60
    if seconds <= 0 or 3600 % seconds:
        raise A44Error(f"resolution {text!r} does not divide an hour")
    return seconds


def instant(text: str | None, what: str) -> int:
    """An ISO 8601 UTC time (`2025-09-30T22:00Z`) as epoch seconds."""
    if not text:
        raise A44Error(f"{what} is missing")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise A44Error(f"{what} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise A44Error(f"{what} {text!r} has no zone (the platform writes UTC, with Z)")
    return int(moment.timestamp())


def parse(body: bytes | str) -> A44Result:
    """The prices of an A44 answer; NoMatchingData for the "no data" acknowledgement."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BYTES:
        raise A44Error(f"answer of {len(raw)} bytes is larger than any A44 document")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise A44Error("refusing an XML document with a DTD (no A44 answer has one)")
    try:
        root = ET.fromstring(raw)
    except ET.ParseError as exc:
        raise A44Error(f"not well-formed XML: {exc}") from None
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = _text(root, "Reason/text") or _text(root, "Reason/code") or "no reason given"
        if "no matching data" in reason.lower():
            raise NoMatchingData(reason)
        raise A44Error(f"the platform refused the query: {reason}")
    if kind != "Publication_MarketDocument":
        raise A44Error(f"expected a Publication_MarketDocument, got {kind!r}")
    doc_type = _text(root, "type")
    if doc_type is not None and doc_type != "A44":
        raise A44Error(f"document type {doc_type!r} is not A44 (day-ahead prices)")
    result = A44Result()
    seen: dict[tuple[int, int], float] = {}
    for series in _children(root, "TimeSeries"):
        result.series += 1
        _check_units(series)
        curve = _text(series, "curveType") or "A01"
        for period in _children(series, "Period"):
            for price in _period(period, curve, result):
                key = (price.resolution_s, price.start)
                if key in seen:
                    if seen[key] == price.price_eur_mwh:
                        result.duplicates += 1
                    else:
                        result.conflicts += 1
                    continue
                seen[key] = price.price_eur_mwh
                result.prices.append(price)
    result.prices.sort()
    return result


def _check_units(series: ET.Element) -> None:
    currency = _text(series, "currency_Unit.name")
    unit = _text(series, "price_Measure_Unit.name")
    if currency not in (None, "EUR") or unit not in (None, "MWH"):
        raise A44Error(f"prices in {currency} per {unit}, not EUR per MWH")


def _period(period: ET.Element, curve: str, result: A44Result) -> list[PricePoint]:
    start = instant(_text(period, "timeInterval/start"), "Period timeInterval start")
    end = instant(_text(period, "timeInterval/end"), "Period timeInterval end")
    step = duration_s(_text(period, "resolution") or "")
    if end <= start or (end - start) % step or start % step:
        raise A44Error(f"Period {start}..{end} is not a whole number of {step} s steps")
    count = (end - start) // step
    given: dict[int, float] = {}
    for point in _children(period, "Point"):
        position_text, amount_text = _text(point, "position"), _text(point, "price.amount")
        try:
            position = int(position_text or "")
            amount = float(amount_text or "")
        except ValueError:
            raise A44Error(f"Point position {position_text!r} price {amount_text!r} is not "
                           "a number") from None
        if not 1 <= position <= count:
            raise A44Error(f"Point position {position} outside the period's 1..{count}")
        if amount != amount or abs(amount) > 100_000:
            raise A44Error(f"price {amount_text!r} EUR/MWh is not a price")
        if position in given:
            raise A44Error(f"position {position} twice in one Period")
        given[position] = amount
    out = []
    last: float | None = None
    for position in range(1, count + 1):
        if position in given:
            last = given[position]
        elif curve == "A03" and last is not None:
            result.filled += 1
        else:
            result.unfilled += 1
            continue
        out.append(PricePoint(start + (position - 1) * step, step, last))
    return out
