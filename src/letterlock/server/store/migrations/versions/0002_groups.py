"""Groups: the public group state, member devices by leaf, and accepted commits.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("group_id", sa.LargeBinary, nullable=False),
        sa.Column("cipher_suite", sa.Integer, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.Column("next_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_groups"),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.LargeBinary, nullable=False),
        sa.Column("leaf_index", sa.Integer, nullable=False),
        sa.Column("device_id", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "leaf_index", name="pk_group_members"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.group_id"], ondelete="CASCADE",
                                name="fk_group_members_group_id_groups"),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE",
                                name="fk_group_members_device_id_devices"),
    )
    op.create_index("ix_group_members_device_id", "group_members", ["device_id"])
    op.create_table(
        "group_commits",
        sa.Column("group_id", sa.LargeBinary, nullable=False),
        sa.Column("epoch", sa.BigInteger, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("message", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "epoch", name="pk_group_commits"),
        sa.ForeignKeyConstraint(["group_id"], ["groups.group_id"], ondelete="CASCADE",
                                name="fk_group_commits_group_id_groups"),
    )
    op.create_index("ix_group_commits_created_at", "group_commits", ["created_at"])


def downgrade() -> None:
    op.drop_table("group_commits")
    op.drop_index("ix_group_members_device_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
