"""`check` for P1: connect and wait for one valid telegram."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

from logger.core.logs import get_logger
from logger.core.problems import Problems
from logger.sources.p1.decoder import P1Decoder
from logger.sources.p1.points import P1Reading
from logger.sources.p1.reader import READ_SIZE, describe_error


async def probe(host: str, port: int, installation: str, timeout: float
                ) -> tuple[bool, str, P1Reading | None]:
    """Connect and wait for one valid telegram; (ok, one line saying what happened, the
    reading: what `check` shows of the meter)."""
    problems = Problems(get_logger("check"), every=1e9)
    decoder = P1Decoder(installation, 1, problems)
    started = time.monotonic()
    received = 0
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError) as exc:
        return False, f"{host}:{port}: cannot connect: {describe_error(exc)}", None
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
                        f"{host}:{port}: valid telegram after "
                        f"{time.monotonic() - started:.1f} s"
                        + _problem_text(problems.counts.items())
                    ), reading
    except OSError as exc:
        return False, f"{host}:{port}: connection failed: {describe_error(exc)}", None
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    return False, (
        f"{host}:{port}: no valid telegram within {timeout:g} s ({received} bytes received)"
        + _problem_text(problems.counts.items())
    ), None


def _problem_text(counts: Iterable[tuple[str, int]]) -> str:
    parts = [f"{kind.removeprefix('p1_')} {n}" for kind, n in sorted(counts) if n]
    return f"; skipped: {', '.join(parts)}" if parts else ""
