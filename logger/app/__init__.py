"""The service: scheduling, jobs, delivery, health. The only layer that knows sources, outbox
and sink together (`service` wires them; one module per job)."""
