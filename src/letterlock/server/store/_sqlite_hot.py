"""The hot statements on SQLite, through the driver's cursor.

A send's fan-out and an acknowledgement run a handful of statements per batch, and on a
two-core machine SQLAlchemy's execution path (compiled-cache lookup, parameter
processing, result wrapping) cost about three times what SQLite itself spends on them,
all of it holding the GIL the WebSockets need. For these few statements, on SQLite only,
the store hands the SQL below straight to the DBAPI cursor of the same connection, inside
the same transaction. The SQL is written from the :mod:`.tables` definitions, so a
renamed table or column changes it too; PostgreSQL keeps the SQLAlchemy Core statements
next to each caller, and the same tests run both.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Column, Connection, Table

from .tables import devices, groups, mailbox, sent_messages

__all__ = ["ACKNOWLEDGE", "DELETE_ACKNOWLEDGED", "INSERT_ENTRY", "acked", "cursor", "epochs",
           "marks", "record", "step"]


def cursor(conn: Connection) -> Any | None:
    """A DBAPI cursor of ``conn``'s connection when it is SQLite, else None."""
    if conn.dialect.name != "sqlite":
        return None
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


@lru_cache(maxsize=512)
def marks(count: int, width: int = 1) -> str:
    """``count`` placeholders (``?``), or ``count`` rows of ``width`` placeholders."""
    one = "?" if width == 1 else "(" + ",".join("?" * width) + ")"
    return ",".join([one] * count)


def _q(item: Table | Column[Any]) -> str:
    return f'"{item.name}"'


def step(table: Table) -> str:
    """``counter += ?`` for the rows whose key is in the ``%s`` list; returns key, counter
    (see :func:`.counters.take`)."""
    key, counter = (groups.c.group_id, groups.c.next_seq) if table is groups else \
        (devices.c.id, devices.c.next_seq)
    return (f"UPDATE {_q(table)} SET {_q(counter)} = {_q(counter)} + ? "
            f"WHERE {_q(key)} IN (%s) RETURNING {_q(key)}, {_q(counter)}")


@lru_cache(maxsize=512)
def epochs(count: int) -> str:
    return (f"SELECT {_q(groups.c.group_id)}, {_q(groups.c.epoch)} FROM {_q(groups)} "
            f"WHERE {_q(groups.c.group_id)} IN ({marks(count)})")


@lru_cache(maxsize=512)
def acked(count: int) -> str:
    return (f"SELECT {_q(devices.c.id)}, {_q(devices.c.acked_seq)} FROM {_q(devices)} "
            f"WHERE {_q(devices.c.id)} IN ({marks(count)})")


@lru_cache(maxsize=512)
def record(count: int) -> str:
    """Insert ``count`` (sender, client id, time) rows, skipping pairs seen before;
    returns the pairs inserted (see :func:`.mailbox.record_sends`)."""
    sender, client, created = (sent_messages.c.sender_device_id,
                               sent_messages.c.client_msg_id, sent_messages.c.created_at)
    return (f"INSERT INTO {_q(sent_messages)} ({_q(sender)}, {_q(client)}, {_q(created)}) "
            f"VALUES {marks(count, 3)} ON CONFLICT ({_q(sender)}, {_q(client)}) DO NOTHING "
            f"RETURNING {_q(sender)}, {_q(client)}")


_ENTRY_COLUMNS: Sequence[Column[Any]] = (mailbox.c.device_id, mailbox.c.seq,
                                         mailbox.c.sender_device_id, mailbox.c.payload,
                                         mailbox.c.created_at)
INSERT_ENTRY = (f"INSERT INTO {_q(mailbox)} ({', '.join(_q(c) for c in _ENTRY_COLUMNS)}) "
                f"VALUES {marks(1, len(_ENTRY_COLUMNS))}")
# (through, device): the mark moves to min(through, last assigned), never back.
ACKNOWLEDGE = (f"UPDATE {_q(devices)} SET {_q(devices.c.acked_seq)} = "
               f"max({_q(devices.c.acked_seq)}, min({_q(devices.c.next_seq)}, ?)) "
               f"WHERE {_q(devices.c.id)} = ?")
# (device, device): the device's entries up to its mark.
DELETE_ACKNOWLEDGED = (f"DELETE FROM {_q(mailbox)} WHERE {_q(mailbox.c.device_id)} = ? AND "
                       f"{_q(mailbox.c.seq)} <= (SELECT {_q(devices.c.acked_seq)} FROM "
                       f"{_q(devices)} WHERE {_q(devices.c.id)} = ?)")
