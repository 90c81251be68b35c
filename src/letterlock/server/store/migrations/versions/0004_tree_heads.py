"""Key transparency: the signed tree heads, shared by every node of a cluster.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kt_tree_heads",
        sa.Column("tree_size", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("tree_head", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name="pk_kt_tree_heads"),
    )


def downgrade() -> None:
    op.drop_table("kt_tree_heads")
