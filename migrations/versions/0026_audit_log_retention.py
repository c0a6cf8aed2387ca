"""The audit log's retention: ten years, then the nightly purge removes it.

The log stays append-only in the database: its trigger still refuses every UPDATE, and
now refuses a DELETE only of an event younger than 3,650 days
(`app.core.retention.ACCOUNTING_YEARS` × 365, the period `retention.purge` applies).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-06
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

KEPT_DAYS = 3650


def upgrade():
    if op.get_context().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION refuse_audit_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'DELETE' AND OLD.created_at < now() - interval '{KEPT_DAYS} days' "
            "THEN RETURN OLD; END IF; "
            "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; "
            "END $$"
        )
        op.execute('DROP TRIGGER audit_event_append_only ON audit_event')
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit_change()"
        )
    else:
        op.execute('DROP TRIGGER audit_event_append_only_delete')
        op.execute(
            "CREATE TRIGGER audit_event_append_only_delete BEFORE DELETE ON audit_event "
            f"WHEN OLD.created_at >= datetime('now', '-{KEPT_DAYS} days') "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


def downgrade():
    if op.get_context().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER audit_event_append_only ON audit_event')
        op.execute('DROP FUNCTION refuse_audit_change()')
        op.execute(
            "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
            "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
        )
    else:
        op.execute('DROP TRIGGER audit_event_append_only_delete')
        op.execute(
            "CREATE TRIGGER audit_event_append_only_delete BEFORE DELETE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )
