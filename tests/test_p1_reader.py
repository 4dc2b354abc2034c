"""The P1 reader against the in-process simulator: keep-alive, reconnect, backoff, supervision."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime

from logger.app.p1_job import P1Job
from logger.config import Settings
from logger.outbox import Outbox
from logger.sources.p1.decoder import GARBAGE, P1Decoder
from logger.sources.p1.reader import P1Reader
from logger.testbed.influxd import free_port
from logger.testbed.simulator import Simulator, SimulatorConfig

START = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def test_half_open_link_is_closed_after_idle_timeout_and_reconnected(caplog):
    caplog.set_level(logging.INFO, "jullix_logger.sources.p1")

    async def main():
        async with Simulator(SimulatorConfig(seed=2, start=START, speed=10)) as sim:
            points = []
            reader = P1Reader(
                *sim.p1_address,
                P1Decoder("home"),
                points.extend,
                idle_timeout=0.5,
                backoff_base=0.2,
            )
            task = asyncio.create_task(reader.run())
            await wait_for(lambda: len(points) > 3)
            sim.p1_stream.update({"hang": True})
            hung = asyncio.get_running_loop().time()
            await wait_for(lambda: reader.connects == 2)
            reconnected = asyncio.get_running_loop().time() - hung
            before = len(points)
            await wait_for(lambda: len(points) > before + 2)
            task.cancel()
            return reconnected, sim.p1_stream.connections_total

    reconnected, total = run(main())
    assert reconnected < 0.5 + 0.2 + 0.3
    assert total == 2
    text = caplog.text
    assert "lost (no data for 0.5 s)" in text and "P1: back" in text


def test_refused_connections_back_off_log_once_and_recover(caplog):
    caplog.set_level(logging.INFO, "jullix_logger.sources.p1")
    port = free_port()

    async def main():
        states = []
        reader = P1Reader(
            "127.0.0.1",
            port,
            P1Decoder("home"),
            lambda p: None,
            backoff_base=0.05,
            backoff_cap=0.2,
            on_state=lambda s, d: states.append(s),
            rng=random.Random(1),
        )
        task = asyncio.create_task(reader.run())
        await wait_for(lambda: states.count("down") >= 6)
        assert reader.state == "down"
        sim = Simulator(SimulatorConfig(seed=1, start=START, speed=5, p1_port=port))
        await sim.start()
        try:
            await wait_for(lambda: reader.state == "connected" and reader.decoder.stats.valid)
        finally:
            task.cancel()
            await sim.stop()

    run(main())
    warnings = [r for r in caplog.records if "cannot connect" in r.getMessage()]
    assert len(warnings) == 1  # state changes are logged, attempts are not
    assert "P1: back: connected" in caplog.text


def test_the_reader_backs_off_with_the_projects_policy():
    reader = P1Reader("h", 1, P1Decoder("home"), lambda p: None, backoff_base=0.5,
                      backoff_cap=8.0, rng=random.Random(3))
    assert (reader.backoff.initial, reader.backoff.maximum) == (0.5, 8.0)


def test_garbage_peer_cannot_kill_the_reader_or_grow_its_buffer():
    async def main():
        async def flood(reader, writer):
            for i in range(200):
                writer.write(bytes([i % 47]) * 20000)  # 4 MB, never a '/'
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(flood, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        decoder = P1Decoder("home", max_buffer=8192)
        sizes = []
        original = decoder.feed

        def feed(data):
            out = original(data)
            sizes.append(decoder.buffer.size)
            return out

        decoder.feed = feed
        reader = P1Reader("127.0.0.1", port, decoder, lambda p: None, backoff_base=5)
        task = asyncio.create_task(reader.run())
        await wait_for(lambda: reader.state == "down" and reader.connects == 1)
        task.cancel()
        server.close()
        return decoder, sizes

    decoder, sizes = run(main())
    assert max(sizes) <= 8192
    assert decoder.problems.counts[GARBAGE] >= 1


def test_p1_source_writes_points_and_state_and_the_supervisor_restarts_a_dead_reader(
    tmp_path, caplog
):
    async def main():
        async with Simulator(SimulatorConfig(seed=3, start=START, speed=10)) as sim:
            host, port = sim.p1_address
            settings = Settings(
                p1={"enabled": True, "host": host, "port": port, "idle_timeout": 2},
                outbox={"path": str(tmp_path / "o.sqlite")},
            )
            outbox = Outbox(settings.outbox.path)
            source = P1Job(settings, outbox)
            await source.supervise()
            await wait_for(lambda: source.decoder.stats.valid > 3)
            first = source.task
            first.cancel()  # the reader task ends (cancelled) ...
            await asyncio.sleep(0.05)
            await source.supervise()
            assert source.task is not first and source.restarts == 1

            async def boom():
                raise RuntimeError("bug in the reader")

            source.task.cancel()
            source.task = asyncio.create_task(boom())  # ... or dies of an exception
            await asyncio.sleep(0.05)
            await source.supervise()
            assert source.restarts == 2
            before = source.decoder.stats.valid
            await wait_for(lambda: source.decoder.stats.valid > before + 2)
            await source.supervise()
            await source.stop()
            outbox.commit()
            return outbox.stats()

    stats = run(main())
    assert stats.meta["p1.state"] == "stopped"
    assert stats.counters["p1_telegrams"] >= 6
    assert stats.counters["p1_reader_restarts"] == 2
    assert stats.depth >= 6 + 14  # p1 points, plus the peaks and M-Bus readings once
    assert "RuntimeError: bug in the reader" in caplog.text
