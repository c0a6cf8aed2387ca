"""The storefront's search table, `product_search`.

One narrow row per listed version: its ids, vendor, label end date, creation time,
title, summary, logo, resource type, lowest price, the price of each kind of plan (NULL
when not offered), discipline and level codes (between spaces: " a b "), and on PostgreSQL the full-text vector.
Kept by the application (`app.products.services.refresh_product_search`, on every flush
that lists, withdraws or changes a version); filled here from the versions listed.
Indexes: GIN on the vector (PostgreSQL), newest first, by lowest price, by each kind's
price.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    postgres = op.get_context().dialect.name == 'postgresql'
    op.create_table('product_search',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('label_expires_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('logo_key', sa.String(length=100), nullable=True),
    sa.Column('resource_type', sa.String(length=40), nullable=False),
    sa.Column('price_from_cents', sa.BigInteger(), nullable=True),
    sa.Column('teacher_cents', sa.BigInteger(), nullable=True),
    sa.Column('class_cents', sa.BigInteger(), nullable=True),
    sa.Column('school_cents', sa.BigInteger(), nullable=True),
    sa.Column('disciplines', sa.String(length=1000), nullable=False),
    sa.Column('levels', sa.String(length=1000), nullable=False),
    sa.Column('search_vector', postgresql.TSVECTOR().with_variant(sa.Text(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendor.id'], name=op.f('fk_product_search_vendor_id_vendor')),
    sa.ForeignKeyConstraint(['version_id'], ['product_version.id'], name=op.f('fk_product_search_version_id_product_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', name=op.f('pk_product_search'))
    )
    with op.batch_alter_table('product_search', schema=None) as batch_op:
        batch_op.create_index('ix_product_search_created', ['created_at', 'version_id'], unique=False)
        batch_op.create_index('ix_product_search_price', ['price_from_cents', 'created_at', 'version_id'], unique=False)
        batch_op.create_index('ix_product_search_teacher', ['teacher_cents'], unique=False)
        batch_op.create_index('ix_product_search_class', ['class_cents'], unique=False)
        batch_op.create_index('ix_product_search_school', ['school_cents'], unique=False)
    if postgres:
        op.create_index('ix_product_search_vector', 'product_search', ['search_vector'], unique=False, postgresql_using='gin')

    codes = "string_agg(t.code, ' ')" if postgres else "group_concat(t.code, ' ')"
    op.execute(
        "INSERT INTO product_search (version_id, product_id, vendor_id, label_expires_on,"
        " created_at, title, summary, logo_key, resource_type, price_from_cents, teacher_cents,"
        " class_cents, school_cents, disciplines, levels, search_vector)"
        " SELECT pv.id, pv.product_id, p.vendor_id, pv.label_expires_on, pv.created_at,"
        " pv.title, pv.summary, pv.logo_key, pv.resource_type, pv.price_from_cents,"
        + "".join(
            f" (SELECT price_cents FROM plan WHERE version_id = pv.id AND kind = '{kind}'),"
            for kind in ('teacher', 'class', 'school')
        )
        + f" ' ' || coalesce((SELECT {codes} FROM product_version_discipline t WHERE t.version_id = pv.id), '') || ' ',"
        f" ' ' || coalesce((SELECT {codes} FROM product_version_level t WHERE t.version_id = pv.id), '') || ' ',"
        " pv.search_vector"
        " FROM product_version pv JOIN product p ON p.id = pv.product_id WHERE pv.listed"
    )


def downgrade():
    if op.get_context().dialect.name == 'postgresql':
        op.drop_index('ix_product_search_vector', table_name='product_search', postgresql_using='gin')
    with op.batch_alter_table('product_search', schema=None) as batch_op:
        batch_op.drop_index('ix_product_search_school')
        batch_op.drop_index('ix_product_search_class')
        batch_op.drop_index('ix_product_search_teacher')
        batch_op.drop_index('ix_product_search_price')
        batch_op.drop_index('ix_product_search_created')
    op.drop_table('product_search')
