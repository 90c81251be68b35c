"""Run the server under uvicorn (used by ``letterlock serve``).

uvicorn handles SIGINT/SIGTERM: it stops accepting, lets requests finish, closes
WebSockets, runs the lifespan shutdown (closing the store), then re-raises the signal
into the handler that was installed before it. Ours turns that into a normal exit with
status 0, so a supervisor sees a clean stop rather than death by signal.
"""

from __future__ import annotations

import base64
import logging
import signal
from types import FrameType

import uvicorn

from .app import create_app
from .logs import configure_logging
from .services.log_key import load_or_create_log_key
from .settings import Settings

__all__ = ["run"]


def run(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> int:
    """Serve until a signal arrives; returns the process exit status."""
    configure_logging()
    # Created here if it is new, so that the operator can publish it before clients come.
    public_key = base64.b64encode(load_or_create_log_key(settings).public).decode()
    print(f"transparency log key: {public_key}", flush=True)
    logging.getLogger("letterlock.server").info("transparency log key",
                                                extra={"log_public_key": public_key})
    config = uvicorn.Config(
        create_app(settings), host=host, port=port,
        log_config=None,            # keep our JSON handlers
        access_log=False,           # ours omits query strings and never sees headers
        ws_max_size=settings.max_frame_bytes,
        # No permessage-deflate (RFC 7692 is negotiated, so clients simply go without):
        # the frames carry ciphertext, which does not compress beyond its base64, and the
        # zlib state would cost every idle connected device tens of KiB.
        ws_per_message_deflate=False,
        # Stated rather than left to "auto": the C event loop and HTTP parser (both come
        # with uvicorn[standard], a dependency).
        loop="uvloop", http="httptools",
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
