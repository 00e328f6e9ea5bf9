"""finding confidence and secondary labels

Revision ID: 4a13c0f1de13
Revises: 2d06247ebae8
Create Date: 2026-12-04 17:50:00

"""

import sqlalchemy as sa
from alembic import op

revision = "4a13c0f1de13"
down_revision = "2d06247ebae8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("findings") as batch:
        batch.add_column(
            sa.Column(
                "confidence",
                sa.String(length=8),
                nullable=False,
                server_default="likely",
            )
        )
        batch.add_column(sa.Column("secondary", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("findings") as batch:
        batch.drop_column("secondary")
        batch.drop_column("confidence")
