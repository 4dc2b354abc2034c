"""A loopback proxy in front of a real InfluxDB that misbehaves on demand (fault scenarios only).

Everything is forwarded verbatim (`/write`, `/query`, `/ping`, ...) unless a fault is switched on
at runtime with `proxy.set_mode(...)`:

  pass          forward, answer what the server answered (the default)
  error         answer `status` (500) with an InfluxDB-like JSON error; forward nothing
  slow          forward (InfluxDB applies the write), then hold the answer `delay` seconds:
                with a delay longer than the client's timeout the client gives up although the
                data was stored, and re-sends it; that re-send must not become a duplicate
  slow_before   hold the request `delay` seconds, then forward (a server stuck before applying)
  close         drop the connection without an answer; forward nothing
  impostor      answer `status` (e.g. 200) with an HTML page, as a web server, a captive portal
                or a login page at the wrong URL does; forward nothing

`set_mode(..., writes_only=True)` applies the fault to writes only (queries keep working);
`set_mode(..., only_path="/api/v2/delete")` to requests on that one path.

`counts` says what happened per mode, `late_answers` how many answers were held past `delay` for
a write the server had applied, `client_gone` how many of those found the client had hung up.
The InfluxDB server stays real: the proxy never fabricates a success, except in `impostor` mode,
whose point is a 2xx that is not InfluxDB's answer (and that stores nothing). Like `v2_proxy.py`, it
maps `/api/v2/write` to `/write` (nothing else changes), so the v2 writer can face the same
faults without a second hop whose own timeout would hide the client's.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from v2_proxy import map_v2_write

MODES = ("pass", "error", "slow", "slow_before", "close", "impostor")
IMPOSTOR_PAGE = b"<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>\n"
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "trailers", "transfer-encoding", "upgrade", "expect",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length is not None else None

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
        self.send_response_only(status)
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _proxy(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        is_write = path in ("/write", "/api/v2/write")
        mode, delay, status = proxy.snapshot(is_write, path)
        proxy.count(mode, is_write)
        if mode == "close":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if mode == "error":
            payload = json.dumps({"error": "fault proxy: injected server error"}).encode()
            self._answer(status, payload, [("Content-Type", "application/json")])
            return
        if mode == "impostor":
            self._answer(status, IMPOSTOR_PAGE, [("Content-Type", "text/html")])
            return
        if mode == "slow_before":
            time.sleep(delay)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Host"] = f"{proxy.host}:{proxy.port}"
        target = self.path
        parts = urllib.parse.urlsplit(self.path)
        if parts.path.rstrip("/") == "/api/v2/write":
            target = "/write?" + map_v2_write(parts.query)
        conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=60)
        try:
            conn.request(self.command, target, body=body, headers=headers)
            response = conn.getresponse()
            answer = (response.status, response.read(), response.getheaders())
        except (OSError, http.client.HTTPException) as exc:
            payload = json.dumps({"error": f"fault proxy: upstream unreachable: {exc}"}).encode()
            answer = (502, payload, [("Content-Type", "application/json")])
        finally:
            conn.close()
        if mode == "slow":
            time.sleep(delay)
            if is_write and 200 <= answer[0] < 300:
                proxy.note_late_answer(gone=_peer_closed(self.connection))
        try:
            self._answer(*answer)
        except OSError:  # the client gave up while we held the answer
            self.close_connection = True

    do_GET = do_POST = do_HEAD = _proxy


def _peer_closed(conn: socket.socket) -> bool:
    """True when the client closed its side (it timed out) while the answer was held."""
    try:
        conn.setblocking(False)
        try:
            data = conn.recv(1, socket.MSG_PEEK)
        finally:
            conn.setblocking(True)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


class FaultProxy:
    """`FaultProxy(influx_url).start()`; point the logger at `.url`; `.set_mode(...)` any time."""

    def __init__(self, upstream_url: str) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        if parsed.scheme != "http" or not parsed.hostname or not parsed.port:
            raise ValueError(f"upstream must be http://host:port, got {upstream_url!r}")
        self.host, self.port = parsed.hostname, parsed.port
        self._lock = threading.Lock()
        self._mode, self._delay, self._status = "pass", 0.0, 500
        self._writes_only = False
        self._only_path: str | None = None
        self.counts: collections.Counter[str] = collections.Counter()
        self.late_answers = 0
        self.client_gone = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("proxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def set_mode(self, mode: str, delay: float = 0.0, status: int = 500,
                 writes_only: bool = False, only_path: str | None = None) -> None:
        """Switch the fault; `writes_only` leaves `/query` and `/ping` healthy, `only_path`
        every other path."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        with self._lock:
            self._mode, self._delay, self._status = mode, delay, status
            self._writes_only, self._only_path = writes_only, only_path

    def snapshot(self, is_write: bool = True, path: str = "") -> tuple[str, float, int]:
        with self._lock:
            if (self._writes_only and not is_write) or (
                    self._only_path is not None and path != self._only_path):
                return "pass", 0.0, self._status
            return self._mode, self._delay, self._status

    def count(self, mode: str, is_write: bool) -> None:
        with self._lock:
            self.counts[f"{mode}{':write' if is_write else ''}"] += 1

    def note_late_answer(self, gone: bool) -> None:
        with self._lock:
            self.late_answers += 1
            self.client_gone += int(gone)

    def start(self) -> FaultProxy:
        if self._server is None:
            self._server = _Server(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                name="fault-proxy", daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
