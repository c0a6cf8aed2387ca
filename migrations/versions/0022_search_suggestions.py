"""Search that helps: the catalogue's vocabulary for "did you mean", and on PostgreSQL
the `pg_trgm` extension with two trigram indexes (docs/decisions/0024).

- table `search_word`: the words of the titles, vendor names, disciplines and levels of
  the products on sale, filled by the application (a version going on sale adds its
  words; the task `products.vocabulary` rebuilds it every night and once right after
  this revision, the scheduler catching up its current period);
- PostgreSQL: `CREATE EXTENSION IF NOT EXISTS pg_trgm` (a trusted extension: the
  database's owner may create it), a GIN trigram index on `search_word.word` (the words
  nearest a misspelt one) and one on `product_version.search_text` of listed versions
  (suggestions as one types match any part of a word). SQLite: the table only.

The downgrade leaves the extension, as 0005 leaves `unaccent`: dropping it would break
anything else that came to use it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_word',
    sa.Column('word', sa.String(length=60), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.PrimaryKeyConstraint('word', name=op.f('pk_search_word'))
    )
    if op.get_context().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.create_index('ix_search_word_trgm', 'search_word', ['word'], unique=False, postgresql_using='gin', postgresql_ops={'word': 'gin_trgm_ops'})
        op.create_index('ix_product_version_search_text_trgm', 'product_version', ['search_text'], unique=False, postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'}, postgresql_where=sa.text('listed'))


def downgrade():
    if op.get_context().dialect.name == 'postgresql':
        op.drop_index('ix_product_version_search_text_trgm', table_name='product_version', postgresql_where=sa.text('listed'))
        op.drop_index('ix_search_word_trgm', table_name='search_word')
    op.drop_table('search_word')
