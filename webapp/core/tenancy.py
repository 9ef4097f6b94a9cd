"""Organization scoping, in this one place.

Every business row carries `org_id` through the `TenantScoped` mixin. The
current organization lives in a context variable, set once per request from
the user's membership (`activate`) or around a job or CLI command
(`tenant(org_id)`). While it is set, every ORM statement of the session gets
`org_id = current` on every scoped entity it touches (select, update, delete,
joins, subqueries, relationship loads) and new scoped rows are stamped on
flush. While it is not set, a statement touching a scoped table raises
`NoTenant` instead of returning every organization's rows.

On PostgreSQL the same organization is written into the transaction setting
`app.org_id`, which the row-level-security policies of every scoped table
check: a second wall for anything that slips past the ORM.
"""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from contextvars import ContextVar

import sqlalchemy as sa
from flask import abort
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, with_loader_criteria
from sqlalchemy.orm.attributes import PASSIVE_NO_INITIALIZE
from sqlalchemy.sql.util import find_tables

from webapp.extensions import db

_current_org: ContextVar[int | None] = ContextVar("smepulse_org_id", default=None)

#: Largest id a BIGINT primary key can hold; larger ids are simply not found.
MAX_ID = 2**63 - 1


class NoTenant(RuntimeError):
    """A scoped table was queried with no organization set."""


class TenantMismatch(RuntimeError):
    """A row of one organization was about to be written under another."""


class TenantScoped:
    """Mixin for every table that belongs to one organization.

    `org_id` gets its own index unless the table sets `__org_index__ = False`
    because a composite index or unique constraint already starts with it.
    """

    @declared_attr
    def org_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("organization.id", ondelete="RESTRICT"),
                             nullable=False, index=cls.__dict__.get("__org_index__", True))


def scoped_tables() -> frozenset[str]:
    """Names of the tables that belong to one organization (worked out once the models are all
    mapped: a statement with no organization set asks on every run)."""
    mappers = db.Model.registry.mappers
    cached = _scoped_tables.get(len(mappers))
    if cached is None:
        cached = frozenset(m.local_table.name for m in mappers if issubclass(m.class_, TenantScoped))
        _scoped_tables.clear()
        _scoped_tables[len(mappers)] = cached
    return cached


_scoped_tables: dict[int, frozenset[str]] = {}


def current_org_id() -> int:
    org_id = _current_org.get()
    if org_id is None:
        raise NoTenant("No organization is active.")
    return org_id


def current_org_id_or_none() -> int | None:
    return _current_org.get()


#: session.info key: (the root transaction, the `app.org_id` written in it). A statement is saved
#: when the setting already holds the organization (the sign-in look-up writes it, see
#: `auth.services.load_session`); any rollback forgets it, since a savepoint's rollback undoes a
#: setting written inside it.
_WRITTEN = "smepulse_rls_org"


def setting_written(session, value: str) -> None:
    """Remember that `app.org_id` holds `value` for the rest of this transaction."""
    session.info[_WRITTEN] = (session.get_transaction(), value)


def _setting_holds(session, value: str) -> bool:
    found = session.info.get(_WRITTEN)
    return found is not None and found[1] == value and found[0] is session.get_transaction()


def _sync_database_setting(org_id: int | None) -> None:
    """Tell PostgreSQL's row-level security which organization is active."""
    session = db.session()
    if session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        value = "" if org_id is None else str(org_id)
        if _setting_holds(session, value):
            return
        session.connection().exec_driver_sql("SELECT set_config('app.org_id', %s, true)", (value,))
        setting_written(session, value)


def activate(org_id: int | None):
    """Set the organization for the rest of this context; returns a reset token."""
    token = _current_org.set(org_id)
    _sync_database_setting(org_id)
    return token


def deactivate(token) -> None:
    _current_org.reset(token)
    try:
        _sync_database_setting(_current_org.get())
    except Exception:  # the session may already be gone at teardown
        pass


@contextmanager
def tenant(org_id: int):
    """Run a block (a job, a CLI command, a test) as one organization."""
    if org_id is None:
        raise NoTenant("tenant() needs an organization id.")
    token = activate(int(org_id))
    try:
        yield org_id
    finally:
        deactivate(token)


@contextmanager
def no_tenant():
    """Run a block with no organization (sign-up, login, cross-org admin)."""
    token = activate(None)
    try:
        yield
    finally:
        deactivate(token)


def get_or_404(model, ident, *, for_update: bool = False):
    """The row of the current organization with this id, or 404.

    Another organization's id is not found, never forbidden: its existence
    does not leak.
    """
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident <= MAX_ID:
        abort(404)
    stmt = sa.select(model).where(model.id == ident)
    if for_update:
        stmt = stmt.with_for_update(of=model)
    obj = db.session.scalars(stmt).first()
    if obj is None:
        abort(404)
    return obj


def _touches_scoped_table(statement) -> bool:
    names = scoped_tables()
    return any(getattr(t, "name", None) in names
               for t in find_tables(statement, include_crud=True, include_joins=True,
                                    include_aliases=True))


def _criteria(org_id: int):
    """The option that adds `org_id = <org>` to every scoped entity of a statement, made once per
    organization (making it analyses the lambda's code, on every ORM statement otherwise). Its
    cache key carries the organization as a bound value, so one compiled statement serves all."""
    option = _criteria_by_org.get(org_id)
    if option is None:
        if len(_criteria_by_org) > 10_000:
            _criteria_by_org.clear()
        option = _criteria_by_org[org_id] = with_loader_criteria(
            TenantScoped, lambda cls: cls.org_id == org_id, include_aliases=True)
    return option


_criteria_by_org: dict[int, object] = {}

_scoped_by_statement: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _scoped_once(statement, org_id: int, option):
    """`statement.options(option)` for a statement built once (`execution_options(built_once=True)`:
    a hot path's statement kept in a module), made once per organization and kept while the
    statement lives: SQLAlchemy finds a statement's compiled form by a key it works out from the
    whole statement, and keeps that key on the statement object, so a statement made anew for each
    execution is walked through again every time."""
    by_org = _scoped_by_statement.get(statement)
    if by_org is None:
        by_org = _scoped_by_statement[statement] = {}
    scoped = by_org.get(org_id)
    if scoped is None:
        if len(by_org) > 1_000:
            by_org.clear()
        scoped = by_org[org_id] = statement.options(option)
    return scoped


def install() -> None:
    """Register the session events once per process."""
    if getattr(install, "done", False):
        return
    install.done = True

    @event.listens_for(Session, "do_orm_execute")
    def _scope_statement(state):
        if not (state.is_select or state.is_update or state.is_delete):
            return
        if state.execution_options.get("all_tenants"):
            return
        org_id = _current_org.get()
        if org_id is None:
            if _touches_scoped_table(state.statement):
                raise NoTenant("A scoped table was queried with no organization set.")
            return
        option = _criteria(org_id)
        statement = state.statement
        # A lazy load, or the reload of an expired object, carries the options its object was
        # loaded with (this one among them): adding it again would make every such load a new
        # statement to compile, one option longer each time the object is reloaded.
        if any(o is option for o in statement._with_options):
            return
        if state.execution_options.get("built_once"):
            state.statement = _scoped_once(statement, org_id, option)
        else:
            state.statement = statement.options(option)

    @event.listens_for(Session, "before_flush")
    def _stamp_new_rows(session, flush_context, instances):
        org_id = _current_org.get()
        for obj in session.new:
            if not isinstance(obj, TenantScoped):
                continue
            if org_id is None:
                raise NoTenant(f"Cannot save a {type(obj).__name__} with no organization set.")
            if obj.org_id is None:
                obj.org_id = org_id
            elif obj.org_id != org_id:
                raise TenantMismatch(f"{type(obj).__name__} belongs to another organization.")
        for obj in session.dirty:
            if isinstance(obj, TenantScoped):
                history = sa.inspect(obj).get_history("org_id", PASSIVE_NO_INITIALIZE)
                if history.deleted and history.deleted[0] is not None:
                    raise TenantMismatch("A row cannot move to another organization.")
                if org_id is not None and obj.org_id != org_id:
                    raise TenantMismatch(f"{type(obj).__name__} belongs to another organization.")

    @event.listens_for(Session, "after_begin")
    def _begin_with_setting(session, transaction, connection):
        # The setting is transaction-local, so a new transaction starts without
        # one; only an active organization needs to be written. A savepoint
        # (`atomic()`) is inside a transaction that has it already.
        if transaction.nested or connection.dialect.name != "postgresql":
            return
        org_id = _current_org.get()
        if org_id is not None:
            connection.exec_driver_sql("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
        # A new transaction starts with no organization in the setting.
        setting_written(session, "" if org_id is None else str(org_id))

    @event.listens_for(Session, "after_soft_rollback")
    def _forget_setting(session, previous_transaction):
        session.info.pop(_WRITTEN, None)
