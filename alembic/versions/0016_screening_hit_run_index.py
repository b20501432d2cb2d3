"""An index on ``screening_hit.run``.

After a screening run, the matcher's index reloads only the physicians the run found hits on
(``roster.matching.repository.physicians_hit_by``), which reads the hits by run: without an index that was
a scan of every hit ever recorded, once per run on every replica (issue 18).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 21:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("screening_hit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_screening_hit_run"), ["run"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("screening_hit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_hit_run"))
