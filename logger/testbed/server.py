"""What every private server of the testbed shares: a temp dir, a child process, a clean end.

`PrivateServer` owns the temp dir (deleted on `close`, or at interpreter exit), the child process
(started by the subclass through `spawn`, in its own session so a Ctrl-C in the terminal goes to
pytest, and with a parent-death signal so it dies with the test process even after a SIGKILL),
`stop` (SIGTERM, then SIGKILL after `stop_timeout`), `kill` (a crash) and the log tail. The
subclasses (influxd, mosquitto) write their config and say when they are ready.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def find_binary(variable: str, name: str, candidates: tuple[str, ...] = ()) -> str | None:
    """A server binary: `$variable` (a path) wins over `$PATH` and the usual Debian places;
    None when it is not installed."""
    explicit = os.environ.get(variable)
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    found = shutil.which(name)
    if found:
        return found
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    """Make the server die with the test process, even if pytest is SIGKILLed (Linux only)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class PrivateServer:
    """A child server process with a temp dir of its own (see the module doc)."""

    def __init__(self, prefix: str, log_name: str, stop_timeout: float = 15.0) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix=prefix))
        self.log_path = self.tmpdir / log_name
        self.stop_timeout = stop_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False
        atexit.register(self._kill_at_exit)

    def __enter__(self) -> PrivateServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> PrivateServer:
        raise NotImplementedError

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.is_running and self._proc else None

    def spawn(self, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start the server process, its output appended to the log."""
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # a Ctrl-C in the terminal goes to pytest, not here
                preexec_fn=_set_pdeathsig if sys.platform.startswith("linux") else None,
            )
        return self._proc

    def stop(self) -> None:
        """SIGTERM, wait, SIGKILL if needed. Keeps the temp dir (and the port) for `start`."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL (simulates a crash); `start` brings it back on the same port."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def close(self) -> None:
        """Stop the server and delete its temp dir (data included)."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            atexit.unregister(self._kill_at_exit)

    def _kill_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
