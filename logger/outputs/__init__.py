"""Side outputs: where the logger's readings go besides the outbox (MQTT for Home Assistant).

A side output can never block raw logging: it is handed values without being awaited, keeps a
bounded queue of its own, and its failures stay inside it (counted, logged, shown by the app).
It knows neither the outbox nor the sink; the app layer wires it (logger/app/mqtt_job.py).
"""
