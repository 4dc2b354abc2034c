"""Repairing gaps of the local series from the Jullix cloud history.

`run` (one backfill: find gaps, fetch the days, emit the points inside them), `state` (which gaps
were fetched), `report` (what a run did), `command` (the CLI's run through outbox and delivery).
The service's scheduled job is `logger.app.cloud_jobs`.
"""
