"""Taking sequence numbers: the groups' and the devices' ``next_seq`` counters.

One function serves every writer that numbers something — a fan-out batch, a direct
mailbox send, a proposal — so there is one set of prebuilt statements and one locking
rule. Each row's counter moves up by its count in an ``UPDATE ... RETURNING``, one
statement per distinct count, each built once (a ``CASE`` per batch would be compiled per
batch). On PostgreSQL the rows are locked in key order first, so that writers on several
nodes always lock in the same order and cannot deadlock; SQLite serialises writers.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, Integer, Table, Update, bindparam, select, update
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from . import _sqlite_hot as hot
from .tables import devices, groups

__all__ = ["take"]


def _step(table: Table, key: ColumnElement[object], counter: ColumnElement[int],
          postgres: bool) -> Update:
    """``counter += :step`` for the rows whose key is in ``:keys``."""
    keys: BindParameter[list[object]] = bindparam("keys", expanding=True)
    target = key.in_(keys)
    if postgres:
        target = key.in_(select(key).where(key.in_(keys)).order_by(key).with_for_update()
                         .scalar_subquery())
    return (update(table).where(target)
            .values({counter: counter + bindparam("step", type_=Integer)})
            .returning(key, counter))


_COUNTED = ((groups, groups.c.group_id, groups.c.next_seq),
            (devices, devices.c.id, devices.c.next_seq))
_LOCK = {table.name: select(key).where(key.in_(bindparam("keys", expanding=True)))
         .order_by(key).with_for_update() for table, key, _ in _COUNTED}
_SQLITE_STEP = {table.name: hot.step(table) for table, _, _ in _COUNTED}
_STEP = {(table.name, postgres): _step(table, key, counter, postgres)
         for table, key, counter in _COUNTED for postgres in (False, True)}


def take(conn: Connection, table: Table, counts: Counter[object]) -> dict[object, int]:
    """Move each row's counter (``groups`` by group id, ``devices`` by device id) up by
    its count; returns, per row that exists, the first of the numbers it took."""
    postgres = conn.dialect.name == "postgresql"
    raw = hot.cursor(conn)
    by_amount: dict[int, list[object]] = {}
    for k in sorted(counts):  # type: ignore[type-var]
        by_amount.setdefault(counts[k], []).append(k)
    if postgres and len(by_amount) > 1:
        # Each statement below locks only its own keys: lock them all first, in order.
        conn.execute(_LOCK[table.name], {"keys": sorted(counts)})  # type: ignore[type-var]
    first: dict[object, int] = {}
    for amount, keys in sorted(by_amount.items()):
        if raw is not None:
            raw.execute(_SQLITE_STEP[table.name] % hot.marks(len(keys)), (amount, *keys))
            rows = raw.fetchall()
        else:
            rows = conn.execute(_STEP[table.name, postgres], {"keys": keys, "step": amount})
        for row_key, top in rows:
            found = bytes(row_key) if isinstance(row_key, memoryview) else row_key
            first[found] = int(top) - amount + 1
    return first
