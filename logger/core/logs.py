"""Logger names: `jullix_logger.<module>` instead of the import path `logger.<module>`.

The import package is called `logger`, so `logging.getLogger(__name__)` would give loggers named
`logger.app.service` under a root called `logger`: confusing in a journal line, and it clashes
with any other library that logs under that generic name. Every module gets its logger here.
"""

from __future__ import annotations

import logging

ROOT = "jullix_logger"


def get_logger(module: str) -> logging.Logger:
    """The logger for a module of this package (pass `__name__`)."""
    suffix = module.removeprefix("logger").lstrip(".")
    return logging.getLogger(f"{ROOT}.{suffix}" if suffix else ROOT)
