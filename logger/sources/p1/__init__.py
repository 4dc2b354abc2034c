"""The P1 telegram stream: `framing` -> `decoder` (bytes to points, strict, counted) ->
`reader` (the TCP link); `points` maps a parsed telegram to points; `probe` serves `check`."""
