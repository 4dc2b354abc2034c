"""The box's P1 relay: a TCP server that pushes one DSMR telegram per simulated second.

Every connected client gets the same telegrams, pushed unsolicited (like the Jullix relay and
ser2net-style P1 dongles). Time follows the simulator clock: at `--speed 60` it sends 60 telegrams
per real second. Above `max_rate` telegrams per real second (default 100) it sends only the
telegrams whose simulated second is a multiple of ceil(speed / max_rate), so a fast replay stays
cheap and still deterministic.

The stream has its own copy of the house model, stepped one second at a time, so every telegram
shows the state of exactly its second. The model is deterministic (see model.py), so this copy and
the one behind the local API agree at every second.

Faults (runtime-switchable, `P1Faults.update`, `POST /_sim/faults {"p1": {...}}`):
  corrupt_rate        probability that a telegram's CRC is wrong
  bad_crc_field_rate  probability that the CRC field is not hex (`!XYZ`)
  non_ascii_rate      probability that a non-ASCII byte replaces one character (CRC kept)
  garbage_rate        probability of random bytes before a telegram
  disconnect_rate     probability of an abrupt disconnect in the middle of a telegram
  split               send telegrams in random pieces (random byte boundaries)
  paused              send nothing (connections stay open)
  max_rate            cap on telegrams per real second
  no_captar           telegrams without 1-0:1.4.0, 1-0:1.6.0 and 0-0:98.1.0 (consent expired)
  hang: true          (action) current connections go silent but stay open: a half-open link
  disconnect: true    (action) close every current connection abruptly
  reset: true         back to healthy settings first

Ground truth (`GET /_sim/p1`): every telegram delivered to at least one client, with its second,
its `0-0:1.0.0` text and whether it was valid or how it was damaged.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import logging
import math
import socket
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from .clock import SimClock
from .model import HouseModel
from .p1_faults import P1Faults, P1FaultSettings, damage, pieces
from .telegram import TelegramPrinter, dsmr_time

log = logging.getLogger(__name__)

QUEUE_LIMIT = 2000  # telegrams waiting for one slow client before it is dropped
BACKLOG_SECONDS = 5.0  # real seconds of telegrams to catch up on after a stall or clock jump


@dataclass(frozen=True)
class SentTelegram:
    """One telegram as delivered: its second, its timestamp text, what was done to it."""

    t: int
    time: str
    kind: str  # one of KINDS
    clients: int
    sent_at: float  # wall clock (time.time()) when it was queued
    captar: bool = True  # it carried the capacity-tariff registers (1.4.0, 1.6.0, 98.1.0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _Client:
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[tuple[list[bytes], bool] | None]
    peer: str
    hung: bool = False
    task: asyncio.Task[None] | None = None


class P1Stream:
    """The TCP server and the telegram clock."""

    def __init__(
        self,
        model: HouseModel,
        clock: SimClock,
        seed: int = 1,
        faults: P1FaultSettings | None = None,
        *,
        record_limit: int = 200_000,
    ) -> None:
        self.model = copy.deepcopy(model)  # stepped by this stream only, one second at a time
        self.clock = clock
        self.printer = TelegramPrinter(self.model.features, seed)
        self.faults = P1Faults(seed, faults)
        self.sent: deque[SentTelegram] = deque(maxlen=record_limit)
        self.counts: Counter[str] = Counter()
        self.connections_total = 0
        self.skipped_seconds = 0
        self._clients: list[_Client] = []
        self._server: asyncio.AbstractServer | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.host = "127.0.0.1"
        self.port = 0
        self.printer.observe(self.model.snapshot())

    # ------------------------------------------------------------------ serving

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        sock = self._server.sockets[0]
        self.host, self.port = sock.getsockname()[:2]
        self._ticker = asyncio.create_task(self._run(), name="p1-stream")

    async def stop(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for client in list(self._clients):
            self._drop(client, abort=True)
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 2)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = str(writer.get_extra_info("peername"))
        client = _Client(writer, asyncio.Queue(QUEUE_LIMIT), peer)
        self._clients.append(client)
        self.connections_total += 1
        client.task = asyncio.create_task(self._send_loop(client), name=f"p1-client {peer}")
        try:
            while await reader.read(4096):  # clients do not talk; this notices them leaving
                pass
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._drop(client, abort=False)

    def _drop(self, client: _Client, abort: bool) -> None:
        if client in self._clients:
            self._clients.remove(client)
        if client.task is not None and client.task is not asyncio.current_task():
            client.task.cancel()
        transport = client.writer.transport
        if abort:
            transport.abort()
        else:
            transport.close()

    async def _send_loop(self, client: _Client) -> None:
        try:
            while True:
                item = await client.queue.get()
                if item is None:
                    return
                chunks, then_close = item
                for i, chunk in enumerate(chunks):
                    client.writer.write(chunk)
                    await client.writer.drain()
                    if i < len(chunks) - 1:
                        await asyncio.sleep(0.002)  # let the pieces travel as separate segments
                if then_close:
                    self._drop(client, abort=True)
                    return
        except (OSError, RuntimeError):
            self._drop(client, abort=True)

    # ----------------------------------------------------------------- control

    @property
    def connections(self) -> int:
        return len(self._clients)

    def apply(self, settings: P1FaultSettings, actions: set[str]) -> None:
        self.faults.settings = settings
        if "hang" in actions:
            for client in self._clients:
                client.hung = True
                while not client.queue.empty():
                    client.queue.get_nowait()
        if "disconnect" in actions:
            for client in list(self._clients):
                self._drop(client, abort=True)

    def update(self, changes: Any) -> None:
        settings, actions = self.faults.prepare(changes)
        self.apply(settings, actions)

    def ground_truth(self) -> dict[str, Any]:
        return {
            "address": f"{self.host}:{self.port}",
            "connections": self.connections,
            "connections_total": self.connections_total,
            "hung": sum(1 for c in self._clients if c.hung),
            "counts": dict(self.counts),
            "skipped_seconds": self.skipped_seconds,
            "faults": self.faults.to_dict(),
            "sent": [s.to_dict() for s in self.sent],
        }

    # ------------------------------------------------------------------- clock

    def _step_every(self) -> int:
        speed = self.clock.speed
        return max(1, math.ceil(speed / self.faults.settings.max_rate)) if speed > 0 else 1

    async def _run(self) -> None:
        while True:
            target = math.floor(self.clock.timestamp())
            backlog = max(10, int(self.clock.speed * BACKLOG_SECONDS))
            if target - self.model.t > backlog:
                # A clock jump or a long stall: those seconds pass without telegrams.
                skip_to = target - backlog
                self.skipped_seconds += skip_to - self.model.t
                while self.model.t < skip_to:
                    self.model.advance_to(min(skip_to, self.model.t + 2000))
                    await asyncio.sleep(0)
                self.printer.observe(self.model.snapshot())
            every = self._step_every()
            while self.model.t < target:
                snap = self.model.advance_to(self.model.t + 1)
                self.printer.observe(snap)
                if snap.t % every == 0:
                    await self._emit(snap)
            speed = self.clock.speed
            if speed > 0:
                wait = (target + 1 - self.clock.timestamp()) / speed
                await asyncio.sleep(min(max(wait, 0.002), 0.5))
            else:
                await asyncio.sleep(0.1)

    async def _emit(self, snap: Any) -> None:
        faults = self.faults
        kind = faults.decide()
        garbage = faults.garbage()
        if faults.settings.paused:
            return
        live = [c for c in self._clients if not c.hung]
        if not live:
            return
        captar = not faults.settings.no_captar
        telegram = damage(self.printer.render(snap, captar), kind, faults.shape_rng)
        close = False
        if kind == "truncated":
            telegram = telegram[: faults.shape_rng.randrange(1, len(telegram) - 1)]
            close = True
        data = garbage + telegram
        chunks = pieces(data, faults.shape_rng) if faults.settings.split else [data]
        delivered = 0
        for client in live:
            try:
                client.queue.put_nowait((chunks, close))
                delivered += 1
            except asyncio.QueueFull:
                log.warning("P1 client %s is too slow; dropping it", client.peer)
                self._drop(client, abort=True)
        if delivered:
            self.counts[kind] += 1
            if garbage:
                self.counts["garbage"] += 1
            self.sent.append(SentTelegram(snap.t, dsmr_time(snap.t), kind, delivered, time.time(),
                                          captar))
        await asyncio.sleep(0)
