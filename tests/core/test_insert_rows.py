"""`core.db.insert_rows`: the hot paths' INSERT. The objects it returns are as a query
would have loaded them (in the session, their values and defaults known, nothing left
for a flush to write), a conflicting row is skipped, and a row rolled back leaves no
stale object behind, even where the database gives its id again (SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import String, func, inspect, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from app.core.db import insert_rows
from app.ledger.models import EntryKind, JournalEntry
from tests.helpers import count_statements


def an_entry(key: str) -> dict[str, object]:
    return {"kind": EntryKind.FUND, "idempotency_key": key, "reference": "test"}


def test_the_objects_come_back_loaded_with_their_defaults_and_nothing_to_flush(
    session: Session,
) -> None:
    with count_statements() as sent:
        [entry] = insert_rows(session, JournalEntry, [an_entry("insert-rows:1")])
        session.flush()
        seen = (entry.id, entry.kind, entry.memo, entry.created_at, entry.reverses_id)

    assert len(sent) == 1, str(sent)  # the INSERT: no flush, no read back
    assert inspect(entry).persistent
    assert seen[1:3] == (EntryKind.FUND, "")  # the column's default, written and known
    assert seen[3] is not None
    assert seen[4] is None
    assert session.get(JournalEntry, entry.id) is entry
    stored = session.execute(
        select(JournalEntry.memo, JournalEntry.created_at).where(JournalEntry.id == entry.id)
    ).one()
    assert tuple(stored) == (entry.memo, entry.created_at)


def test_several_rows_come_back_in_their_order(session: Session) -> None:
    keys = [f"insert-rows:{n}" for n in (3, 1, 2)]

    written = insert_rows(session, JournalEntry, [an_entry(key) for key in keys])

    assert [entry.idempotency_key for entry in written] == keys
    assert [entry.id for entry in written] == sorted(entry.id for entry in written)


def test_a_row_whose_key_is_there_is_skipped(session: Session) -> None:
    [first] = insert_rows(session, JournalEntry, [an_entry("insert-rows:twice")])

    again = insert_rows(
        session,
        JournalEntry,
        [{**an_entry("insert-rows:twice"), "memo": "autre"}],
        skip_conflicts_on=("idempotency_key",),
    )

    assert again == []
    session.expire_all()
    assert session.scalars(select(JournalEntry.memo).where(JournalEntry.id == first.id)).one() == ""
    with pytest.raises(ValueError, match="one row"):
        insert_rows(
            session,
            JournalEntry,
            [an_entry("insert-rows:a"), an_entry("insert-rows:b")],
            skip_conflicts_on=("idempotency_key",),
        )


def test_a_row_rolled_back_leaves_no_object_in_the_way_of_the_next(session: Session) -> None:
    nested = session.begin_nested()
    [gone] = insert_rows(session, JournalEntry, [an_entry("insert-rows:gone")])
    nested.rollback()  # on SQLite, the next row takes the same id

    [kept] = insert_rows(session, JournalEntry, [an_entry("insert-rows:kept")])

    assert kept is not gone
    assert session.get(JournalEntry, kept.id) is kept
    assert kept.idempotency_key == "insert-rows:kept"


def test_nothing_to_write_writes_nothing(session: Session) -> None:
    with count_statements() as sent:
        assert insert_rows(session, JournalEntry, []) == []
    assert len(sent) == 0


class _Scratch(DeclarativeBase):
    pass


class Shout(_Scratch):
    """A table of this test only: a default the database computes from a SQL expression."""

    __tablename__ = "test_insert_rows_shout"
    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(20))
    loud: Mapped[str] = mapped_column(String(20), default=func.upper("oui"))
    note: Mapped[str | None] = mapped_column(String(20))


def test_a_default_the_database_computes_is_read_not_guessed(session: Session) -> None:
    _Scratch.metadata.create_all(session.connection())  # rolled back with the test

    [shout] = insert_rows(session, Shout, [{"word": "bonjour"}])

    with count_statements() as sent:
        assert shout.note is None  # no default: NULL, known without reading
    assert len(sent) == 0
    assert shout.loud == "OUI"  # read from the row
