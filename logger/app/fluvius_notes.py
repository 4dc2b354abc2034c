"""What `status` shows of the Fluvius reconciliation: the months whose ledger differs from
Fluvius's quarter-hours by more than `[fluvius] warn_wh` on a register.

One outbox meta key per such month (`ledger.fluvius_mismatch.YYYY-MM`: the text, "" once a
recomputation agrees), written by the ledger build or the service's ledger job
(`logger.app.ledger_fluvius`). Not a `warning.` key: those are cleared at every start-up and
raised again by the next observation, and a historical month is observed only when rebuilt.
"""

from __future__ import annotations

from logger.outbox.keys import FLUVIUS_MISMATCH_PREFIX


def fluvius_warnings(meta: dict[str, str], shown: int = 6) -> list[str]:
    """The warning lines `status` prints, newest months first."""
    months = sorted(((k.removeprefix(FLUVIUS_MISMATCH_PREFIX), v) for k, v in meta.items()
                     if k.startswith(FLUVIUS_MISMATCH_PREFIX) and v), reverse=True)
    lines = [text for _, text in months[:shown]]
    if len(months) > shown:
        lines.append(f"... and {len(months) - shown} more month(s) that differ from Fluvius "
                     "(`jullix-logger report --year Y` shows them)")
    return lines
