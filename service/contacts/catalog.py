"""The role catalog as requests read it: kept per process, for as long as its version is current.

Every request reads the catalog (the actor's permissions, the roster's required roles and holder
counts), and it changes rarely, so each process keeps the last one it read beside the version
it read it with (`role_catalog_version`). A request reads the version with something it reads
anyway (the actor's session, `service/accounts/service.py`) and loads the catalog only when the
version moved on.

Why this stays correct across processes:
- every flush that writes a `Role` sets a new random version in the same transaction (the
  `after_flush` hook below): a committed catalog and its version become visible together, and
  no two states of the catalog share a version, even after the table is emptied and refilled;
- the catalog and the version it is kept under are read by one statement (one snapshot);
- a session that wrote roles reads the catalog from the database until its transaction ends,
  and never stores what it read (it may roll back, as a dry run does).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import ScalarSelect, event, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, SessionTransaction, UOWTransaction

from service.contacts.models import Role, RoleCatalogVersion
from service.validators.types import RoleInfo

# One catalog in its display order (position, then code).
Catalog = tuple[RoleInfo, ...]

_WROTE_ROLES = "role_catalog_written"
_READ = "role_catalog"
_lock = threading.Lock()
_kept: tuple[str, Catalog] | None = None


def version_column() -> ScalarSelect[str]:
    """The catalog's current version, as a column to read beside something else."""
    return select(RoleCatalogVersion.version).where(RoleCatalogVersion.id == 1).scalar_subquery()


def current(*, session: Session, version: str | None = None) -> Catalog:
    """The catalog as this transaction sees it: the one this session already resolved, the one
    kept for `version` (read by the caller in this transaction), or one statement that reads it
    with its version."""
    read: Catalog | None = session.info.get(_READ)
    if read is not None:
        return read
    written = session.info.get(_WROTE_ROLES, False)
    kept = _kept
    if version is not None and not written and kept is not None and kept[0] == version:
        found = kept[1]
    else:
        found = _load(session, keep=not written)
    session.info[_READ] = found
    return found


def as_dict(catalog: Catalog) -> dict[str, RoleInfo]:
    return {role.code: role for role in catalog}


def _load(session: Session, *, keep: bool) -> Catalog:
    rows = session.execute(select(Role, version_column()).order_by(Role.position, Role.code)).all()
    found = tuple(info(role) for role, _ in rows)
    if keep and rows and rows[0][1] is not None:
        global _kept
        with _lock:
            _kept = (rows[0][1], found)
    return found


def info(role: Role) -> RoleInfo:
    """A role as a value: what the catalog keeps, the validators read and pages list."""
    return RoleInfo(
        code=role.code,
        name=role.name,
        audience=role.audience,
        required=role.required,
        incompatible_with=frozenset(role.incompatible_with or ()),
        permissions=role.grants,
    )


@event.listens_for(Session, "after_flush")
def _new_version_after_role_write(session: Session, flush_context: UOWTransaction) -> None:
    """A flush that wrote a role names a new version of the catalog, in the same transaction."""
    changed = (*session.new, *session.dirty, *session.deleted)
    if not any(isinstance(obj, Role) for obj in changed):
        return
    session.info[_WROTE_ROLES] = True
    session.info.pop(_READ, None)
    connection = session.connection()
    builder: Any = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = builder(RoleCatalogVersion).values(id=1, version=uuid.uuid4().hex)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["id"], set_={"version": statement.excluded.version}
        )
    )


@event.listens_for(Session, "after_transaction_end")
def _forget_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """What a transaction read or wrote says nothing about the next one (however it ended:
    commit, rollback or the session's close)."""
    if transaction.parent is None:
        session.info.pop(_WROTE_ROLES, None)
        session.info.pop(_READ, None)
