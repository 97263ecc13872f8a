"""The per-organization ticket counts by status, kept in step with every status change."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.tickets.models import Ticket, TicketStatusCount


def bump(*, session: Session, organization_id: int, kind: str, status: str, by: int) -> None:
    """Add `by` (1 or -1) to one counter, creating it at zero first: one upsert statement."""
    dialect = session.get_bind().dialect.name
    builder = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = builder(TicketStatusCount).values(
        organization_id=organization_id, kind=kind, status=status, n=by
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "kind", "status"],
            set_={"n": TicketStatusCount.n + by},
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
