"""P1 bytes in, points out: framing, strict parsing inside a guard, counting, the rate rule.

`P1Decoder` is synchronous and does no I/O. It frames with `BoundedTelegramBuffer`, parses with
dsmr_parser's `TelegramParser(BELGIUM_FLUVIUS)` in strict mode, counts every kind of bad input
through `Problems` and applies the `[p1] every` rate rule. Nothing a peer sends can make it raise
or grow without bound.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dsmr_parser import telegram_specifications
from dsmr_parser.exceptions import InvalidChecksumError, ParseError
from dsmr_parser.parsers import TelegramParser

from logger.core.logs import get_logger
from logger.core.point import Point
from logger.core.problems import Problems
from logger.sources.p1.framing import MAX_BUFFER_CHARS, BoundedTelegramBuffer
from logger.sources.p1.points import IncompleteTelegram, P1Reading, reading_from_telegram

log = get_logger(__name__)
# dsmr_parser logs every line it cannot parse at ERROR with a traceback; we count and report
# those ourselves (rate-limited), so its own logging would only flood the journal.
logging.getLogger("dsmr_parser").setLevel(logging.CRITICAL)

# Problem kinds (each is also an outbox counter, see `status`).
CRC_MISMATCH = "p1_crc_mismatch"
BAD_CRC_FIELD = "p1_bad_crc_field"
NON_ASCII = "p1_non_ascii"
PARSE_ERROR = "p1_parse_error"
NO_TIME = "p1_incomplete_telegram"
GARBAGE = "p1_garbage"
TRUNCATED = "p1_truncated"
OVERSIZED = "p1_oversized"
PROBLEM_KINDS = (
    CRC_MISMATCH,
    BAD_CRC_FIELD,
    NON_ASCII,
    PARSE_ERROR,
    NO_TIME,
    GARBAGE,
    TRUNCATED,
    OVERSIZED,
)

_CRC_FIELD = re.compile(r"!([0-9A-F]{1,4})\x00?\r\n\Z")
# `/XXXZ...` identification line (3-letter manufacturer, baud-rate digit) and the empty line.
_HEADER = re.compile(r"\A/[A-Za-z]{3}[0-9][^\r\n/!]*\r\n\r\n")
_TIME_LINE = re.compile(r"0-0:1\.0\.0\(([0-9]{12}[SW]?)\)")


@dataclass
class DecoderStats:
    valid: int = 0
    kept: int = 0
    last_time: datetime | None = None
    last_meter_id: str | None = None


class P1Decoder:
    """Bytes of a P1 stream in, points out; counts and skips everything that is not valid."""

    def __init__(
        self,
        installation: str,
        every: int = 1,
        problems: Problems | None = None,
        *,
        max_buffer: int = MAX_BUFFER_CHARS,
        last_time: datetime | None = None,
        on_valid: Callable[[P1Reading], None] | None = None,
        accept: Callable[[P1Reading], bool] | None = None,
    ) -> None:
        if every < 1:
            raise ValueError("every must be >= 1")
        self.installation = installation
        self.every = every
        self.problems = problems or Problems(log)
        self.parser = TelegramParser(telegram_specifications.BELGIUM_FLUVIUS)
        self.buffer = BoundedTelegramBuffer(max_buffer)
        self.stats = DecoderStats()
        self.on_valid = on_valid
        # A last say on a valid telegram (the service checks its time against the meter clock's
        # course); False skips it, and the callback has counted why.
        self.accept = accept
        self._last_bucket: int | None = None
        if last_time is not None:
            self._last_bucket = int(last_time.timestamp()) // every
        self._written: dict[str, tuple[tuple[str, float], ...]] = {}

    # -- stream ---------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Point]:
        """Points from the telegrams that `data` completes (possibly none)."""
        points: list[Point] = []
        for telegram in self.frames(data):
            points.extend(self.handle(telegram))
        return points

    def frames(self, data: bytes) -> list[str]:
        """The complete telegrams (text from `/` to the CRC line) that `data` completes."""
        # latin-1 maps every byte to one character, so nothing raises here and the CRC (computed
        # over characters) still sees the bytes; non-ASCII is rejected per telegram in `parse`.
        self.buffer.append(data.decode("latin-1"))
        telegrams = list(self.buffer.get_all())
        self.buffer.trim()
        self._account_discarded()
        return telegrams

    def end_of_stream(self) -> None:
        """The connection ended: a partial telegram left in the buffer is lost."""
        self.buffer.flush()
        self._account_discarded()

    def _account_discarded(self) -> None:
        buffer = self.buffer
        if buffer.oversized:
            for _ in range(buffer.oversized):
                self.problems.report(
                    OVERSIZED,
                    "P1: %d characters without a telegram end dropped (limit)",
                    buffer.max_chars,
                )
            buffer.oversized = 0
        if not buffer.discarded:
            return
        pieces, buffer.discarded = buffer.discarded, []
        for piece in pieces:
            self._classify(piece)

    def _classify(self, piece: str) -> None:
        """Count what the framing dropped: garbage, cut-off telegrams, a non-hex CRC field."""
        first = piece.find("/")
        before = piece if first == -1 else piece[:first]
        if before.strip():
            self.problems.report(
                GARBAGE, "P1: %d bytes outside any telegram skipped: %.60r", len(before), before
            )
        if first == -1:
            return
        for segment in piece[first + 1 :].split("/"):
            if "!" in segment:
                self.problems.report(
                    BAD_CRC_FIELD,
                    "P1: telegram skipped: its CRC field is not 4 hex digits: %.30r",
                    segment[segment.rfind("!") :],
                )
            else:
                self.problems.report(
                    TRUNCATED,
                    "P1: telegram cut off (no end seen) skipped after %d bytes",
                    len(segment) + 1,
                )

    # -- one telegram ---------------------------------------------------------------

    def parse(self, text: str) -> P1Reading | None:
        """The reading of one framed telegram, or None (counted) when it is not valid.

        Strict: a telegram is valid only when it is ASCII, has a proper identification line and
        a CRC that matches, and every line dsmr_parser recognises parses (`throw_ex=True`).
        Any exception is caught here: a telegram can be rejected, never kill the reader.
        """
        when = _time_text(text)
        if not text.isascii():
            self.problems.report(NON_ASCII, "P1: telegram %s with non-ASCII bytes skipped", when)
            return None
        if _CRC_FIELD.search(text) is None:
            self.problems.report(BAD_CRC_FIELD, "P1: telegram %s skipped: no valid CRC field", when)
            return None
        if _HEADER.match(text) is None:
            self.problems.report(
                PARSE_ERROR, "P1: telegram %s skipped: no identification line: %.40r", when, text
            )
            return None
        try:
            telegram = self.parser.parse(text, throw_ex=True)
            return reading_from_telegram(telegram, self.installation)
        except InvalidChecksumError:
            self.problems.report(CRC_MISMATCH, "P1: telegram %s skipped: CRC mismatch", when)
        except IncompleteTelegram as exc:
            self.problems.report(NO_TIME, "P1: telegram %s skipped: %s", when, exc)
        except ParseError as exc:
            self.problems.report(PARSE_ERROR, "P1: telegram %s skipped: %s", when, exc)
        except Exception as exc:  # anything the parser did not foresee: count, skip, go on
            self.problems.report(
                PARSE_ERROR, "P1: telegram %s skipped: %s: %s", when, type(exc).__name__, exc
            )
        log.debug("P1: rejected telegram: %r", text)
        return None

    def handle(self, text: str) -> list[Point]:
        """Points from one framed telegram after the rate rule and change tracking."""
        reading = self.parse(text)
        if reading is None or (self.accept is not None and not self.accept(reading)):
            return []
        self.stats.valid += 1
        self.stats.last_time = reading.time
        self.stats.last_meter_id = reading.meter_id
        if self.on_valid is not None:
            self.on_valid(reading)
        return self.points(reading)

    def points(self, reading: P1Reading) -> list[Point]:
        """`p1` once per `every`-second bucket; peaks and M-Bus readings when they changed.

        The rule for `p1`: keep the first valid telegram in each bucket floor(epoch / every).
        With a meter that sends every second, that is every telegram whose epoch second is a
        multiple of `every`; it does not depend on when the logger (re)connected.
        """
        out: list[Point] = []
        bucket = reading.time_s // self.every
        if reading.point is not None and bucket != self._last_bucket:
            self._last_bucket = bucket
            self.stats.kept += 1
            out.append(reading.point)
        written: dict[str, tuple[tuple[str, float], ...]] = {}
        for point in (*reading.peaks, *reading.mbus):
            identity = point.identity
            written[identity] = point.fields
            if self._written.get(identity) != point.fields:
                out.append(point)
        self._written = written  # only what the last telegram showed: bounded
        return out


def _time_text(text: str) -> str:
    match = _TIME_LINE.search(text)
    return match.group(1) if match else "(no time)"
