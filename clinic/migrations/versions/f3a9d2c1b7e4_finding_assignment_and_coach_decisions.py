"""finding assignment and coach decisions

Revision ID: f3a9d2c1b7e4
Revises: e7b2c4d9a1f3
Create Date: 2026-12-05 21:06:23

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f3a9d2c1b7e4"
down_revision = "e7b2c4d9a1f3"
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
            ["coach_id"],
            ["users.id"],
            name=op.f("fk_finding_decisions_coach_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["findings.id"],
            name=op.f("fk_finding_decisions_finding_id_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_decisions")),
        sa.UniqueConstraint(
            "finding_id", "coach_id", name="uq_finding_decisions_coach"
        ),
    )
    with op.batch_alter_table("finding_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_finding_decisions_finding_id"), ["finding_id"], unique=False
        )

    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lead_coach_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_clinics_lead_coach_id_users"),
            "users",
            ["lead_coach_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("settled_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("settled_status", sa.String(16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_findings_assignee_id"), ["assignee_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_findings_settled_by_id_users"),
            "users",
            ["settled_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_findings_assignee_id_users"),
            "users",
            ["assignee_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_findings_assignee_id_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_findings_settled_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_findings_assignee_id"))
        batch_op.drop_column("settled_status")
        batch_op.drop_column("settled_at")
        batch_op.drop_column("settled_by_id")
        batch_op.drop_column("assignee_id")

    with op.batch_alter_table("clinics", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_clinics_lead_coach_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("lead_coach_id")

    with op.batch_alter_table("finding_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_finding_decisions_finding_id"))

    op.drop_table("finding_decisions")
