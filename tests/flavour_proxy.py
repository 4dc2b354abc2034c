"""The plumbing of the flavour reproductions (tests/flavour_v2.py, tests/flavour_v3.py): a
loopback HTTP server in front of the real InfluxDB 1.6 that answers as another InfluxDB would.

No InfluxDB 2.x or 3.x server can be installed on these machines (Debian ships 1.6.7, PyPI and
npm only clients: docs/influxdb.md), so each flavour is a reproduction of that server's
documented behaviour, NOT the real server: its `/ping` and `/health`, its admin APIs, its
tokens, its refusals with their error texts, its naming of databases, while every point is
stored in and every query answered by the real 1.6 behind it. Each flavour module names the
documentation, source file or issue each reproduced behaviour rests on.

Here: the threaded server, the request and answer types, forwarding to the upstream, tokens,
and small parsers the flavours share (line protocol heads, InfluxQL sources and time bounds).
"""

from __future__ import annotations

import collections
import http.client
import json
import re
import socket
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALL = "*"


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    body: bytes
    headers: dict[str, str]

    def token(self) -> str | None:
        """`Authorization: Token X` or `Bearer X` (what 2.x and 3.x take)."""
        value = self.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return token.strip() if scheme.lower() in ("token", "bearer") and token else None

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


def as_json(status: int, value: Any, headers: list[tuple[str, str]] = ()) -> Answer:
    return Answer(status, json.dumps(value).encode(),
                  [("Content-Type", "application/json"), *headers])


def statement_error(text: str) -> Answer:
    """An InfluxQL statement's error the v1 way: HTTP 200, the error in the result."""
    return as_json(200, {"results": [{"statement_id": 0, "error": text}]})


@dataclass
class Grant:
    """What a token may do: read/write per place (ALL: every one), and admin (manage)."""

    read: set[str] = field(default_factory=set)
    write: set[str] = field(default_factory=set)
    admin: bool = False

    def may(self, action: str, place: str) -> bool:
        places = self.read if action == "read" else self.write
        return self.admin or ALL in places or place in places


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold every answer back 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        request = Request(self.command, parts.path.rstrip("/") or "/", params, body,
                          {k.lower(): v for k, v in self.headers.items()})
        proxy.count(request.path)
        answer = proxy.handle(request)
        self.send_response_only(answer.status)
        for key, value in answer.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, proxy: FlavourProxy) -> None:
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


class FlavourProxy:
    """Base of a flavour: `.url`, `.admin_token`, `.token(...)`, `.requests` per path."""

    name = "base"
    admin_token = "admin-token-0f3c9a"

    def __init__(self, upstream_url: str) -> None:
        parsed = urllib.parse.urlsplit(upstream_url)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 8086
        self.tokens: dict[str, Grant] = {self.admin_token: Grant(admin=True)}
        self.requests: collections.Counter[str] = collections.Counter()
        self.lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FlavourProxy:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True,
                                        name=f"{self.name}-proxy")
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FlavourProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def count(self, path: str) -> None:
        with self.lock:
            self.requests[path] += 1

    def token(self, name: str, read: set[str] = frozenset(), write: set[str] = frozenset()
              ) -> str:
        """A token that may read/write those places (a bucket or database name; ALL)."""
        value = f"{name}-token-{len(self.tokens)}"
        self.tokens[value] = Grant(set(read), set(write))
        return value

    def grant(self, request: Request) -> Grant | None:
        return self.tokens.get(request.token() or "")

    def handle(self, request: Request) -> Answer:  # pragma: no cover - every flavour has one
        raise NotImplementedError

    # -- the real InfluxDB 1.6 behind -------------------------------------------------------

    def forward(self, method: str, path: str, params: dict[str, str], body: bytes = b"",
                content_type: str = "") -> Answer:
        target = path + ("?" + urllib.parse.urlencode(params) if params else "")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        headers = {"Content-Type": content_type} if content_type else {}
        try:
            conn.request(method, target, body=body or None, headers=headers)
            response = conn.getresponse()
            kept = [(k, v) for k, v in response.getheaders()
                    if k.lower() in ("content-type", "retry-after")]
            return Answer(response.status, response.read(), kept)
        except (OSError, http.client.HTTPException) as exc:
            return as_json(502, {"error": f"reproduction: upstream unreachable: {exc}"})
        finally:
            conn.close()

    def upstream(self, statement: str, db: str = "") -> dict[str, Any]:
        """Run InfluxQL on the 1.6 itself (no authentication there)."""
        params = {"q": statement, **({"db": db} if db else {})}
        answer = self.forward("POST", "/query", params)
        return json.loads(answer.body or b"{}")

    def ensure_upstream(self, db: str, rp: str, retention_s: int) -> None:
        """The 1.6's database and retention policy behind a bucket or database."""
        duration = f"{retention_s}s" if retention_s else "INF"
        self.upstream(f'CREATE DATABASE "{db}"')
        if rp == "autogen":
            self.upstream(f'ALTER RETENTION POLICY "autogen" ON "{db}" DURATION {duration}')
        else:
            self.upstream(f'CREATE RETENTION POLICY "{rp}" ON "{db}" DURATION {duration} '
                          "REPLICATION 1")


# -- what the flavours read in requests ----------------------------------------------------

def line_heads(body: bytes) -> list[tuple[str, list[str], list[str], int]]:
    """(measurement, tag keys, field keys, timestamp) of each line of a write (precision s;
    escapes and quoted strings respected)."""
    out = []
    for raw in body.decode("utf-8", "replace").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        parts, current, quoted, escaped = [], [], False, False
        for char in raw:
            if escaped:
                current.append(char)
                escaped = False
            elif char == "\\":
                current.append(char)
                escaped = True
            elif char == '"':
                quoted = not quoted
                current.append(char)
            elif char == " " and not quoted:
                parts.append("".join(current))
                current = []
            else:
                current.append(char)
        parts.append("".join(current))
        key, fields = parts[0], parts[1] if len(parts) > 1 else ""
        stamp = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
        names = re.split(r"(?<!\\),", key)
        field_keys = [f.split("=", 1)[0] for f in re.split(r'(?<!\\),(?=(?:[^"]*"[^"]*")*[^"]*$)',
                                                             fields) if f]
        out.append((names[0], [t.split("=", 1)[0] for t in names[1:]], field_keys, stamp))
    return out


_IDENT = r'(?:"(?:[^"\\]|\\.)*"|[A-Za-z_][\w]*)'
_SOURCE = re.compile(rf"\bFROM\s+({_IDENT}(?:\.{_IDENT}){{0,2}})", re.IGNORECASE)
_BOUND = re.compile(r"\btime\s*(>=|>|<=|<)\s*(\d+)(s|ms|u|ns)?\b", re.IGNORECASE)
_UNIT = {"s": 1, "ms": 1e-3, "u": 1e-6, "ns": 1e-9, None: 1e-9}


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('\\"', '"').replace("\\\\", "\\") if ident.startswith('"') else ident


def sources(statement: str) -> list[tuple[str | None, str | None, str]]:
    """(database, retention policy, measurement) of each FROM in a statement."""
    found = []
    for match in _SOURCE.finditer(statement):
        names = [_unquote(p) for p in re.findall(_IDENT, match.group(1))]
        names = [None] * (3 - len(names)) + names
        found.append((names[0], names[1], names[2]))
    return found


def time_bounds(statement: str) -> tuple[float, float]:
    """[lo, hi) epoch seconds a statement's WHERE allows (0 and infinity when unbounded)."""
    lo, hi = 0.0, float("inf")
    for op, number, unit in _BOUND.findall(statement):
        value = int(number) * _UNIT[unit.lower() or None]
        if op.startswith(">"):
            lo = max(lo, value + (1e-9 if op == ">" else 0))
        else:
            hi = min(hi, value + (1e-9 if op == "<=" else 0))
    return lo, hi
