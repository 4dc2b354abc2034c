"""What `status` and `/metrics` show of the day-ahead price job and the cost job
(`logger.app.prices_job`, `cost_job`), from their meta keys and counters (named in
`logger.outbox.keys`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from logger.outbox.keys import (
    COST_FAILED,
    COST_LAST_ERROR,
    COST_LAST_RUN,
    COST_MISSING,
    PRICES_FAILED,
    PRICES_LAST_ERROR,
    PRICES_LAST_FETCH,
    PRICES_NEWEST,
)


def status_lines(meta: dict[str, str], counters: dict[str, int]) -> list[str]:
    """What `status` shows of the price and cost jobs (nothing when they never ran)."""
    lines = []
    if PRICES_LAST_FETCH in meta or PRICES_LAST_ERROR in meta:
        lines.append(f"prices        last fetch {meta.get(PRICES_LAST_FETCH, 'never')}")
        newest = meta.get(PRICES_NEWEST, "")
        if newest.isdigit():
            lines.append(f"  known until {datetime.fromtimestamp(int(newest), UTC).isoformat()}")
        if meta.get(PRICES_LAST_ERROR):
            lines.append(f"  error       {meta[PRICES_LAST_ERROR]} "
                         f"({counters.get(PRICES_FAILED, 0)} failed in all)")
    if COST_LAST_RUN in meta or COST_LAST_ERROR in meta:
        lines.append(f"cost          last update {meta.get(COST_LAST_RUN, 'never')}")
        missing = meta.get(COST_MISSING, "0")
        if missing not in ("", "0"):
            lines.append(f"  missing     {missing} recent quarter-hour(s) without a day-ahead "
                         "price (`jullix-logger prices fetch`)")
        if meta.get(COST_LAST_ERROR):
            lines.append(f"  error       {meta[COST_LAST_ERROR]}")
    return [line + "\n" for line in lines]


def metric_values(meta: dict[str, str], counters: dict[str, int], now: float
                  ) -> dict[str, tuple[str, float]]:
    """/metrics samples of the two jobs: name -> (help, value); counters end in `_total`."""
    out = {f"{PRICES_FAILED}_total": ("failed day-ahead price fetches",
                                      float(counters.get(PRICES_FAILED, 0))),
           f"{COST_FAILED}_total": ("failed cost updates", float(counters.get(COST_FAILED, 0)))}
    newest = meta.get(PRICES_NEWEST, "")
    if newest.isdigit():
        out["prices_ahead_seconds"] = ("seconds from now to the end of the newest day-ahead "
                                       "price (negative: prices are missing)", int(newest) - now)
    missing = meta.get(COST_MISSING, "")
    if missing.isdigit():
        out["cost_missing_quarters"] = ("recent quarter-hours without the day-ahead price "
                                        "their contract needs", float(missing))
    return out
