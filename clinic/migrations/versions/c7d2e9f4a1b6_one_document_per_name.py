"""one document per file name in a clinic

Revision ID: c7d2e9f4a1b6
Revises: b5e1c7d3f9a2
Create Date: 2026-12-05 22:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c7d2e9f4a1b6"
down_revision = "b5e1c7d3f9a2"
branch_labels = None
depends_on = None


def _backfill() -> None:
    """Each clinic document gets the key of its first version's file name; where
    parallel uploads made twins, only the oldest gets it (the others keep working as
    separate documents, matched by name no more)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT d.id, d.clinic_id, v.filename FROM documents d "
            "JOIN document_versions v ON v.document_id = d.id AND v.number = ("
            "SELECT MIN(number) FROM document_versions WHERE document_id = d.id) "
            "WHERE d.clinic_id IS NOT NULL ORDER BY d.id"
        )
    ).fetchall()
    seen: set[tuple[int, str]] = set()
    for document_id, clinic_id, filename in rows:
        key = filename.strip().casefold()[:255]
        if (clinic_id, key) in seen:
            continue
        seen.add((clinic_id, key))
        bind.execute(
            sa.text("UPDATE documents SET name_key = :key WHERE id = :id"),
            {"key": key, "id": document_id},
        )


def upgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=255), nullable=True))
    _backfill()
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_documents_clinic_name", ["clinic_id", "name_key"]
        )


def downgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint("uq_documents_clinic_name", type_="unique")
        batch_op.drop_column("name_key")
