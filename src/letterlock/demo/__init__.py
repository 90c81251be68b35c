"""``letterlock demo``: a self-contained tour of Letterlock.

1. Start ``letterlock serve`` on a free loopback port, with SQLite in a new temporary
   directory (see :mod:`letterlock.server.process` for why a real process).
2. Register @alice, @bob and @carol, each on their own temporary profile.
3. A 1:1 conversation both ways; a group that @alice creates with @bob, adds @carol to
   and removes @bob from, showing that @bob reads nothing sent after (tour.py).
4. What the server stored: row counts and the metadata it holds, read from its database
   file; then a byte search of every file in its data directory (including SQLite's
   -wal and -shm) and of its logs for each message text (stored.py).

The exit status is 0 only if every step succeeded. ``--json`` prints one summary
document instead of the story. Everything is deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from letterlock.server.process import ServerProcess

from .stored import ScanResult, scan_for_text, stored_metadata
from .tour import Narrator, Tour, people

__all__ = ["main", "run"]

HANDLES = ("@alice", "@bob", "@carol")
DEADLINE = 120.0  # seconds: a stuck demo fails rather than hangs


def _clock(t: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def _short(device_id: str | None) -> str:
    return (device_id or "?")[:8]


def _show_stored(say: Narrator, stored: dict[str, Any]) -> None:
    say.say("\n── What the server stored (read straight from its SQLite file)")
    counts = ", ".join(f"{name} {n}" for name, n in stored["tables"].items())
    say.say(f"  rows per table: {counts}")
    say.say("  accounts: " + ", ".join(f"{a['handle']} (since {_clock(a['created_at'])})"
                                       for a in stored["accounts"]))
    for d in stored["devices"]:
        say.say(f"  device {d['device_id']} of {d['handle']}: mailbox seq {d['last_seq']}, "
                f"acknowledged up to {d['acked_seq']}")
    for g in stored["groups"]:
        members = ", ".join(f"leaf {m['leaf']} {m['handle']} ({_short(m['device_id'])}…)"
                            for m in g["members"])
        say.say(f"  group {g['group_id'][:16]}…: epoch {g['epoch']}, "
                f"{g['last_group_seq']} messages ordered, members: {members}")
    for c in stored["commits"]:
        say.say(f"    commit into epoch {c['epoch'] + 1} of {c['group_id'][:8]}…: "
                f"{c['size']} bytes at {_clock(c['created_at'])}")
    pending = stored["mailboxes"]
    say.say(f"  mailboxes: {len(pending)} entr{'y' if len(pending) == 1 else 'ies'} waiting "
            "(the rest were deleted when acknowledged)")
    for m in pending:
        say.say(f"    for {m['handle']} ({_short(m['device_id'])}…) from "
                f"{_short(m['sender_device_id'])}…: {m['size']} bytes of ciphertext, "
                f"queued {_clock(m['created_at'])}")
    say.say(f"  send records (sender device and time only, to drop retried sends): "
            f"{len(stored['sends'])}")


def _show_scan(say: Narrator, scan: ScanResult, texts: list[str], when: str) -> None:
    names = sorted({Path(f).name for f in scan.files})
    say.say(f"  {when}: searched {len(scan.files)} files, {scan.bytes_scanned:,} bytes "
            f"({', '.join(names)})")
    for text, file in scan.found:
        say.say(f"  ✗ \"{text}\" found in {file}")
    if scan.clean:
        say.say(f"  ✓ none of the {len(texts)} texts (messages and the group's local name) "
                "appears")


async def _conversations(narrator: Narrator, root: Path,
                         server: ServerProcess) -> tuple[list[str], list[str]]:
    async with people(root / "profiles", server.url, HANDLES, narrator) as folks:
        tour = Tour(narrator, folks)
        await tour.direct()
        await tour.group()
        return tour.sent, tour.names


def run(*, quiet: bool = False) -> tuple[int, dict[str, Any]]:
    """Run the tour; returns (exit status, summary). ``quiet``: print nothing."""
    narrator = Narrator(quiet)
    started = time.monotonic()
    summary: dict[str, Any] = {"ok": False, "steps": narrator.steps}
    with tempfile.TemporaryDirectory(prefix="letterlock-demo-") as tmp:
        root = Path(tmp)
        server = ServerProcess(root / "server", root / "logs")
        try:
            narrator.say("── An embedded server")
            server.start()
            narrator.step("server", f"letterlock serve (pid {server.pid}) on {server.url}, "
                          f"SQLite in {server.data_dir}", url=server.url, database="sqlite")
            narrator.say("\n── Three people, each with their own device and profile")
            messages, names = asyncio.run(asyncio.wait_for(
                _conversations(narrator, root, server), DEADLINE))
            texts = [*messages, *names]
            stored = stored_metadata(server.data_dir / "letterlock.db")
            summary["stored"] = stored
            _show_stored(narrator, stored)

            narrator.say("\n── Is any message text in the server's files or logs?")
            live = scan_for_text([server.data_dir, *server.log_files()], texts)
            _show_scan(narrator, live, texts, "while running")
            status = server.stop()
            after = scan_for_text([server.data_dir, *server.log_files()], texts)
            _show_scan(narrator, after, texts, "after shutdown")
            summary["plaintext_scan"] = {"while_running": live.to_json(),
                                         "after_shutdown": after.to_json(),
                                         "texts_searched": len(texts)}
            if not (live.clean and after.clean):
                raise RuntimeError("message text found on the server")
            narrator.step("scan", "the server holds no message text: only the metadata "
                          "above, and ciphertext until it is delivered")
            if status != 0:
                raise RuntimeError(f"the server exited with status {status}")
            summary["ok"] = True
        except Exception as exc:  # any failure: say which step, exit 1
            narrator.steps.append({"step": "failed", "ok": False,
                                   "detail": f"{type(exc).__name__}: {exc}"})
            narrator.say(f"\n  ✗ demo failed: {type(exc).__name__}: {exc}")
        finally:
            server.stop()
    summary["elapsed_seconds"] = round(time.monotonic() - started, 2)
    if summary["ok"]:
        narrator.say(f"\nDemo complete in {summary['elapsed_seconds']:.1f} s; "
                     "everything it created has been deleted.")
    return (0 if summary["ok"] else 1), summary


def main(*, json_output: bool = False) -> int:
    """``letterlock demo [--json]``: the exit status."""
    status, summary = run(quiet=json_output)
    if json_output:
        print(json.dumps(summary, indent=2))
    return status
