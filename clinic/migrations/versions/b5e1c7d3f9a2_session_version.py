"""session version

Revision ID: b5e1c7d3f9a2
Revises: f3a9d2c1b7e4
Create Date: 2026-12-05 22:16:40

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5e1c7d3f9a2"
down_revision = "f3a9d2c1b7e4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "session_version", sa.Integer(), server_default="0", nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
