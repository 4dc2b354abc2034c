"""jullix-logger: records everything a Jullix home energy box offers into InfluxDB."""

__version__ = "0.1.0"
