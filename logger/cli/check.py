"""`jullix-logger check`: one line per configured source and sink; exit 0 when all pass."""

from __future__ import annotations

import argparse
import asyncio
import sys

from logger.cli.common import EXIT_FAILED, EXIT_OK, settings_from
from logger.cli.logs import setup_logging


def run(args: argparse.Namespace) -> int:
    from logger.app.checks import run_checks

    settings = settings_from(args)
    setup_logging("ERROR")
    results = asyncio.run(run_checks(settings))
    for result in results:
        mark = "ok  " if result.ok else "FAIL"
        sys.stdout.write(f"{mark} {result.name:<7} {result.detail}\n")
    return EXIT_OK if all(result.ok for result in results) else EXIT_FAILED
