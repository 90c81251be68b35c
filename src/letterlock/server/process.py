"""A real ``letterlock serve`` process on a free loopback port, for the demo, the
server benchmark and the end-to-end tests (one launcher for all three).

A subprocess rather than uvicorn in the caller's own event loop: the demo then exercises
exactly what an operator runs (start-up, migrations, JSON logs, signal handling), its
logs are a separate stream that can be searched for plaintext, and the tests can kill it
with SIGKILL and start it again on the same database and port, as a crash would.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx

__all__ = ["ServerProcess", "cpu_seconds", "free_port", "rss_bytes"]


def free_port() -> int:
    """A loopback TCP port nobody was listening on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_bytes(pid: int) -> int:
    """Resident set size of process ``pid`` (``VmRSS`` in ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_seconds(pid: int) -> float:
    """CPU time process ``pid`` has used so far, user plus system, every thread
    (``utime`` + ``stime`` in ``/proc/<pid>/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """``letterlock serve`` on 127.0.0.1. Use ``with``, or :meth:`start` / :meth:`stop`.

    Parameters: ``data_dir`` (the server's data directory; SQLite lives there unless
    ``database_url`` is given), ``log_dir`` (its stdout and stderr are appended to
    ``server.out`` and ``server.err`` there, across restarts), ``port`` (default: a free
    one, kept across restarts so clients reconnect to the same URL).
    """

    def __init__(self, data_dir: Path, log_dir: Path, *, database_url: str | None = None,
                 port: int | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.database_url = database_url
        self.port = port or free_port()
        self.extra_args = extra_args
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def rss(self) -> int:
        """The running server's resident memory in bytes."""
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return rss_bytes(self._proc.pid)

    def cpu(self) -> float:
        """The running server's CPU time so far, in seconds."""
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return cpu_seconds(self._proc.pid)

    def log_files(self) -> list[Path]:
        return [self.log_dir / "server.out", self.log_dir / "server.err"]

    def logs(self) -> bytes:
        """Everything the server has written to stdout and stderr so far."""
        return b"".join(p.read_bytes() for p in self.log_files() if p.exists())

    def start(self, timeout: float = 20.0) -> None:
        """Start and wait until ``/health`` answers.

        :raises RuntimeError: the process exited, or was not healthy within ``timeout``.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "letterlock.cli", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--data-dir", str(self.data_dir),
                *(["--database-url", self.database_url] if self.database_url else []),
                *self.extra_args]
        out_path, err_path = self.log_files()
        with out_path.open("ab") as out, err_path.open("ab") as err:
            self._proc = subprocess.Popen(args, stdout=out, stderr=err,
                                          stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"letterlock serve exited with {self._proc.returncode} "
                                   "during start-up")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"letterlock serve was not healthy within {timeout:g} s")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM killer would: no shutdown code runs."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit status."""
        proc, self._proc = self._proc, None
        if proc is None:
            return 0
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return -signal.SIGKILL

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

