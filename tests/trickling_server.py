"""A server that never finishes an answer: one byte every 0.3 s, forever.

A per-read timeout never fires against it, so a write to it hangs: a wedged writer, as the
systemd watchdog (tests/test_sdnotify.py) and `/healthz` (tests/test_http_endpoint.py) see it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class TricklingServer:
    """Accepts, reads the request, then answers one byte every 0.3 s and never finishes.

    A per-read timeout never fires against it, so a write to it hangs: a wedged writer.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            for byte in iter(lambda: b"H", None):
                if self._stop.is_set():
                    return
                conn.sendall(byte)
                time.sleep(0.3)
        except OSError:
            return

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
