"""The server under test: a real ``letterlock serve`` process on a free loopback port,
its resident memory, and a throwaway PostgreSQL database for it.

Everything here stays on 127.0.0.1. The server's JSON logs go to a file in its data
directory (a pipe nobody reads would fill and stall the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["ServerProcess", "rss_bytes", "temporary_postgres"]

START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def _free_port() -> int:
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


class ServerProcess:
    """``letterlock serve`` in a child process: ``async with ServerProcess(...) as s``."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.port = _free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    @property
    def pid(self) -> int:
        assert self._proc is not None, "the server is not running"
        return self._proc.pid

    def rss(self) -> int:
        return rss_bytes(self.pid)

    async def __aenter__(self) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "letterlock.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(self.port), "--data-dir", str(self.data_dir)]
        if self.database_url:
            command += ["--database-url", self.database_url]
        with (self.data_dir / "server.log").open("ab") as log:
            self._proc = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=log,
                env={**os.environ, "XDG_DATA_HOME": str(self.data_dir / "xdg")})
        try:
            await self._wait_healthy()
        except BaseException:
            self._stop()
            raise
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await asyncio.to_thread(self._stop)

    async def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        async with httpx.AsyncClient(base_url=self.base_url, timeout=1) as client:
            while time.monotonic() < deadline:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise RuntimeError("the server exited during start-up; see "
                                       f"{self.data_dir / 'server.log'}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the server did not become healthy in {START_TIMEOUT:.0f} s")

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.asynccontextmanager
async def temporary_postgres(server_url: str) -> AsyncIterator[str]:
    """A fresh, uniquely named database on ``server_url`` (``postgresql://user@host:port/``),
    dropped afterwards; yields its plain URL."""
    name = f"letterlock_bench_{uuid.uuid4().hex[:12]}"
    base = server_url.rstrip("/")
    admin = create_async_engine(base.replace("postgresql://", "postgresql+asyncpg://", 1)
                                + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield f"{base}/{name}"
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()
