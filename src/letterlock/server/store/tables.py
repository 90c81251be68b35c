"""The schema, as SQLAlchemy Core tables.

What the server may know (DESIGN.md): handles, device public keys, which devices belong to
which account, sizes and times. Message payloads are opaque ciphertext kept only until
the device acknowledges them (or retention expires); tokens and invite codes are stored
as SHA-256 hashes only. Times are integer Unix seconds, so SQLite and PostgreSQL agree.

The migration in ``migrations/versions`` builds exactly these tables; a test compares them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
)

__all__ = [
    "accounts",
    "devices",
    "group_commits",
    "group_members",
    "groups",
    "invites",
    "key_packages",
    "kt_entries",
    "kt_tree_heads",
    "mailbox",
    "metadata",
    "nonces",
    "sent_messages",
    "tokens",
]

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

accounts = Table(
    "accounts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handle", String(33), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

devices = Table(
    "devices", metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("signature_key", LargeBinary, nullable=False, unique=True),
    Column("cipher_suite", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Mailbox bookkeeping: last sequence assigned, last acknowledged, last lost to expiry.
    Column("next_seq", BigInteger, nullable=False, server_default="0"),
    Column("acked_seq", BigInteger, nullable=False, server_default="0"),
    Column("expired_through", BigInteger, nullable=False, server_default="0"),
)

invites = Table(
    "invites", metadata,
    Column("code_hash", LargeBinary, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)

# Single-use server nonces: auth challenges (subject = device id) and approvals for
# adding or removing a device (subject = handle).
nonces = Table(
    "nonces", metadata,
    Column("nonce", LargeBinary, primary_key=True),
    Column("purpose", String(16), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("token_hash", LargeBinary, primary_key=True),
    Column("device_id", String(32), ForeignKey("devices.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

key_packages = Table(
    "key_packages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("device_id", String(32), ForeignKey("devices.id", ondelete="CASCADE"),
           nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("last_resort", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_key_packages_device_pool", "device_id", "last_resort", "id"),
)

# One row per accepted send: makes a retried send with the same client id a no-op.
sent_messages = Table(
    "sent_messages", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender_device_id", String(32), nullable=False),
    Column("client_msg_id", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
    UniqueConstraint("sender_device_id", "client_msg_id",
                     name="uq_sent_messages_sender_client_id"),
)

mailbox = Table(
    "mailbox", metadata,
    Column("device_id", String(32), ForeignKey("devices.id", ondelete="CASCADE"),
           primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("sender_device_id", String(32), nullable=True),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
)

# Groups (DESIGN.md: the server may know group ids and which devices receive a group's
# messages). ``state`` is the secret-free public view of the group (ratchet tree, group
# context, interim transcript hash) the delivery service checks handshake messages
# against; it holds public keys and credentials only, never a secret.
groups = Table(
    "groups", metadata,
    Column("group_id", LargeBinary, primary_key=True),
    Column("cipher_suite", Integer, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("state", LargeBinary, nullable=False),
    # The last per-group server sequence assigned: clients order by it, not by clocks.
    Column("next_seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Which device sits at which leaf: the fan-out list, and how a PrivateMessage's sending
# device is checked for membership without reading its encrypted sender data.
group_members = Table(
    "group_members", metadata,
    Column("group_id", LargeBinary, ForeignKey("groups.group_id", ondelete="CASCADE"),
           primary_key=True),
    Column("leaf_index", Integer, primary_key=True),
    Column("device_id", String(32), ForeignKey("devices.id", ondelete="CASCADE"),
           nullable=False, index=True),
)

# Accepted commits, kept so that a client whose commit lost the race for an epoch (or
# that was offline) can fetch what advanced the group and catch up.
group_commits = Table(
    "group_commits", metadata,
    Column("group_id", LargeBinary, ForeignKey("groups.group_id", ondelete="CASCADE"),
           primary_key=True),
    Column("epoch", BigInteger, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False, index=True),
)

# The key transparency log (letterlock.transparency): one row per leaf, in log order. Rows
# are never updated or deleted (a removed device gets a REMOVED entry), so there is no
# foreign key to devices. ``handle`` and ``nonce`` (the opening of the entry's handle
# commitment) are what the server discloses to a querier who names the handle; the log
# itself carries only the commitment. ``created_at`` is the entry's own timestamp, in
# milliseconds (the LogEntry's clock), not seconds like the other tables.
kt_entries = Table(
    "kt_entries", metadata,
    Column("log_index", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("handle", String(33), nullable=False, index=True),
    Column("device_id", String(32), nullable=False, index=True),
    Column("action", SmallInteger, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

# The log's signed tree heads, one per tree size that any node has served. Several nodes
# over one database must serve the same signed head for one size (two heads of one size
# with different timestamps are harmless, but one per size is simpler to reason about
# and to audit): the first node to store a size's head wins, every node serves that one.
# ``tree_head`` is the encoded SignedTreeHead; ``root_hash`` and ``timestamp`` (ms) are
# copied out of it so that a node can check a stored head against its own tree and
# order the heads' clocks without decoding them.
kt_tree_heads = Table(
    "kt_tree_heads", metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("tree_head", LargeBinary, nullable=False),
)
