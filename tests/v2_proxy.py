"""A tiny loopback proxy that lets an InfluxDB 1.x server answer the v2 write API.

`POST /api/v2/write?org=O&bucket=DB[/RP]&precision=P` becomes
`POST /write?db=DB[&rp=RP]&precision=P` (v2 `us`/`ns` -> v1 `u`/`n`); the body, the request
headers (Content-Encoding: gzip included), the status and the response body pass through untouched.
Every other request (`/query`, `/ping`, ...) is forwarded verbatim. When the upstream is down the
proxy answers 502 (or, with `upstream_down="close"`, drops the connection like a dead server), so
clients see the outage instead of a hang.

Answers say `X-Influxdb-Version: 1.8.10` instead of the upstream's (1.6.7): a 1.x server that
takes the v2 write API is InfluxDB 1.8, which is what the proxy makes of a 1.6, and the logger
refuses API v2 against a server that says it is 1.6 (`check`, `migrate`).

Threaded stdlib server speaking HTTP/1.1 keep-alive, good for urllib3 (influxdb-client) and httpx.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import json
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

PRECISION_V2_TO_V1 = {"s": "s", "ms": "ms", "us": "u", "ns": "n"}
STATED_VERSION = "1.8.10"  # the InfluxDB that has both /write and /api/v2/write

# RFC 7230 hop-by-hop headers: never forwarded.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "expect",  # 100-continue is answered by this proxy itself
}


def map_v2_write(query: str) -> str:
    """Map the query string of a v2 write to the one of a v1 /write (other params kept)."""
    params = urllib.parse.parse_qsl(query, keep_blank_values=True)
    out: list[tuple[str, str]] = []
    for key, value in params:
        if key in ("org", "orgID"):
            continue
        if key == "bucket":
            db, _, rp = value.partition("/")
            out.append(("db", db))
            if rp:
                out.append(("rp", rp))
        elif key == "precision":
            out.append(("precision", PRECISION_V2_TO_V1.get(value, value)))
        else:
            out.append((key, value))
    return urllib.parse.urlencode(out)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        return None

    def _proxy(self) -> None:
        proxy = self.server.proxy
        parsed = urllib.parse.urlsplit(self.path)
        path, query = parsed.path, parsed.query
        proxy.count(path)
        body = self._read_body()
        if path.rstrip("/") == "/api/v2/write":
            path, query = "/write", map_v2_write(query)
        elif proxy.write_only:
            self._answer(404, b'{"code":"not found","message":"path not found"}')
            return
        target = path + ("?" + query if query else "")

        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers.pop("Host", None)
        headers["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
        if body is not None:
            headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
            headers["Content-Length"] = str(len(body))

        conn = http.client.HTTPConnection(
            proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_timeout
        )
        try:
            conn.request(self.command, target, body=body, headers=headers)
            resp = conn.getresponse()
            status, reason = resp.status, resp.reason
            resp_headers = resp.getheaders()
            resp_body = resp.read()
        except (OSError, http.client.HTTPException) as err:
            proxy.count_upstream_failure()
            self._upstream_down(err)
            return
        finally:
            conn.close()

        self.send_response_only(status, reason)
        for key, value in resp_headers:
            if key.lower() == "x-influxdb-version":
                value = STATED_VERSION
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp_body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp_body)

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _upstream_down(self, err: Exception) -> None:
        if self.server.proxy.upstream_down == "close":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps({"error": f"proxy: upstream unreachable: {err}"}).encode()
        self.send_response_only(502, "Bad Gateway")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _proxy


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: V2Proxy) -> None:
        self.proxy = proxy
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def close_all_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class V2Proxy:
    """`V2Proxy(upstream_url).start()`; `.url` is what a v2 client gets; `.stop()` when done.

    `requests` counts requests per path as the client sent them (e.g. `"/api/v2/write"`),
    `upstream_failures` counts requests that found the upstream down.
    """

    def __init__(
        self,
        upstream_url: str,
        *,
        upstream_timeout: float = 30.0,
        upstream_down: Literal["502", "close"] = "502",
        write_only: bool = False,
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        if parsed.scheme != "http" or not parsed.hostname:
            raise ValueError(f"upstream must be http://host:port, got {upstream_url!r}")
        self.upstream_url = upstream_url.rstrip("/")
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port or 80
        self.upstream_timeout = upstream_timeout
        self.upstream_down = upstream_down
        # True: only /api/v2/write is forwarded; every other path answers 404, like a
        # write-only endpoint (a minimal proxy, a managed ingest URL).
        self.write_only = write_only
        self.requests: collections.Counter[str] = collections.Counter()
        self.upstream_failures = 0
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> V2Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("proxy is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> V2Proxy:
        if self._server is not None:
            return self
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="v2-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_all_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def count(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def count_upstream_failure(self) -> None:
        with self._lock:
            self.upstream_failures += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.upstream_failures = 0
