"""The P1 telegram stream: TCP connection, framing, guarded parsing, points.

Layers, each testable alone:

- `P1Decoder` (sync, no I/O): bytes in, points out. It frames with dsmr_parser's `TelegramBuffer`
  (bounded here, see `BoundedTelegramBuffer`), parses with `TelegramParser(BELGIUM_FLUVIUS)` in
  strict mode inside a guard, counts every kind of bad input through `Problems` and applies the
  `[p1] every` rate rule. Nothing a peer sends can make it raise or grow without bound.
- `P1Reader` (async): owns the TCP connection (`asyncio.open_connection`), treats `idle_timeout`
  seconds without a byte as a dead link (a half-open connection never errors by itself), and
  reconnects with capped exponential backoff and jitter. It logs state changes, not attempts.
- `P1Source`: what the service runs: the reader as a long-lived task, a supervisor that restarts
  it if it ever dies, and the link state / rate / counters in the outbox for `status`.

We do not use dsmr_parser's client classes: they drop telegrams silently, die on non-ASCII bytes
and a non-hex CRC, and their keep-alive and reconnect behaviour changed between releases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import TelegramBuffer
from dsmr_parser.exceptions import InvalidChecksumError, ParseError
from dsmr_parser.parsers import TelegramParser

from logger.point import Point
from logger.problems import Problems
from logger.sources.p1_points import IncompleteTelegram, P1Reading, reading_from_telegram

log = logging.getLogger(__name__)
# dsmr_parser logs every line it cannot parse at ERROR with a traceback; we count and report
# those ourselves (rate-limited), so its own logging would only flood the journal.
logging.getLogger("dsmr_parser").setLevel(logging.CRITICAL)

MAX_BUFFER_CHARS = 16 * 1024  # a Fluvius telegram with 13 months of peaks is about 1.5 KB
READ_SIZE = 65536

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
VALID = "p1_telegrams"

_CRC_FIELD = re.compile(r"!([0-9A-F]{1,4})\x00?\r\n\Z")
# `/XXXZ...` identification line (3-letter manufacturer, baud-rate digit) and the empty line.
_HEADER = re.compile(r"\A/[A-Za-z]{3}[0-9][^\r\n/!]*\r\n\r\n")
_TIME_LINE = re.compile(r"0-0:1\.0\.0\(([0-9]{12}[SW]?)\)")


class BoundedTelegramBuffer(TelegramBuffer):
    """dsmr_parser's TelegramBuffer that hands back what it discards and never grows unbounded.

    The library keeps everything it received in `self._buffer` (a str) until a telegram
    `/...!CRC\\r\\n` completes, and silently drops what precedes a telegram. Here every dropped
    piece is kept in `discarded` (so it can be counted), and after each extraction `trim` drops
    what can never become part of a telegram: text before the last `/` (a telegram cannot contain
    `/`) and a pending telegram longer than `max_chars`.
    """

    def __init__(self, max_chars: int = MAX_BUFFER_CHARS) -> None:
        super().__init__()
        self.max_chars = max_chars
        self.discarded: list[str] = []
        self.oversized = 0

    def _remove(self, telegram: str) -> None:
        index = self._buffer.index(telegram)
        if index:
            self.discarded.append(self._buffer[:index])
        self._buffer = self._buffer[index + len(telegram) :]

    def trim(self) -> None:
        buffer = self._buffer
        last = buffer.rfind("/")
        if last == -1:
            if buffer:
                self.discarded.append(buffer)
            buffer = ""
        elif last > 0:
            self.discarded.append(buffer[:last])
            buffer = buffer[last:]
        if len(buffer) > self.max_chars:
            self.oversized += 1
            buffer = ""
        self._buffer = buffer

    def flush(self) -> None:
        """End of stream: what is left can never complete."""
        if self._buffer:
            self.discarded.append(self._buffer)
        self._buffer = ""

    @property
    def size(self) -> int:
        return len(self._buffer)


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
        if reading is None:
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


# -- the connection -------------------------------------------------------------------


class P1Reader:
    """Keeps one TCP connection to the P1 relay alive and feeds what arrives to a decoder."""

    def __init__(
        self,
        host: str,
        port: int,
        decoder: P1Decoder,
        sink: Callable[[list[Point]], None],
        *,
        idle_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        on_state: Callable[[str, str], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.decoder = decoder
        self.sink = sink
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.on_state = on_state
        self.rng = rng or random.Random()
        self.state = "starting"
        self.connects = 0
        self._down_since: float | None = None
        self._failures = 0
        self._last_reminder = 0.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def backoff(self, attempt: int) -> float:
        """Delay before attempt `attempt` (1, 2, ...): base * 2^(n-1), capped, times [0.5, 1)."""
        step = min(self.backoff_cap, self.backoff_base * 2 ** min(attempt - 1, 30))
        return step * (0.5 + 0.5 * self.rng.random())

    def _set_state(self, state: str, detail: str = "") -> None:
        previous, self.state = self.state, state
        now = time.monotonic()
        if state == "connected":
            if previous == "down" and self._down_since is not None:
                log.info(
                    "P1: back: connected to %s after %.1f s (%d failed attempts)",
                    self.address,
                    now - self._down_since,
                    self._failures,
                )
            else:
                log.info("P1: connected to %s", self.address)
            self._down_since = None
            self._failures = 0
        elif state == "down":
            if previous != "down":
                self._down_since = now
                self._last_reminder = now
                if previous == "connected":
                    log.warning("P1: link to %s lost (%s); reconnecting", self.address, detail)
                else:
                    log.warning(
                        "P1: cannot connect to %s (%s); retrying with backoff up to %.0f s",
                        self.address,
                        detail,
                        self.backoff_cap,
                    )
            elif now - self._last_reminder >= 600:
                self._last_reminder = now
                log.warning(
                    "P1: %s still unreachable after %.0f s (%s)",
                    self.address,
                    now - (self._down_since or now),
                    detail,
                )
        if self.on_state is not None:
            self.on_state(state, detail)

    async def run(self) -> None:
        """Forever: connect, read until the link dies, wait a backoff step, again."""
        attempt = 0
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                attempt += 1
                self._failures += 1
                self._set_state("down", _describe(exc))
                await asyncio.sleep(self.backoff(attempt))
                continue
            self.connects += 1
            self._set_state("connected")
            valid_before = self.decoder.stats.valid
            reason = await self._read(reader, writer)
            if self.decoder.stats.valid > valid_before:
                attempt = 0  # the link worked: start the backoff from the first step again
            attempt += 1
            self._set_state("down", reason)
            await asyncio.sleep(self.backoff(attempt))

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> str:
        """Read until EOF, an error or `idle_timeout` of silence; returns why it stopped."""
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_timeout)
                except TimeoutError:
                    return f"no data for {self.idle_timeout:g} s"
                if not data:
                    return "closed by the other side"
                points = self.decoder.feed(data)
                if points:
                    self.sink(points)
        except OSError as exc:
            return _describe(exc)
        finally:
            self.decoder.end_of_stream()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


# -- the service's view ---------------------------------------------------------------

META_STATE = "p1.state"
META_SINCE = "p1.state_since"
META_DETAIL = "p1.detail"
META_RATE = "p1.telegrams_per_minute"
META_ADDRESS = "p1.address"
META_LAST_TIME = "last_sample.p1"


class P1Source:
    """The P1 reader as the service runs it: a supervised task writing into the outbox."""

    def __init__(self, settings: Any, outbox: Any) -> None:
        p1 = settings.p1
        self.outbox = outbox
        self.problems = Problems(log, on_count=lambda kind, n: outbox.count(kind, n))
        last = outbox.get_meta(META_LAST_TIME)
        last_time = None
        if last:
            with contextlib.suppress(ValueError):
                last_time = datetime.fromisoformat(last)
        self.decoder = P1Decoder(
            settings.installation,
            p1.every,
            self.problems,
            last_time=last_time,
            on_valid=self._on_valid,
        )
        self.reader = P1Reader(
            p1.host,
            p1.port,
            self.decoder,
            self._sink,
            idle_timeout=p1.idle_timeout,
            on_state=self._on_state,
        )
        self.task: asyncio.Task[None] | None = None
        self.restarts = 0
        self._recent: deque[float] = deque()
        outbox.set_meta(META_ADDRESS, self.reader.address)

    def _sink(self, points: list[Point]) -> None:
        self.outbox.put(points)

    def _on_valid(self, reading: P1Reading) -> None:
        self.outbox.count(VALID)
        self.outbox.set_meta(META_LAST_TIME, reading.time.isoformat())
        now = time.monotonic()
        self._recent.append(now)
        self._trim_rate(now)

    def _trim_rate(self, now: float) -> None:
        while self._recent and self._recent[0] < now - 60:
            self._recent.popleft()

    def telegrams_per_minute(self) -> int:
        self._trim_rate(time.monotonic())
        return len(self._recent)

    def _on_state(self, state: str, detail: str) -> None:
        if self.outbox.get_meta(META_STATE) != state:
            self.outbox.set_meta(META_SINCE, datetime.now(UTC).isoformat(timespec="seconds"))
        self.outbox.set_meta(META_STATE, state)
        self.outbox.set_meta(META_DETAIL, detail)

    async def supervise(self) -> None:
        """The scheduler's job: (re)start the reader task when it is not running."""
        task = self.task
        if task is not None and not task.done():
            self.outbox.set_meta(META_RATE, str(self.telegrams_per_minute()))
            return
        if task is not None:
            self.restarts += 1
            self.outbox.count("p1_reader_restarts")
            error = None if task.cancelled() else task.exception()
            log.error(
                "P1: reader stopped (%s); restarting it",
                f"{type(error).__name__}: {error}" if error else "cancelled",
            )
        self.task = asyncio.create_task(self.reader.run(), name="p1-reader")
        self.outbox.set_meta(META_RATE, str(self.telegrams_per_minute()))

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._on_state("stopped", "")
        self.outbox.set_meta(META_RATE, "0")


# -- `check` --------------------------------------------------------------------------


async def probe(host: str, port: int, installation: str, timeout: float) -> tuple[bool, str]:
    """Connect and wait for one valid telegram; (ok, one line saying what happened)."""
    problems = Problems(logging.getLogger("check"), every=1e9)
    decoder = P1Decoder(installation, 1, problems)
    started = time.monotonic()
    received = 0
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return False, f"{host}:{port}: cannot connect: {_describe(exc)}"
    try:
        deadline = started + timeout
        while time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(
                    reader.read(READ_SIZE), max(0.01, deadline - time.monotonic())
                )
            except TimeoutError:
                break
            if not data:
                break
            received += len(data)
            for telegram in decoder.frames(data):
                reading = decoder.parse(telegram)
                if reading is not None:
                    return True, (
                        f"{host}:{port}: valid telegram of meter {reading.meter_id} at "
                        f"{reading.time.isoformat()} after {time.monotonic() - started:.1f} s"
                        + _problem_text(problems.counts.items())
                    )
    except OSError as exc:
        return False, f"{host}:{port}: connection failed: {_describe(exc)}"
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return False, (
        f"{host}:{port}: no valid telegram within {timeout:g} s ({received} bytes received)"
        + _problem_text(problems.counts.items())
    )


def _problem_text(counts: Iterable[tuple[str, int]]) -> str:
    parts = [f"{kind.removeprefix('p1_')} {n}" for kind, n in sorted(counts) if n]
    return f"; skipped: {', '.join(parts)}" if parts else ""
