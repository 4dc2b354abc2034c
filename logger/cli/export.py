"""`jullix-logger export`: what the embedded store (the outbox) holds, as line protocol."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logger.cli.common import EXIT_FAILED, EXIT_OK, settings_from
from logger.outbox import Outbox


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--dead-letters", action="store_true",
                        help="export the points InfluxDB refused instead")


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    path = settings.outbox.path
    try:
        outbox = Outbox(path, read_only=True)
    except FileNotFoundError:
        print(f"no outbox at {path}: nothing has been logged with this config yet",
              file=sys.stderr)
        return EXIT_FAILED
    try:
        out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    except OSError as exc:  # a missing directory, no permission: one line, not a traceback
        outbox.close()
        print(f"jullix-logger export: cannot write {args.output}: {exc.strerror}",
              file=sys.stderr)
        return EXIT_FAILED
    count = 0
    try:
        for line in outbox.iter_lines(dead_letters=args.dead_letters):
            out.write(line + "\n")
            count += 1
    finally:
        if out is not sys.stdout:
            out.close()
        outbox.close()
    print(f"exported {count} points as line protocol (precision s)", file=sys.stderr)
    return EXIT_OK
