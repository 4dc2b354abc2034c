"""`jullix-logger check`: which config, then one line per configured source and sink (with the
values it read and hints below it); exit 0 when all pass. It changes nothing."""

from __future__ import annotations

import argparse
import asyncio
import sys

from logger.cli.common import EXIT_FAILED, EXIT_OK, config_line, config_notes, settings_from
from logger.cli.logs import setup_logging

INDENT = " " * 13  # under the detail of a result line: "FAIL influx  " is 13 wide


def run(args: argparse.Namespace) -> int:
    from logger.app.checks import run_checks

    out = sys.stdout
    out.write(f"{config_line(args)}\n")
    for note in config_notes():
        out.write(f"{note}\n")
    settings = settings_from(args)
    setup_logging("ERROR")

    def announce(text: str) -> None:
        out.write(f"...  {text}\n")
        out.flush()

    async def checks() -> bool:
        passed = True
        async for result in run_checks(settings, announce):
            mark = "ok  " if result.ok else "FAIL"
            out.write(f"{mark} {result.name:<7} {result.detail}\n")
            for note in result.notes:
                out.write(f"{INDENT}{note}\n")
            out.flush()
            passed &= result.ok
        return passed

    return EXIT_OK if asyncio.run(checks()) else EXIT_FAILED
