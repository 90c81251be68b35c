"""Initial schema: accounts, devices, invites, nonces, tokens, KeyPackages, mailboxes.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("handle", sa.String(33), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("handle", name="uq_accounts_handle"),
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("signature_key", sa.LargeBinary, nullable=False),
        sa.Column("cipher_suite", sa.Integer, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("next_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("acked_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("expired_through", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name="fk_devices_account_id_accounts"),
        sa.UniqueConstraint("signature_key", name="uq_devices_signature_key"),
    )
    op.create_index("ix_devices_account_id", "devices", ["account_id"])
    op.create_table(
        "invites",
        sa.Column("code_hash", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name="pk_invites"),
    )
    op.create_table(
        "nonces",
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("nonce", name="pk_nonces"),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_tokens"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE",
                                name="fk_tokens_device_id_devices"),
    )
    op.create_index("ix_tokens_device_id", "tokens", ["device_id"])
    op.create_table(
        "key_packages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("last_resort", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_key_packages"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE",
                                name="fk_key_packages_device_id_devices"),
    )
    op.create_index("ix_key_packages_device_pool", "key_packages",
                    ["device_id", "last_resort", "id"])
    op.create_table(
        "sent_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_device_id", sa.String(32), nullable=False),
        sa.Column("client_msg_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sent_messages"),
        sa.UniqueConstraint("sender_device_id", "client_msg_id",
                            name="uq_sent_messages_sender_client_id"),
    )
    op.create_index("ix_sent_messages_created_at", "sent_messages", ["created_at"])
    op.create_table(
        "mailbox",
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("sender_device_id", sa.String(32), nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "seq", name="pk_mailbox"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE",
                                name="fk_mailbox_device_id_devices"),
    )
    op.create_index("ix_mailbox_created_at", "mailbox", ["created_at"])


def downgrade() -> None:
    for table in ("mailbox", "sent_messages", "key_packages", "tokens", "nonces", "invites",
                  "devices", "accounts"):
        op.drop_table(table)
