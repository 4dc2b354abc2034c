"""What a failed InfluxQL read is: `QueryError`, and `SpanRefused` for a query refused because
of the range it covers. Apart from the reader so that `logger.sink.windows` (which answers a
`SpanRefused`) and `logger.sink.influxql` (which raises it) need not import each other."""

from __future__ import annotations


class QueryError(Exception):
    """InfluxQL failed; the text is safe to show (no credentials in it)."""


class SpanRefused(QueryError):
    """The server refused a query for the range it covers (InfluxDB 3 Core: "Query would scan
    432 Parquet files, exceeding the file limit"); the same read in shorter windows works."""


def refused_for_span(text: str) -> bool:
    """Whether an error is InfluxDB 3 Core's query file limit (any version's wording)."""
    lowered = text.lower()
    return "exceeding the file limit" in lowered or "query-file-limit" in lowered
