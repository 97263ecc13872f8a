"""The per-organization ticket counts by status, kept in step with every status change."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.tickets.models import Ticket, TicketStatusCount


def bump(*, session: Session, organization_id: int, kind: str, status: str, by: int) -> None:
    """Add `by` (1 or -1) to one counter, creating it at zero first: one upsert statement."""
    _add(session=session, organization_id=organization_id, kind=kind, changes={status: by})


def move(
    *, session: Session, organization_id: int, kind: str, from_status: str, to_status: str
) -> None:
    """One ticket left `from_status` for `to_status`: both counters in one upsert statement."""
    _add(
        session=session,
        organization_id=organization_id,
        kind=kind,
        changes={from_status: -1, to_status: 1},
    )


def _add(*, session: Session, organization_id: int, kind: str, changes: dict[str, int]) -> None:
    # Rows in one order (by status) in every transaction, so that two transactions moving
    # tickets of one organization lock the counters in the same order and cannot deadlock.
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = builder(TicketStatusCount).values(
        [
            {"organization_id": organization_id, "kind": kind, "status": status, "n": by}
            for status, by in sorted(changes.items())
        ]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "kind", "status"],
            set_={"n": TicketStatusCount.n + statement.excluded.n},
        )
    )


def rebuild(*, session: Session) -> None:
    """Recount every ticket (after a bulk load that bypassed the workflow)."""
    session.execute(delete(TicketStatusCount))
    session.execute(
        insert(TicketStatusCount).from_select(
            ["organization_id", "kind", "status", "n"],
            select(Ticket.organization_id, Ticket.kind, Ticket.status, func.count()).group_by(
                Ticket.organization_id, Ticket.kind, Ticket.status
            ),
        )
    )
