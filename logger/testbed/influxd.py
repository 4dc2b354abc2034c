"""A private, throw-away InfluxDB 1.x server: for the demo and the integration tests.

`InfluxServer` runs the real `influxd` binary (Debian's `influxdb` package, 1.6.x) with a config
derived from `influxd config`: every on-disk path lives in a temp dir, HTTP and RPC listen on free
loopback ports, usage reporting is off and logging is quiet. It never touches a system instance on
:8086. `stop()` + `start()` (or `restart()`) keep the data dir and the HTTP port, so a test can take
InfluxDB away for a while and bring it back at the same URL.

Only the standard library is used, so the test fixtures built on it do not depend on the rest of
the package.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from .influxd_config import InfluxdConfig, influxd_path, toml_str
from .ports import free_port
from .server import PrivateServer

__all__ = ["InfluxQueryError", "InfluxServer", "InfluxServerError", "free_port", "influxd_path",
           "quote_ident"]

_DEFAULT_DATA_ROOT = "/var/lib/influxdb"
_ADDR_IN_USE = re.compile(r"address already in use", re.IGNORECASE)


class InfluxServerError(RuntimeError):
    """influxd could not be started, stopped or queried."""


class InfluxQueryError(InfluxServerError):
    """An InfluxQL statement failed (HTTP error or an `error` in the JSON answer)."""


class InfluxServer(PrivateServer):
    """A private influxd on 127.0.0.1 with its own temp dir.

    >>> srv = InfluxServer().start()
    >>> srv.create_database("x"); srv.write("x", "m f=1 1700000000"); srv.points("x", "m")
    [{'time': 1700000000, 'f': 1.0}]
    >>> srv.close()
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        startup_timeout: float = 30.0,
        stop_timeout: float = 15.0,
        log_level: str = "error",
        extra_config: dict[tuple[str, str], str] | None = None,
    ) -> None:
        """`extra_config` maps (section, key) to a TOML value, e.g.
        `{("http", "max-row-limit"): "10"}`: set after the defaults (tests, benchmarks)."""
        found = binary or influxd_path()
        if not found:
            raise InfluxServerError("no influxd binary found (install the Debian package influxdb)")
        super().__init__("jullix-influxd-", "influxd.log", stop_timeout)
        self.binary = found
        self.startup_timeout = startup_timeout
        self.log_level = log_level
        self.extra_config = dict(extra_config or {})
        self.data_root = self.tmpdir / "influxdb"
        self.config_path = self.tmpdir / "influxdb.conf"
        self.http_port: int | None = None
        self.rpc_port: int | None = None
        self.startup_seconds: float | None = None  # how long the last start() took
        self.admin: tuple[str, str] | None = None  # set by `enable_auth`

    # -- lifecycle -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.http_port is None:
            raise InfluxServerError("server was never started: no URL yet")
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> InfluxServer:
        """Start influxd (no-op if running). After a stop() it comes back on the same HTTP port."""
        if self._closed:
            raise InfluxServerError("server is closed")
        if self.is_running:
            return self
        keep_http_port = self.http_port is not None
        began = time.monotonic()
        last_error = ""
        for attempt in range(8 if keep_http_port else 5):
            if not keep_http_port:
                self.http_port = free_port()
            self.rpc_port = free_port(exclude={self.http_port or 0})
            ok, last_error = self._try_start()
            if ok:
                self.startup_seconds = time.monotonic() - began
                return self
            if not _ADDR_IN_USE.search(last_error):
                break  # not a port race: do not retry
            time.sleep(0.25 * (attempt + 1) if keep_http_port else 0.05)
        raise InfluxServerError(
            f"influxd did not start (http port {self.http_port}, rpc port {self.rpc_port})"
            f"; log tail:\n{last_error}"
        )

    def restart(self) -> InfluxServer:
        self.stop()
        return self.start()

    def _render_config(self) -> str:
        default = subprocess.run(
            [self.binary, "config"],
            capture_output=True,
            check=True,
            timeout=30,
            env=self._child_env(),
        ).stdout.decode()
        cfg = InfluxdConfig(default)
        cfg.replace_everywhere(_DEFAULT_DATA_ROOT, str(self.data_root))
        cfg.replace_everywhere("/var/run/influxdb.sock", str(self.tmpdir / "influxdb.sock"))
        cfg.set("", "reporting-disabled", "true")
        if any(line.startswith("reporting-enabled") for line in cfg.lines):  # Debian's variant
            cfg.set("", "reporting-enabled", "false")
        cfg.set("", "bind-address", toml_str(f"127.0.0.1:{self.rpc_port}"))
        cfg.set("meta", "dir", toml_str(str(self.data_root / "meta")))
        cfg.set("meta", "logging-enabled", "false")
        cfg.set("data", "dir", toml_str(str(self.data_root / "data")))
        cfg.set("data", "wal-dir", toml_str(str(self.data_root / "wal")))
        cfg.set("data", "query-log-enabled", "false")
        cfg.set("http", "bind-address", toml_str(f"127.0.0.1:{self.http_port}"))
        cfg.set("http", "log-enabled", "false")
        cfg.set("http", "unix-socket-enabled", "false")
        cfg.set("monitor", "store-enabled", "false")  # no _internal database, less disk churn
        cfg.set("continuous_queries", "log-enabled", "false")
        cfg.set("logging", "level", toml_str(self.log_level))
        cfg.set("logging", "suppress-logo", "true")
        for (section, key), value in self.extra_config.items():
            cfg.set(section, key, value)
        text = cfg.text()
        if _DEFAULT_DATA_ROOT in text:  # paranoia: never write into the system instance's dir
            raise InfluxServerError("config still points at /var/lib/influxdb")
        return text

    @staticmethod
    def _child_env() -> dict[str, str]:
        # INFLUXDB_* variables override the config file in influxd: keep them out.
        return {k: v for k, v in os.environ.items() if not k.startswith("INFLUXDB_")}

    def _try_start(self) -> tuple[bool, str]:
        self.data_root.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self._render_config())
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            log.write(f"--- starting influxd on 127.0.0.1:{self.http_port} ---\n".encode())
        proc = self.spawn([self.binary, "-config", str(self.config_path)], self._child_env())
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                return False, self._log_since(log_offset)
            if self._owns_http_port() and self._ping():
                return True, ""
            time.sleep(0.05)
        self.kill()
        return False, f"no 204 from /ping within {self.startup_timeout:.0f} s\n" + self._log_since(
            log_offset
        )

    def _log_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-40:])

    def _ping(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/ping", timeout=2) as resp:
                return resp.status == 204
        except (OSError, urllib.error.URLError):
            return False

    def _owns_http_port(self) -> bool:
        """Is the listener on our HTTP port ours (and not the winner of a port race)?"""
        if self._proc is None or self._proc.poll() is not None:
            return False
        try:
            inodes = set()
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
                parts = line.split()
                local, state, inode = parts[1], parts[3], parts[9]
                if state == "0A" and int(local.split(":")[1], 16) == self.http_port:
                    inodes.add(inode)
            fd_dir = Path(f"/proc/{self._proc.pid}/fd")
            for fd in fd_dir.iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return True
            return False
        except (OSError, ValueError, IndexError):
            return True  # no /proc (not Linux): trust the alive process

    # -- HTTP helpers ----------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, params: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes]:
        if self.admin is not None:  # auth-enabled: the test's admin user, as u/p parameters
            params = {**params, "u": self.admin[0], "p": self.admin[1]}
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        req = urllib.request.Request(url, data=body, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def query(self, q: str, db: str | None = None, *, epoch: str | None = "s") -> dict[str, Any]:
        """InfluxQL via POST /query: the JSON answer, or InfluxQueryError."""
        params = {"q": q}
        if db:
            params["db"] = db
        if epoch:
            params["epoch"] = epoch
        status, body = self._request("POST", "/query", params)
        try:
            answer = json.loads(body) if body else {}
        except ValueError as err:
            raise InfluxQueryError(f"{q!r}: HTTP {status}, not JSON: {body[:200]!r}") from err
        if status != 200 or "error" in answer:
            raise InfluxQueryError(f"{q!r}: HTTP {status}: {answer.get('error', body[:200])}")
        for result in answer.get("results", []):
            if "error" in result:
                raise InfluxQueryError(f"{q!r}: {result['error']}")
        return answer

    def write(
        self, db: str, lines: str | bytes, precision: str = "s", rp: str | None = None
    ) -> None:
        """Write line protocol via the v1 /write endpoint; raises unless 204."""
        params = {"db": db, "precision": precision}
        if rp:
            params["rp"] = rp
        body = lines.encode() if isinstance(lines, str) else lines
        status, answer = self._request("POST", "/write", params, body)
        if status != 204:
            raise InfluxQueryError(f"/write to {db}: HTTP {status}: {answer[:300]!r}")

    def enable_auth(self, user: str = "admin", password: str = "admin-secret") -> None:
        """For a server started with `extra_config={("http", "auth-enabled"): "true"}`: create
        the first admin user (1.x lets the first one be created without credentials) and use
        it for every later request of this object."""
        self.query(f"CREATE USER {quote_ident(user)} WITH PASSWORD "
                   f"'{password}' WITH ALL PRIVILEGES")
        self.admin = (user, password)

    def create_database(self, name: str) -> None:
        self.query(f"CREATE DATABASE {quote_ident(name)}")

    def drop_database(self, name: str) -> None:
        self.query(f"DROP DATABASE {quote_ident(name)}")

    def databases(self) -> list[str]:
        series = self.query("SHOW DATABASES")["results"][0].get("series", [])
        return [row[0] for s in series for row in s.get("values", [])]

    def points(self, db: str, measurement: str, where: str | None = None) -> list[dict[str, Any]]:
        """All rows of a measurement (tags and fields), oldest first, `time` in epoch seconds."""
        q = f"SELECT * FROM {quote_ident(measurement)}"
        if where:
            q += f" WHERE {where}"
        answer = self.query(q, db=db, epoch="s")
        rows: list[dict[str, Any]] = []
        for result in answer.get("results", []):
            for series in result.get("series", []):
                columns = series["columns"]
                rows.extend(dict(zip(columns, values, strict=True)) for values in series["values"])
        rows.sort(key=lambda r: r["time"])
        return rows


def quote_ident(name: str) -> str:
    """An InfluxQL double-quoted identifier."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
