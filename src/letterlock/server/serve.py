"""Run the server under uvicorn (used by ``letterlock serve``).

uvicorn handles SIGINT/SIGTERM: it stops accepting, lets requests finish, closes
WebSockets, runs the lifespan shutdown (closing the store), then re-raises the signal
into the handler that was installed before it. Ours turns that into a normal exit with
status 0, so a supervisor sees a clean stop rather than death by signal.
"""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn

from .app import create_app
from .logs import configure_logging
from .settings import Settings

__all__ = ["run"]


def run(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Serve until a signal arrives; returns the process exit status."""
    configure_logging()
    config = uvicorn.Config(
        create_app(settings), host=host, port=port,
        log_config=None,            # keep our JSON handlers
        access_log=False,           # ours omits query strings and never sees headers
        ws_max_size=settings.max_frame_bytes,
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    server = uvicorn.Server(config)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit_cleanly)
    server.run()
    return 0 if server.started else 1


def _exit_cleanly(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)
