"""The Jullix platform API (cloud): `client` (HTTP, auth, retries, token hygiene), `paths`,
`realtime` (installations, the realtime summary), `history` (one Belgian day of power history,
tolerant parsing) and `probe` (raw answers for `cloud-probe`)."""
