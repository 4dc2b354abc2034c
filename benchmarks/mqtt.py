"""What `[mqtt]` costs: the logger's footprint with MQTT off and on, back to back.

Load: the local API polled every 5 s (solar and battery) and the P1 stream at 1 telegram/s, as
in `footprint.py --p1`; "on" adds `[mqtt]` at its defaults (interval 10 s) to a private
mosquitto. Both runs measure the logger's process only, the same way (`footprint.measure`):
peak RSS (VmHWM at the end, start-up included) and CPU over the steady window. With MQTT on, a
plain paho subscriber on `#` counts what the broker delivered in the window: messages per minute.

    .venv/bin/python benchmarks/mqtt.py [--seconds 120] [--warmup 15]

Prints one JSON object; targets: +5 MB peak RSS and +0.2 % of a core over MQTT off.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paho.mqtt.client as mqtt
from _common import Stack, emit, machine
from footprint import measure


class Counter:
    """Messages the broker delivered to a subscriber on `#` (what Home Assistant would get)."""

    def __init__(self, port: int) -> None:
        self.count = 0
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("#", qos=1)
        self.client.loop_start()

    def _on_message(self, *_: object) -> None:
        with self.lock:
            self.count += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def run(mqtt_on: bool, seconds: float, warmup: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="jullix-bench-mqtt-") as tmp:
        stack = Stack(Path(tmp), local_interval=5.0, p1=True, mqtt=mqtt_on)
        counter = Counter(stack.broker.port) if stack.broker is not None else None
        marks: dict[str, float] = {}

        def window(event: str) -> None:
            if counter is not None:
                with counter.lock:
                    marks[event] = counter.count
            marks[event + "_at"] = time.monotonic()

        try:
            result = measure(stack, seconds, warmup, on_window=window)
        finally:
            if counter is not None:
                counter.close()
            result_code = stack.close()
    result["logger_exit_code"] = result_code
    if counter is not None:
        minutes = (marks["end_at"] - marks["start_at"]) / 60
        result["mqtt_messages_per_minute"] = round((marks["end"] - marks["start"]) / minutes, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="steady window per run")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds before measuring")
    args = parser.parse_args()
    off = run(False, args.seconds, args.warmup)
    on = run(True, args.seconds, args.warmup)
    rss = on["peak_rss_mb"] - off["peak_rss_mb"]  # type: ignore[operator]
    cpu = on["cpu_pct_of_one_core"] - off["cpu_pct_of_one_core"]  # type: ignore[operator]
    emit({
        "benchmark": "mqtt",
        "machine": machine(),
        "load": {"local_interval_s": 5.0, "p1_hz": 1, "mqtt_interval_s": 10.0},
        "mqtt_off": off,
        "mqtt_on": on,
        "extra_peak_rss_mb": round(rss, 1),
        "extra_cpu_pct_of_one_core": round(cpu, 3),
        "targets": {"extra_rss_mb_max": 5.0, "extra_cpu_pct_max": 0.2,
                    "rss_ok": rss <= 5.0, "cpu_ok": cpu <= 0.2},
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
