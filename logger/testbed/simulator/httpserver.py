"""A small, strict asyncio HTTP/1.1 server (stdlib only).

The simulator must not pull in a web framework, yet the logger's httpx client reuses
connections, so this server supports persistent connections (keep-alive) and Content-Length
bodies, and closes the connection on anything it does not understand (malformed request line or
header, chunked bodies, oversized input, idle clients) instead of guessing.

A handler may return None to drop the connection without answering, which is how the simulator
imitates a box that goes away mid-request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger(__name__)

MAX_HEADERS = 100
MAX_LINE = 8192


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes = b""
    # True once the client hung up (e.g. it timed out while the handler was delaying); set by
    # the server. A handler checks it before treating an answer as delivered.
    client_gone: Callable[[], bool] = field(default=lambda: False, repr=False, compare=False)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.target).query)

    @property
    def keep_alive(self) -> bool:
        tokens = {t.strip().lower() for t in self.headers.get("connection", "").split(",")}
        if self.version == "HTTP/1.0":
            return "keep-alive" in tokens
        return "close" not in tokens


@dataclass
class Response:
    """One HTTP response; `close` forces the connection to close after it."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


Handler = Callable[[Request], Awaitable[Response | None]]


class BadRequest(Exception):
    """The request cannot be parsed; answer `status` and close the connection."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def render(response: Response, *, keep_alive: bool, head: bool = False) -> bytes:
    """Serialise a response (status line, headers, body)."""
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [
        f"HTTP/1.1 {response.status} {reason}",
        f"Content-Type: {response.content_type}",
        f"Content-Length: {len(response.body)}",
        f"Connection: {'keep-alive' if keep_alive else 'close'}",
    ]
    lines.extend(f"{k}: {v}" for k, v in response.headers.items())
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head_bytes if head else head_bytes + response.body


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as exc:
        raise BadRequest(431, "line too long") from exc
    if len(line) > MAX_LINE:
        raise BadRequest(431, "line too long")
    return line


async def read_request(reader: asyncio.StreamReader, max_body: int) -> Request | None:
    """Read one request; None on a clean end of stream before any byte of a new request."""
    try:
        line = await _read_line(reader)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    parts = line.rstrip(b"\r\n").decode("latin-1").split(" ")
    if len(parts) != 3:
        raise BadRequest(400, "malformed request line")
    method, target, version = parts
    if not method.isalpha() or not method.isupper():
        raise BadRequest(400, "malformed method")
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise BadRequest(505, "unsupported HTTP version")
    if not target.startswith("/"):
        raise BadRequest(400, "only origin-form targets are supported")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = await _read_line(reader)
        text = raw.rstrip(b"\r\n").decode("latin-1")
        if not text:
            break
        name, sep, value = text.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise BadRequest(400, "malformed header")
        key = name.lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    else:
        raise BadRequest(431, "too many headers")
    if "transfer-encoding" in headers:
        raise BadRequest(501, "transfer-encoding is not supported; send Content-Length")
    body = b""
    if "content-length" in headers:
        values = {v.strip() for v in headers["content-length"].split(",")}
        if len(values) != 1 or not next(iter(values)).isdigit():
            raise BadRequest(400, "malformed Content-Length")
        length = int(next(iter(values)))
        if length > max_body:
            raise BadRequest(413, "body too large")
        body = await reader.readexactly(length)
    return Request(method=method, target=target, version=version, headers=headers, body=body)


class HttpServer:
    """Serves `handler` on host:port (port 0 = a free port) until `stop()`."""

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        idle_timeout: float = 60.0,
        max_body: int = 1 << 20,
    ) -> None:
        self._handler = handler
        self.host = host
        self._port = port
        self.idle_timeout = idle_timeout
        self.max_body = max_body
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (after `start()`)."""
        if self._server is None:
            return self._port
        return self._server.sockets[0].getsockname()[1]

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_connection, self.host, self._port, limit=MAX_LINE * 2
        )

    async def stop(self) -> None:
        """Stop listening and close every open connection (in-flight requests are cancelled)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._port = server.sockets[0].getsockname()[1]
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while True:
                try:
                    request = await asyncio.wait_for(
                        read_request(reader, self.max_body), self.idle_timeout
                    )
                except BadRequest as exc:
                    body = f"{exc}\n".encode()
                    resp = Response(exc.status, body, "text/plain; charset=utf-8")
                    writer.write(render(resp, keep_alive=False))
                    await writer.drain()
                    break
                except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                    break
                if request is None:
                    break
                request.client_gone = lambda: reader.at_eof() or reader.exception() is not None
                try:
                    response = await self._handler(request)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception(
                        "simulator handler failed for %s %s", request.method, request.target
                    )
                    response = Response(500, b"internal error\n", "text/plain; charset=utf-8")
                if response is None:
                    break  # drop the connection without an answer
                keep = request.keep_alive and not response.close
                writer.write(render(response, keep_alive=keep, head=request.method == "HEAD"))
                await writer.drain()
                if not keep:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
