"""The P1 telegram stream: `framing` -> `decoder` (bytes to points, strict, counted) ->
`reader` (the TCP link); `points` maps a parsed telegram to points; `probe` serves `check`.

dsmr_parser is imported here first, with its crypto imports deferred (`deferred_imports`: a
Belgian meter never needs them, and they cost about 17 MB of RSS)."""

from logger.sources.p1.deferred_imports import import_dsmr_parser

import_dsmr_parser()
