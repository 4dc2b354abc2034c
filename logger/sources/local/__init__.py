"""The box's local HTTP API (Jullix-direct): `collector` fetches, `parse` turns payloads
into points."""
