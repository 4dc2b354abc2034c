"""`[fluvius]`: how the ledger uses the grid operator's quarter-hours that `jullix-logger
import-fluvius` stored (docs/fluvius.md). The import itself needs no settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FluviusSettings(BaseModel):
    """Fluvius quarter-hours in the ledger: filling periods without readings of the logger's
    own, and the reconciliation where both exist."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True  # the ledger reads imported quarter-hours (one query per day)
    warn_wh: float = Field(10.0, ge=0.0, le=1_000_000.0, description="a month whose register "
                           "differs from Fluvius by more than this many Wh is a warning")
