"""review tools: per-coach decisions, lead coach, finding assignee and settlement

Revision ID: b7e2c94a1d05
Revises: 4a13c0f1de13
Create Date: 2026-12-04 22:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b7e2c94a1d05"
down_revision = "4a13c0f1de13"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "finding_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("coach_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "confirmed",
                "dismissed",
                name="findingstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "dismiss_reason",
            sa.Enum(
                "not_about_race",
                "race_conscious",
                "clinically_justified",
                "duplicate",
                "other",
                name="dismissreason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_decisions_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["coach_id"],
            ["users.id"],
            name=op.f("fk_finding_decisions_coach_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_decisions")),
        sa.UniqueConstraint(
            "finding_id", "coach_id", name="uq_finding_decisions_coach"
        ),
    )
    with op.batch_alter_table("finding_decisions") as batch:
        batch.create_index(
            batch.f("ix_finding_decisions_finding_id"), ["finding_id"], unique=False
        )

    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("assigned_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("settled_by_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            batch.f("ix_findings_assigned_to_id"), ["assigned_to_id"], unique=False
        )
        batch.create_foreign_key(
            batch.f("fk_findings_assigned_to_id_users"),
            "users",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            batch.f("fk_findings_settled_by_id_users"),
            "users",
            ["settled_by_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("lead_coach_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_clinics_lead_coach_id_users"),
            "users",
            ["lead_coach_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("clinics") as batch:
        batch.drop_constraint(
            batch.f("fk_clinics_lead_coach_id_users"), type_="foreignkey"
        )
        batch.drop_column("lead_coach_id")
    with op.batch_alter_table("findings") as batch:
        batch.drop_constraint(
            batch.f("fk_findings_settled_by_id_users"), type_="foreignkey"
        )
        batch.drop_constraint(
            batch.f("fk_findings_assigned_to_id_users"), type_="foreignkey"
        )
        batch.drop_index(batch.f("ix_findings_assigned_to_id"))
        batch.drop_column("settled_at")
        batch.drop_column("settled_by_id")
        batch.drop_column("assigned_to_id")
    with op.batch_alter_table("finding_decisions") as batch:
        batch.drop_index(batch.f("ix_finding_decisions_finding_id"))
    op.drop_table("finding_decisions")
