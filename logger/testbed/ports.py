"""Free loopback ports for the servers the testbed starts (influxd, the simulator's peers)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(exclude: set[int] | frozenset[int] = frozenset()) -> int:
    """A loopback TCP port that is free right now.

    Picked at random *below* the kernel's ephemeral range, so outgoing connections and other
    `bind(0)` users cannot take it while our server is stopped for a restart.
    """
    low, high = 20000, _ephemeral_low() - 1
    if high - low > 500:
        for _ in range(200):
            port = random.randint(low, high)
            if port not in exclude and _port_is_free(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # fallback: let the kernel pick
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
