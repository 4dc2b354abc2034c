"""The energy ledger, computed: periods, counter values at boundaries, energies, the capacity
tariff and KPIs, turned into ledger Points. Pure: no I/O, it imports only core.

Reading the raw series is `logger.sink.ledger_reads`; running the computation (the service's job
and the one-shot build) is `logger.app.ledger_job` / `logger.app.ledger_build`. The schema and
every definition are in docs/schema.md ("The energy ledger").
"""
