"""Alembic environment: migrations run on the connection the server hands over.

The server calls :func:`letterlock.server.store.engine.migrate`, which passes its own
connection in ``config.attributes["connection"]``; there is no alembic.ini and no URL here.
"""

from __future__ import annotations

from alembic import context

from letterlock.server.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through letterlock.server.store.engine.migrate")
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
