"""What `status` shows of the Fluvius reconciliation: the months whose ledger differs from
Fluvius's quarter-hours by more than `[fluvius] warn_wh` on a register.

One outbox meta key per such month (`ledger.fluvius_mismatch.YYYY-MM`: the text, "" once a
recomputation agrees), written by the ledger build or the service's ledger job
(`logger.app.ledger_fluvius`). Not a `warning.` key: those are cleared at every start-up and
raised again by the next observation, and a historical month is observed only when rebuilt.
"""

from __future__ import annotations

MISMATCH_PREFIX = "ledger.fluvius_mismatch."  # + YYYY-MM (to move into logger/outbox/keys.py)
MISMATCH_PROBLEM = "ledger_fluvius_mismatch"  # counter: months beyond the threshold, per build
SEVERAL_EANS_PROBLEM = "ledger_fluvius_several_ean"  # counter: days with two connections' data


def mismatch_key(month: str) -> str:
    return MISMATCH_PREFIX + month


def fluvius_warnings(meta: dict[str, str], shown: int = 6) -> list[str]:
    """The warning lines `status` prints, newest months first."""
    months = sorted(((k.removeprefix(MISMATCH_PREFIX), v) for k, v in meta.items()
                     if k.startswith(MISMATCH_PREFIX) and v), reverse=True)
    lines = [text for _, text in months[:shown]]
    if len(months) > shown:
        lines.append(f"... and {len(months) - shown} more month(s) that differ from Fluvius "
                     "(`jullix-logger report --year Y` shows them)")
    return lines
