"""Simulated Belgian day-ahead prices, and the A44 documents the fake Transparency Platform serves.

Prices are a pure function of (seed, delivery period): a Belgian daily shape (night trough,
morning and evening peaks, a midday dip that deepens with the sun in spring and summer and goes
below zero on sunny weekends), a winter premium, and per-hour and per-quarter noise from the same
counter-based hash as the house model. Delivery days before 2025-10-01 are hourly (PT60M); from
that day on quarter-hourly (PT15M), the quarters of an hour differing (the step a quarter-hour
contract sees), and about one quarter in five repeating the one before exactly, so curve type A03
has points to leave out. Prices have two decimals, like the platform's.

The XML is written here from the published document structure (Publication_MarketDocument,
TimeSeries per delivery day, Period, Point), independently of the product's parser, so a test
of one against the other can fail.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from xml.sax.saxutils import escape

from .model import BRUSSELS, unit_noise

QUARTER_FROM = date(2025, 10, 1)  # the first delivery day of the 15-minute market time unit
PUBLICATION_NS = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
ACK_NS = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"
_CH_HOUR, _CH_QUARTER, _CH_REPEAT, _CH_DAY = 101, 102, 103, 104


def day_bounds(day: date) -> tuple[int, int]:
    start = datetime(day.year, day.month, day.day, tzinfo=BRUSSELS)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=BRUSSELS)
    return int(start.timestamp()), int(end.timestamp())


def resolution_of(day: date) -> int:
    """Seconds per price on delivery day `day`."""
    return 900 if day >= QUARTER_FROM else 3600


def _hour_price(seed: int, hour_start: int) -> float:
    local = datetime.fromtimestamp(hour_start, BRUSSELS)
    h = local.hour + 0.5
    doy = local.timetuple().tm_yday
    summer = (1 + math.cos(2 * math.pi * (doy - 172) / 365)) / 2  # 1 in June, 0 in December
    sunny = unit_noise(seed, _CH_DAY, local.date().toordinal()) ** 0.5
    weekend = local.weekday() >= 5
    level = 75 + 40 * (1 - summer)
    shape = (-20 * math.exp(-((h - 4) / 2.5) ** 2) + 35 * math.exp(-((h - 8) / 1.3) ** 2)
             + 55 * math.exp(-((h - 19) / 1.8) ** 2))
    dip = (80 + 120 * summer) * sunny * math.exp(-((h - 13.5) / 2.6) ** 2)
    if weekend:
        level -= 15
        dip *= 1.3
    noise = 18 * (unit_noise(seed, _CH_HOUR, hour_start // 3600) - 0.5)
    return level + shape - dip + noise


def prices_of_day(seed: int, day: date) -> list[tuple[int, int, float]]:
    """(start, resolution_s, EUR/MWh) of every period of one Belgian delivery day (what the
    fake platform serves, and the tests' oracle)."""
    start, end = day_bounds(day)
    step = resolution_of(day)
    out: list[tuple[int, int, float]] = []
    for t in range(start, end, step):
        price = _hour_price(seed, t - t % 3600)
        if step == 900:
            if out and unit_noise(seed, _CH_REPEAT, t // 900) < 0.2:
                price = out[-1][2]  # a repeat: what A03 leaves out
            else:
                price += 14 * (unit_noise(seed, _CH_QUARTER, t // 900) - 0.5)
        out.append((t, step, round(price, 2)))
    return out


def _z(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _period(start: int, end: int, step: int, prices: list[float], a03: bool) -> str:
    points = []
    for position, price in enumerate(prices, 1):
        if a03 and position > 1 and price == prices[position - 2]:
            continue  # curve type A03 leaves out a repeated price
        points.append(f"<Point><position>{position}</position>"
                      f"<price.amount>{price:.2f}</price.amount></Point>")
    resolution = "PT15M" if step == 900 else "PT60M"
    return (f"<Period><timeInterval><start>{_z(start)}</start><end>{_z(end)}</end>"
            f"</timeInterval><resolution>{resolution}</resolution>{''.join(points)}</Period>")


def _series(mrid: int, zone: str, period: str, position: int | None) -> str:
    sequence = ("" if position is None else
                "<classificationSequence_AttributeInstanceComponent.position>"
                f"{position}</classificationSequence_AttributeInstanceComponent.position>")
    return (f"<TimeSeries><mRID>{mrid}</mRID><auction.type>A01</auction.type>"
            f"<businessType>A62</businessType>"
            f'<in_Domain.mRID codingScheme="A01">{escape(zone)}</in_Domain.mRID>'
            f'<out_Domain.mRID codingScheme="A01">{escape(zone)}</out_Domain.mRID>'
            f"<contract_MarketAgreement.type>A01</contract_MarketAgreement.type>"
            f"<currency_Unit.name>EUR</currency_Unit.name>"
            f"<price_Measure_Unit.name>MWH</price_Measure_Unit.name>{sequence}"
            f"<curveType>A03</curveType>{period}</TimeSeries>")


def publication(seed: int, zone: str, days: list[date], created: datetime, *,
                both_resolutions: bool = False, duplicate: bool = False) -> str:
    """An A44 answer for whole delivery days: one TimeSeries each (and, with
    `both_resolutions`, an hourly-average PT60M series beside every PT15M one, as the
    platform published during the move; `duplicate` repeats the first series)."""
    series = []
    for day in days:
        start, end = day_bounds(day)
        periods = prices_of_day(seed, day)
        step = periods[0][1]
        values = [p for _, _, p in periods]
        series.append(_series(len(series) + 1, zone, _period(start, end, step, values, True),
                              1 if both_resolutions else None))
        if both_resolutions and step == 900:
            hourly = [round(sum(values[i:i + 4]) / 4, 2) for i in range(0, len(values), 4)]
            series.append(_series(len(series) + 1, zone,
                                  _period(start, end, 3600, hourly, True), 2))
    if duplicate and series:
        series.append(series[0])
    first, last = day_bounds(days[0])[0], day_bounds(days[-1])[1]
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            f'<Publication_MarketDocument xmlns="{PUBLICATION_NS}">'
            "<mRID>sim-a44</mRID><revisionNumber>1</revisionNumber><type>A44</type>"
            '<sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450'
            "</sender_MarketParticipant.mRID>"
            "<sender_MarketParticipant.marketRole.type>A32"
            "</sender_MarketParticipant.marketRole.type>"
            '<receiver_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450'
            "</receiver_MarketParticipant.mRID>"
            "<receiver_MarketParticipant.marketRole.type>A33"
            "</receiver_MarketParticipant.marketRole.type>"
            f"<createdDateTime>{created.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</createdDateTime>"
            f"<period.timeInterval><start>{_z(first)}</start><end>{_z(last)}</end>"
            f"</period.timeInterval>{''.join(series)}</Publication_MarketDocument>\n")


def acknowledgement(text: str, created: datetime) -> str:
    """The platform's answer when it has nothing (or refuses the query)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Acknowledgement_MarketDocument xmlns="{ACK_NS}">'
            "<mRID>sim-ack</mRID>"
            f"<createdDateTime>{created.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}</createdDateTime>"
            '<sender_MarketParticipant.mRID codingScheme="A01">10X1001A1001A450'
            "</sender_MarketParticipant.mRID>"
            "<sender_MarketParticipant.marketRole.type>A32"
            "</sender_MarketParticipant.marketRole.type>"
            f"<Reason><code>999</code><text>{escape(text)}</text></Reason>"
            "</Acknowledgement_MarketDocument>\n")
