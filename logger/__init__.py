"""jullix-logger: records everything a Jullix home energy box offers into InfluxDB.

The layers, top to bottom (docs/architecture.md): `cli` -> `app` -> `sources` | `sink` |
`outbox` -> `config` -> `core`; `testbed` (simulator, private influxd) stands apart.
"""

from logger.core.version import __version__

__all__ = ["__version__"]
