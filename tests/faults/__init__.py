"""Fault scenarios: the real logger, the simulator and a real InfluxDB, with exact accounting."""
