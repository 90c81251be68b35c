"""What the server holds: the metadata in its SQLite database, and a byte search of its
files and logs for message text.

This reads the database file directly, read-only, as an operator (or whoever copies
the disk) could: the point of the demo is that even that view has no content in it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ScanResult", "scan_for_text", "stored_metadata"]


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return list(conn.execute(sql).fetchall())


def stored_metadata(database: Path) -> dict[str, Any]:
    """Row counts and the metadata the server keeps, from its SQLite file (read-only).

    Returns a JSON-ready dict: ``tables`` (name → row count), ``accounts``, ``devices``
    (with mailbox cursors), ``groups`` (epoch and member devices), ``mailboxes``
    (pending entries per device, with sizes and times), ``commits`` (sizes and times)
    and ``sends`` (the idempotency records: sender device and time).
    """
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        names = [r[0] for r in _rows(conn, "SELECT name FROM sqlite_master WHERE type = "
                                           "'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = {name: int(_rows(conn, f'SELECT COUNT(*) FROM "{name}"')[0][0])
                  for name in names}
        handle_of = {device: handle for device, handle in _rows(
            conn, "SELECT d.id, a.handle FROM devices d JOIN accounts a "
                  "ON a.id = d.account_id")}
        accounts = [{"handle": h, "created_at": t} for h, t in _rows(
            conn, "SELECT handle, created_at FROM accounts ORDER BY id")]
        devices = [{"device_id": d, "handle": handle_of.get(d), "cipher_suite": s,
                    "created_at": t, "last_seq": n, "acked_seq": a}
                   for d, s, t, n, a in _rows(
                       conn, "SELECT id, cipher_suite, created_at, next_seq, acked_seq "
                             "FROM devices ORDER BY created_at, id")]
        members: dict[bytes, list[dict[str, Any]]] = {}
        for gid, leaf, device in _rows(conn, "SELECT group_id, leaf_index, device_id FROM "
                                             "group_members ORDER BY group_id, leaf_index"):
            members.setdefault(bytes(gid), []).append(
                {"leaf": leaf, "device_id": device, "handle": handle_of.get(device)})
        groups = [{"group_id": bytes(g).hex(), "epoch": e, "last_group_seq": n,
                   "created_at": c, "updated_at": u, "members": members.get(bytes(g), [])}
                  for g, e, n, c, u in _rows(
                      conn, "SELECT group_id, epoch, next_seq, created_at, updated_at "
                            "FROM groups ORDER BY created_at, group_id")]
        mailboxes = [{"device_id": d, "handle": handle_of.get(d), "seq": q,
                      "sender_device_id": s, "size": z, "created_at": t}
                     for d, q, s, z, t in _rows(
                         conn, "SELECT device_id, seq, sender_device_id, LENGTH(payload), "
                               "created_at FROM mailbox ORDER BY device_id, seq")]
        commits = [{"group_id": bytes(g).hex(), "epoch": e, "group_seq": q, "size": z,
                    "created_at": t}
                   for g, e, q, z, t in _rows(
                       conn, "SELECT group_id, epoch, seq, LENGTH(message), created_at "
                             "FROM group_commits ORDER BY created_at, seq")]
        sends = [{"sender_device_id": d, "created_at": t} for d, t in _rows(
            conn, "SELECT sender_device_id, created_at FROM sent_messages ORDER BY id")]
    finally:
        conn.close()
    return {"tables": tables, "accounts": accounts, "devices": devices, "groups": groups,
            "mailboxes": mailboxes, "commits": commits, "sends": sends}


@dataclass
class ScanResult:
    """Which files were searched, how many bytes, and any (needle, file) found."""

    files: list[str] = field(default_factory=list)
    bytes_scanned: int = 0
    found: list[tuple[str, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.found and bool(self.files)

    def to_json(self) -> dict[str, Any]:
        return {"clean": self.clean, "files": self.files, "bytes_scanned": self.bytes_scanned,
                "found": [{"text": t, "file": f} for t, f in self.found]}


def scan_for_text(paths: Iterable[Path], texts: Iterable[str],
                  result: ScanResult | None = None) -> ScanResult:
    """Search every file under ``paths`` (files or directories, recursively) for each
    text's UTF-8 bytes. SQLite's -wal and -shm files are ordinary files here, so a
    message that only ever reached the write-ahead log is found too."""
    result = result or ScanResult()
    needles = [(t, t.encode()) for t in texts]
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() \
            else [path] if path.is_file() else []
        for file in files:
            data = file.read_bytes()
            result.files.append(str(file))
            result.bytes_scanned += len(data)
            result.found += [(text, str(file)) for text, needle in needles if needle in data]
    return result
