"""Sources: what the box and the cloud say, turned into Points. Nothing else.

The contract: a source either has `poll()` returning points (local API, cloud realtime, a day of
cloud history) or calls an `emit(points)` callback (the P1 stream). It receives plain values
(URLs, timeouts, the installation name, a `Problems` counter), never `Settings` or the outbox, and
it never knows InfluxDB. Each kind has its folder: `local/`, `p1/`, `cloud/` (its HTTP client
too); `values` and `power_flow` are shared by them.
"""
