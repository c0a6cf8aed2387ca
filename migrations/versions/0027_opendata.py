"""The generations of the open data, `opendata_generation`.

One row per published generation: when it was made, the storage keys of its files and
the number of rows of each dataset. The newest row is the one served.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('opendata_generation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('files', sa.JSON(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opendata_generation'))
    )


def downgrade():
    op.drop_table('opendata_generation')
