"""A private, throw-away MQTT broker: Debian's `mosquitto`, for the tests and the benchmarks.

`MosquittoServer` writes a config into a temp dir (`listener PORT 127.0.0.1`, anonymous access
or a password file, persistence off unless asked for, the log in the temp dir), starts the real
binary on a free loopback port and waits until it listens. It never touches a system broker on
:1883 (Debian's package starts one where systemd runs). `stop()` + `start()` keep the port, so a
test can take the broker away and bring it back at the same address; with `persistence=True` the
broker keeps its sessions and retained messages across that, as a real one configured so would.

Only the standard library is used: the testbed imports nothing of the product.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from .ports import free_port
from .server import PrivateServer, find_binary

__all__ = ["MosquittoServer", "MosquittoServerError", "mosquitto_path"]


class MosquittoServerError(RuntimeError):
    """mosquitto could not be started or stopped."""


def mosquitto_path() -> str | None:
    """The broker binary: `$JULLIX_MOSQUITTO`, else `mosquitto` on PATH or in /usr/sbin."""
    return find_binary("JULLIX_MOSQUITTO", "mosquitto", ("/usr/sbin/mosquitto",))


class MosquittoServer(PrivateServer):
    """A private mosquitto on 127.0.0.1 with its own temp dir.

    >>> with MosquittoServer() as broker:
    ...     broker.url   # 'mqtt://127.0.0.1:2xxxx'
    """

    def __init__(self, binary: str | None = None, *, users: dict[str, str] | None = None,
                 persistence: bool = False, tls: tuple[Path, Path] | None = None,
                 acl: str | None = None, startup_timeout: float = 15.0) -> None:
        """`tls`: (certificate, key) files: the listener speaks TLS only (mqtts://); `acl`:
        the text of a mosquitto ACL file (`user NAME` / `topic read|write|readwrite T`)."""
        found = binary or mosquitto_path()
        if not found:
            raise MosquittoServerError("no mosquitto binary (install Debian's mosquitto)")
        super().__init__("jullix-mosquitto-", "mosquitto.log")
        self.binary = found
        self.users = dict(users or {})
        self.persistence = persistence
        self.tls = tls
        self.acl = acl
        self.startup_timeout = startup_timeout
        self.config_path = self.tmpdir / "mosquitto.conf"
        self.port: int | None = None
        self._log_offset = 0

    @property
    def url(self) -> str:
        if self.port is None:
            raise MosquittoServerError("broker was never started: no URL yet")
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def _config(self) -> str:
        lines = [f"listener {self.port} 127.0.0.1", f"log_dest file {self.log_path}",
                 "log_type error", "log_type warning", "log_type notice",
                 "log_type information"]  # information: "running", and each connection
        if self.tls:
            lines += [f"certfile {self.tls[0]}", f"keyfile {self.tls[1]}"]
        if self.users:
            passwords = self.tmpdir / "passwords"
            passwords.write_text("")
            for user, password in self.users.items():
                subprocess.run(["mosquitto_passwd", "-b", str(passwords), user, password],
                               check=True, capture_output=True, timeout=30)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl = self.tmpdir / "acl"
            acl.write_text(self.acl)
            lines.append(f"acl_file {acl}")
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.tmpdir}/",
                      "autosave_interval 0"]
        else:
            lines.append("persistence false")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            lines.append("user root")  # as root it would switch to `mosquitto`: no temp dir
        return "\n".join(lines) + "\n"

    def start(self) -> MosquittoServer:
        """Start the broker (no-op if running); after `stop()` it comes back on the same port."""
        if self._closed:
            raise MosquittoServerError("broker is closed")
        if self.is_running:
            return self
        keep_port = self.port is not None
        for attempt in range(8 if keep_port else 5):
            if not keep_port:
                self.port = free_port()
            self.config_path.write_text(self._config())
            if self._try_start():
                return self
            time.sleep(0.25 * (attempt + 1) if keep_port else 0.05)
        raise MosquittoServerError(f"mosquitto did not start on port {self.port}; log tail:\n"
                                   f"{self.log_tail()}")

    def _try_start(self) -> bool:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        proc = self.spawn([self.binary, "-c", str(self.config_path)])
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                return False  # the port was taken meanwhile, most likely: try again
            if self._listening():
                return True
            time.sleep(0.05)
        self.kill()
        return False

    def _listening(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(("127.0.0.1", self.port or 0))
            except OSError:
                return False
        try:  # ours, not the winner of a port race: this start's own log says it runs
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                return b" running" in log.read()
        except OSError:
            return False
