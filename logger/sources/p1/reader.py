"""The P1 TCP connection: keep one link to the relay alive and feed the decoder.

`P1Reader` owns the connection (`asyncio.open_connection`), treats `idle_timeout` seconds without
a byte as a dead link (a half-open connection never errors by itself), and reconnects with the
project's backoff (`logger.core.backoff`). It logs state changes, not attempts, and hands points
to an `emit` callback. We do not use dsmr_parser's client classes: they drop telegrams silently,
die on non-ASCII bytes and a non-hex CRC, and their keep-alive changed between releases.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable

from logger.core.backoff import Backoff
from logger.core.logs import get_logger
from logger.core.point import Point
from logger.sources.p1.decoder import P1Decoder

log = get_logger(__name__)

READ_SIZE = 65536


class P1Reader:
    """Keeps one TCP connection to the P1 relay alive and feeds what arrives to a decoder."""

    def __init__(
        self,
        host: str,
        port: int,
        decoder: P1Decoder,
        emit: Callable[[list[Point]], None],
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
        self.emit = emit
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.backoff = Backoff(backoff_base, max(backoff_base, backoff_cap), rng)
        self.on_state = on_state
        self.state = "starting"
        self.connects = 0
        self._down_since: float | None = None
        self._failures = 0
        self._last_reminder = 0.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

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
                        self.backoff.maximum,
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
        while True:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port), self.connect_timeout
                )
            except (OSError, TimeoutError) as exc:
                self._failures += 1
                self._set_state("down", describe_error(exc))
                await asyncio.sleep(self.backoff.next_delay())
                continue
            self.connects += 1
            self._set_state("connected")
            valid_before = self.decoder.stats.valid
            reason = await self._read(reader, writer)
            if self.decoder.stats.valid > valid_before:
                self.backoff.succeeded()  # the link worked: start from the first step again
            self._set_state("down", reason)
            await asyncio.sleep(self.backoff.next_delay())

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
                    self.emit(points)
        except OSError as exc:
            return describe_error(exc)
        finally:
            self.decoder.end_of_stream()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
