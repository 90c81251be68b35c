"""Key transparency: the log's leaves, with the openings of their handle commitments.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kt_entries",
        sa.Column("log_index", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("handle", sa.String(33), nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.Column("action", sa.SmallInteger, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("log_index", name="pk_kt_entries"),
    )
    op.create_index("ix_kt_entries_handle", "kt_entries", ["handle"])
    op.create_index("ix_kt_entries_device_id", "kt_entries", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_kt_entries_device_id", table_name="kt_entries")
    op.drop_index("ix_kt_entries_handle", table_name="kt_entries")
    op.drop_table("kt_entries")
