"""Ctrl-C as a user should meet it: exit 130 and one line saying what was done and what remains.

A command that exited 0 on Ctrl-C would let `check ... && next` carry on and hide that a
`backfill` left fetched points in the outbox. So every command gets an `Interruption` (on
`args.interruption`, set by `logger.cli.main`) with a sensible default for its kind; a long
command keeps it current as it goes (days done, where the rest can be picked up), or gives it a
`refresh` that reads the facts (the outbox's depth) once it is interrupted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command Ctrl-C ended


@dataclass
class Interruption:
    """What an interrupted command has done and what remains, said in one line."""

    done: str = "nothing was changed"
    remains: str = ""
    refresh: Callable[[Interruption], None] | None = None

    def line(self, command: str) -> str:
        if self.refresh is not None:
            with contextlib.suppress(Exception):  # the line must come out whatever happens
                self.refresh(self)
        text = f"jullix-logger {command}: interrupted (Ctrl-C): {self.done}"
        return text + (f"; {self.remains}" if self.remains else "")


# The default of each command, before it says more (read-only commands change nothing).
DEFAULTS: dict[str, tuple[str, str]] = {
    "check": ("nothing was changed (check only reads)", "run it again for the full result"),
    "status": ("nothing was changed (status only reads)", ""),
    "report": ("nothing was changed (report only reads)", ""),
    "export": ("the export is incomplete; the outbox is unchanged (export only reads)",
               "run it again for a complete export"),
    "migrate": ("the migrations that finished are recorded in InfluxDB",
                "run `migrate` again to apply the rest"),
    "backfill": ("nothing was fetched yet", "run `backfill` again"),
    "cloud-probe": ("the files saved so far stay", "run `cloud-probe` again for the full set"),
    "ledger": ("nothing was computed yet", "run `ledger` again"),
    "run": ("the service stopped cleanly", "points not yet written stay in the outbox"),
    "simulate": ("the simulator stopped", ""),
    "demo": ("the demo stopped early", ""),
}


def for_command(command: str) -> Interruption:
    done, remains = DEFAULTS.get(command, ("stopped", ""))
    return Interruption(done, remains)
