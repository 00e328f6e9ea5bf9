"""workflow guards: coaches' internal notes, who agreed the action plan

Revision ID: c5d1a8e3f702
Revises: 4a13c0f1de13
Create Date: 2026-12-04 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "c5d1a8e3f702"
down_revision = "4a13c0f1de13"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "internal_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_internal_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_internal_notes_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_internal_notes_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_internal_notes")),
    )
    with op.batch_alter_table("internal_notes") as batch:
        batch.create_index(
            batch.f("ix_internal_notes_clinic_id"), ["clinic_id"], unique=False
        )
        batch.create_index(
            batch.f("ix_internal_notes_finding_id"), ["finding_id"], unique=False
        )
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("plan_agreed_by_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("plan_agreed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column(
                "plan_agreed_on_behalf",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
        batch.create_foreign_key(
            batch.f("fk_clinics_plan_agreed_by_id_users"),
            "users",
            ["plan_agreed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("clinics") as batch:
        batch.drop_constraint(
            batch.f("fk_clinics_plan_agreed_by_id_users"), type_="foreignkey"
        )
        batch.drop_column("plan_agreed_on_behalf")
        batch.drop_column("plan_agreed_at")
        batch.drop_column("plan_agreed_by_id")
    with op.batch_alter_table("internal_notes") as batch:
        batch.drop_index(batch.f("ix_internal_notes_finding_id"))
        batch.drop_index(batch.f("ix_internal_notes_clinic_id"))
    op.drop_table("internal_notes")
