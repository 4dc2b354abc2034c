"""The opt-in HTTP endpoint (`[http] listen`): `/metrics` and `/healthz`.

- `GET /metrics`: the Prometheus text format (`logger.app.metrics`).
- `GET /healthz`: `200 ok` while healthy, `503` and the reason when not. The rule is the systemd
  watchdog's (`logger.app.health.health_problem`), plus the outbox failing to commit to disk
  (`storage_problem`), plus one only an outside thread can see: the event loop does not answer
  within `LOOP_TIMEOUT` seconds (the watchdog notices that case by its own silence). An optional
  feature that is off (the ledger without its retention policy) is `200 degraded: ...` with the
  reason: raw logging works, and nothing a restart would fix.

Served by the standard library's WSGI server in a thread of its own, not on the event loop: a
stuck loop must still get an answer (503), and a slow scraper must never delay a poll. Clients
are bounded (issue 19): each connection has `CLIENT_TIMEOUT` seconds to send its request, and at
most `MAX_CLIENTS` are served at once; one more is closed at once, so idle or slow clients cannot
pile up threads. What a
request reads, it reads on the event loop (`run_coroutine_threadsafe`), because the outbox and
the service's state belong to that thread. Nothing can be changed through the endpoint. It binds
to loopback unless another address is configured; the docs say what that exposes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from logger.app import metrics, snapshot
from logger.app.health import degraded, health_problem, storage_problem
from logger.core.logs import get_logger
from logger.core.urls import is_loopback

log = get_logger(__name__)

LOOP_TIMEOUT = 5.0  # seconds the event loop gets to answer a request
CLIENT_TIMEOUT = 5.0  # seconds a connection may take to send its request (then closed)
MAX_CLIENTS = 16  # connections served at once; more are closed without an answer

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 64  # listen backlog: a burst of scrapers is accepted, then bounded

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out or hung up is no news for the journal (the standard
        library would print a traceback to stderr for each)."""
        log.debug("http client %s: %s", client_address, sys.exc_info()[1])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):  # every slot busy: refuse, do not queue
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    timeout = CLIENT_TIMEOUT  # socket timeout: an idle or trickling client is dropped

    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not journal news
        pass


class HttpEndpoint:
    """Serves `/metrics` and `/healthz` for one service; `start` on its loop, `stop` at the end."""

    def __init__(self, service: Any, host: str, port: int) -> None:
        self.service = service
        self.host, self.port = host, port
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> bool:
        """Bind and serve; False (logged) when the address cannot be bound: logging goes on."""
        self._loop = asyncio.get_running_loop()
        server_class = _Server6 if ":" in self.host else _Server
        try:
            self._server = make_server(self.host, self.port, self._app, server_class,
                                       _QuietHandler)
        except OSError as exc:
            log.error("[http] listen = %s:%d cannot be bound (%s); no /metrics or /healthz, "
                      "logging goes on", self.host, self.port, exc)
            return False
        self.port = self._server.server_address[1]  # port 0 = a free one (tests)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, name="http-endpoint",
                                        daemon=True)
        self._thread.start()
        if is_loopback(self.host):
            log.info("serving /metrics and /healthz at %s (loopback only)", self.url)
        else:
            log.warning("serving /metrics and /healthz at %s: NOT loopback, so everyone who can "
                        "reach this address reads the logger's counters and health, without "
                        "authentication (docs/grafana.md)", self.url)
        return True

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        await asyncio.to_thread(server.shutdown)
        server.server_close()

    # -- WSGI, in the server's threads ----------------------------------------------------

    def _on_loop(self, read: Callable[[], Any]) -> Any:
        """`read()` run on the event loop; TimeoutError when the loop does not answer."""
        async def call() -> Any:
            return read()

        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        try:
            return future.result(LOOP_TIMEOUT)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError from None

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if method not in ("GET", "HEAD"):
            return _answer(start_response, "405 Method Not Allowed", b"GET or HEAD only\n",
                           extra=[("Allow", "GET, HEAD")])
        if path == "/healthz":
            return self._healthz(start_response)
        if path == "/metrics":
            return self._metrics(environ, start_response)
        return _answer(start_response, "404 Not Found", b"try /metrics or /healthz\n")

    def _healthz(self, start_response: StartResponse) -> Iterable[bytes]:
        off: dict[str, str] = {}

        def read() -> str | None:
            off.update(degraded(self.service))
            return health_problem(self.service) or storage_problem(self.service)

        try:
            problem = self._on_loop(read)
        except TimeoutError:
            problem = f"the event loop did not answer within {LOOP_TIMEOUT:g} s"
        except RuntimeError as exc:  # the loop is closed: the service is stopping
            problem = f"the service is stopping ({exc})"
        if problem is not None:
            return _answer(start_response, "503 Service Unavailable", f"{problem}\n".encode())
        if off:
            text = "".join(f"degraded: {name} is off: {why}\n" for name, why in sorted(off.items()))
            return _answer(start_response, "200 OK", text.encode())
        return _answer(start_response, "200 OK", b"ok\n")

    def _metrics(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        try:
            snap = self._on_loop(lambda: snapshot.take(self.service))
        except TimeoutError:
            return _answer(start_response, "503 Service Unavailable",
                           f"the event loop did not answer within {LOOP_TIMEOUT:g} s\n".encode())
        except RuntimeError as exc:
            return _answer(start_response, "503 Service Unavailable",
                           f"the service is stopping ({exc})\n".encode())
        body, content_type = metrics.render(snap, environ.get("HTTP_ACCEPT", ""))
        return _answer(start_response, "200 OK", body, content_type)


def _answer(start_response: StartResponse, status: str, body: bytes,
            content_type: str = "text/plain; charset=utf-8",
            extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               *(extra or [])]
    start_response(status, headers)
    return [body]
