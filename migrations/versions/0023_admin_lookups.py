"""The operator's look-ups at national scale: the audit log viewer and the user search.

The audit log is read newest first, filtered by object, by actor or by a date range: each
filter has an index that ends with (created_at, id), so a page reads 50 rows, not the
whole log. They replace the two indexes of 0001 that they extend.

On PostgreSQL, the user search (name or address, any case, accents ignored, any part of
a word) goes through `user_search_key(name, email)`, an immutable function of the two
(accents removed by `unaccent`, lower case), and a trigram index over it (`pg_trgm`), so
that "%dupont%" does not read 870,000 rows. SQLite computes the same key in Python
(app/accounts/services.py registers it).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_actor_id')
        batch_op.drop_index('ix_audit_event_object')
        batch_op.create_index('ix_audit_event_created_at', ['created_at', 'id'], unique=False)
        batch_op.create_index(
            'ix_audit_event_actor', ['actor_id', 'created_at', 'id'], unique=False
        )
        batch_op.create_index(
            'ix_audit_event_object',
            ['object_type', 'object_id', 'created_at', 'id'],
            unique=False,
        )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index('ix_user_name', ['name', 'id'], unique=False)

    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            """
            CREATE FUNCTION user_search_key(name text, email text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT public.unaccent('public.unaccent'::regdictionary,
                                       lower(name || ' ' || email))
            $$
            """
        )
        op.execute(
            """
            CREATE FUNCTION search_fold(value text) RETURNS text
            LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
                SELECT public.unaccent('public.unaccent'::regdictionary, lower(value))
            $$
            """
        )
        op.execute(
            'CREATE INDEX ix_user_search ON "user"'
            " USING gin (user_search_key(name, email) gin_trgm_ops)"
        )


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_user_search")
        op.execute("DROP FUNCTION search_fold(text)")
        op.execute("DROP FUNCTION user_search_key(text, text)")
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_name')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_object')
        batch_op.drop_index('ix_audit_event_actor')
        batch_op.drop_index('ix_audit_event_created_at')
        batch_op.create_index('ix_audit_event_object', ['object_type', 'object_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor_id'), ['actor_id'], unique=False)
