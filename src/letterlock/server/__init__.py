"""The Letterlock delivery server (``letterlock serve``).

Layout: :mod:`.app` (the ASGI app factory), :mod:`.settings`, :mod:`.api` (thin routes),
:mod:`.services` (the logic, one module per domain), :mod:`.store` (all SQL; SQLAlchemy
Core and Alembic), :mod:`.bus` (mailbox wake-ups), :mod:`.logs`, :mod:`.middleware`.
The server knows handles, device public keys, which devices belong to which account,
sizes and times; message payloads are opaque bytes it deletes once acknowledged.
"""
