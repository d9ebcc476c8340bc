"""run levels

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

run = sa.table(
    "run", sa.column("id", sa.String), sa.column("summary", sa.JSON), sa.column("levels", sa.JSON)
)


def upgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("levels", sa.JSON(), nullable=True))
    # Runs graded before this revision: their levels from the summaries they already hold.
    connection = op.get_bind()
    rows = connection.execute(sa.select(run.c.id, run.c.summary).where(run.c.summary.is_not(None)))
    for run_id, summary in rows.all():
        signals = [s for s in (summary or {}).get("signals") or [] if isinstance(s, dict)]
        if signals:
            levels = {s["name"]: s.get("level") for s in signals}
            connection.execute(sa.update(run).where(run.c.id == run_id).values(levels=levels))


def downgrade() -> None:
    with op.batch_alter_table("run", schema=None) as batch_op:
        batch_op.drop_column("levels")
