"""The sink: the only code that knows InfluxDB.

`http` (the client factory and credentials), `writers` (API v1 `/write`, API v2 through
influxdb-client; answers classified, never raised), `influxql` (reads over `/query`), `gaps` (where
a series has holes), `migrator` + `migration_context` + the numbered `migrations` (installed from
the top-level `migrations/` folder) and `gate` (no write before the migrations succeeded).
Imports only `logger.config` and `logger.core`.
"""
