"""Reads of quotes, orders and invoices."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from webapp.core.tenancy import current_org_id
from webapp.extensions import db, on_postgres
from webapp.parties.models import Party
from webapp.parties.queries import ids_named, name_range
from webapp.payments.models import Allocation, Payment
from webapp.sales import search
from webapp.sales.models import (CANCELLED, DRAFT, INVOICE, PAID, PARTLY_PAID, POSTED, UNPAID, SalesDocument,
                                 SalesDocumentSearch)

PAGE = 50
_D = SalesDocument.__table__.c
SORTS = {
    "date": (_D.date.desc(), _D.id.desc()),
    "date_asc": (_D.date, _D.id),
    "number": (_D.number.desc(), _D.id.desc()),
    "total": (_D.grand_total.desc(), _D.id.desc()),
    "due": (_D.due_date, _D.id),
}
INVOICE_STATUSES = {"draft": "Draft", "unpaid": "Unpaid", "partly_paid": "Partly paid", "overdue": "Overdue",
                    "paid": "Paid", "cancelled": "Cancelled"}
ORDER_STATUSES = {"draft": "Draft", "confirmed": "Confirmed", "partly_invoiced": "Partly invoiced",
                  "invoiced": "Invoiced", "cancelled": "Cancelled"}


@dataclass
class DocFilter:
    doc_type: str = INVOICE
    status: str = ""
    customer_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "date"
    page: int = 1


def _status_clause(f: DocFilter, today, d=_D) -> list:
    """The filter of one status; `today` may be a bound parameter."""
    if f.doc_type != INVOICE:
        return [d.status == f.status] if f.status in ORDER_STATUSES else []
    if f.status not in INVOICE_STATUSES:
        return []
    not_due = lambda: sa.or_(d.due_date.is_(None), d.due_date >= today)  # noqa: E731
    return {
        "draft": lambda: [d.status == DRAFT],
        "unpaid": lambda: [d.status == POSTED, d.payment_status == UNPAID, not_due()],
        "partly_paid": lambda: [d.status == POSTED, d.payment_status == PARTLY_PAID, not_due()],
        "overdue": lambda: [d.status == POSTED, d.payment_status != PAID, d.due_date < today],
        "paid": lambda: [d.status == POSTED, d.payment_status == PAID],
        "cancelled": lambda: [d.status == CANCELLED],
    }[f.status]()


class ListRow:
    """One row of a list: what the list shows of a document, and no more.

    The list reads these instead of whole documents (with their customer, terms,
    JSON snapshot and tax breakdown); `badge` and `amount_due` are the
    document's own, so a row shows exactly what the document would."""

    __slots__ = ("id", "doc_type", "status", "number", "date", "due_date", "payment_status", "grand_total",
                 "amount_paid", "customer_name", "status_badge", "date_text", "due_text", "total_text",
                 "due_now_text")

    badge = SalesDocument.badge
    overdue_on = SalesDocument.overdue_on
    amount_due = SalesDocument.amount_due

    def __init__(self, row):
        (self.id, self.doc_type, self.status, self.number, self.date, self.due_date, self.payment_status,
         self.grand_total, self.amount_paid, self.customer_name) = row

    def show(self, code: str, day: date, format_date, format_amount) -> None:
        """What the list prints of the row, worked out in one go (a page has 50 rows: calling the
        template's filters cell by cell costs more than the formatting itself)."""
        self.status_badge = self.badge(day)
        self.date_text, self.due_text = format_date(self.date), format_date(self.due_date)
        self.total_text = format_amount(self.grand_total, code)
        self.due_now_text = format_amount(self.grand_total - self.amount_paid, code) if self.status == POSTED else ""


_P = Party.__table__.c
_LIST_COLUMNS = (_D.id, _D.doc_type, _D.status, _D.number, _D.date, _D.due_date, _D.payment_status, _D.grand_total,
                 _D.amount_paid, _P.name)


_statements: dict[tuple, sa.Select] = {}
_RUN = re.compile(r"[\x20-\x7e]+")


def _search_text(q: str) -> str:
    return q.strip()[:60].replace("%", "").replace("_", "")


def _search(q: str) -> tuple[str, dict]:
    """How a search is made, and its parameters: "" (none), "token" (the search rows, on PostgreSQL),
    "run" (ILIKE after a cheap LIKE on a piece without letters) or "ilike"."""
    if not q:
        return "", {}
    text = _search_text(q)
    if on_postgres() and search.usable(text):
        (prefix, upper), (name_prefix, name_upper) = search.bounds(text), name_range(text)
        if upper is not None and name_upper is not None:
            return "token", {"prefix": prefix, "upper": upper, "name_prefix": name_prefix, "name_upper": name_upper}
    params = {"like": "%" + text + "%"}
    run = _literal_run(text)
    if run is None:
        return "ilike", params
    return "run", dict(params, run="%" + run + "%")


def _literal_run(text: str) -> str | None:
    """The longest piece of the search text made of ASCII characters other than letters (digits,
    spaces, dashes, slashes…), or None.

    Such characters are their own lower case and nothing else lowers to them, so every value
    that matches `ILIKE '%text%'` contains this piece exactly: `LIKE '%piece%'` lets through a
    superset of the matches, and costs a fraction of ILIKE. Not used when the text has a
    backslash (LIKE's escape character), whose meaning would differ between the two patterns."""
    if "\\" in text:
        return None
    runs = _RUN.findall(text.translate(_LETTERS))
    return max(runs, key=len) if runs else None


#: ASCII letters become a character that ends a run (as any non-ASCII character does).
_LETTERS = str.maketrans({c: "\x00" for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"})


def _list_statement(f: DocFilter, mode: str) -> sa.Select:
    """The statement of a list of this shape (kind, status, which filters, sort), built once per
    process with its values as parameters: building and hashing a statement costs more than
    running it."""
    shape = (f.doc_type, f.status, bool(f.customer_id), bool(f.date_from), bool(f.date_to), mode,
             f.sort if f.sort in SORTS else "date")
    stmt = _statements.get(shape)
    if stmt is not None:
        return stmt
    org_id, d, p = sa.bindparam("org_id"), _D, _P
    # The page's ids first (by index, no other column read), then those 50 rows and their customers:
    # page 20 reads 1,000 index entries, not 1,000 rows and customers.
    stmt = sa.select(d.id).where(d.org_id == org_id, d.doc_type == f.doc_type,
                                 *_status_clause(f, sa.bindparam("today", type_=sa.Date)))
    if f.customer_id:
        stmt = stmt.where(d.customer_id == sa.bindparam("customer_id"))
    if f.date_from:
        stmt = stmt.where(d.date >= sa.bindparam("date_from", type_=sa.Date))
    if f.date_to:
        stmt = stmt.where(d.date <= sa.bindparam("date_to", type_=sa.Date))
    order = SORTS[shape[-1]]
    if shape[-2] == "token":
        # The documents whose number or reference holds the text (sales/search.py), and those of the
        # customers whose name does (party_search, migration 0017): both an index range under
        # row-level security. Each branch reads its documents' filter and sort columns once, and the
        # page is cut from their union — no document read twice.
        t = SalesDocumentSearch.__table__.c
        prefix, upper = sa.bindparam("prefix", type_=sa.String), sa.bindparam("upper", type_=sa.String)
        by_text = sa.select(t.document_id).where(t.org_id == org_id, t.token >= prefix, t.token < upper,
                                                 sa.func.starts_with(t.token, prefix))
        keys = [_sort_column(o) for o in order]
        branch = stmt.with_only_columns(*{c.name: c for c in (d.id, *(k for k, _ in keys))}.values())
        named = ids_named(org_id, sa.bindparam("name_prefix", type_=sa.String),
                          sa.bindparam("name_upper", type_=sa.String))
        u = sa.union(branch.where(d.id.in_(by_text)), branch.where(d.customer_id.in_(named))).subquery("found")
        stmt = sa.select(u.c.id)
        page_order = [u.c[k.name].desc() if desc else u.c[k.name] for k, desc in keys]
        ids = stmt.order_by(*page_order).offset(sa.bindparam("offset")).limit(sa.bindparam("limit")).subquery("page")
        return _with_rows(shape, ids, order, org_id)
    elif f.q:
        like = sa.bindparam("like", type_=sa.String)
        if shape[-2] == "run":
            # A cheap case-sensitive LIKE on a piece of the text that has no letters first (see
            # _literal_run); only the values it lets through are compared without case (ILIKE,
            # ~20 times slower per value). The same rows match.
            run = sa.bindparam("run", type_=sa.String)
            matches = lambda col: sa.and_(col.like(run), col.ilike(like))  # noqa: E731
        else:
            matches = lambda col: col.ilike(like)  # noqa: E731
        stmt = stmt.where(sa.or_(matches(d.number), matches(d.reference), d.customer_id.in_(
            sa.select(p.id).where(p.org_id == org_id, matches(p.name)))))
    ids = stmt.order_by(*order).offset(sa.bindparam("offset")).limit(sa.bindparam("limit")).subquery("page")
    return _with_rows(shape, ids, order, org_id)


def _sort_column(clause) -> tuple[sa.Column, bool]:
    """(column, descending) of one ORDER BY element of SORTS."""
    if isinstance(clause, UnaryExpression) and clause.modifier is operators.desc_op:
        return clause.element, True
    return clause, False


def _with_rows(shape: tuple, ids, order, org_id) -> sa.Select:
    """The page's rows and customers' names for the page's ids, remembered for this shape."""
    d, p = _D, _P
    docs = SalesDocument.__table__
    stmt = (sa.select(*_LIST_COLUMNS)
            .select_from(ids.join(docs, d.id == ids.c.id)
                         .outerjoin(Party.__table__, sa.and_(p.id == d.customer_id, p.org_id == org_id)))
            .where(d.org_id == org_id).order_by(*order))
    if len(_statements) < 5000:
        _statements[shape] = stmt
    return stmt


def documents(f: DocFilter, today: date) -> tuple[list[ListRow], bool]:
    """One page of a list (50 rows, and whether there is more).

    A hot read: a Core statement on the session's connection, built once per
    shape, so the tenant is named here (on both tables) instead of being added
    by the ORM, which costs more than the query itself; row-level security
    still applies on PostgreSQL."""
    page = max(1, min(f.page, 10_000))
    params = {"org_id": current_org_id(), "today": today, "customer_id": f.customer_id, "date_from": f.date_from,
              "date_to": f.date_to, "offset": (page - 1) * PAGE, "limit": PAGE + 1}
    mode, found = _search(f.q)
    params.update(found)
    stmt = _list_statement(f, mode)
    if mode == "token":
        rows = _with_generic_plan(stmt, params)
    else:
        rows = db.session.connection().execute(stmt, params).all()
    return [ListRow(r) for r in rows[:PAGE]], len(rows) > PAGE


def _with_generic_plan(stmt: sa.Select, params: dict) -> list[tuple]:
    """The rows of a search by token (PostgreSQL), planned once per connection.

    PostgreSQL plans a prepared statement for its parameters each time it runs (a custom plan)
    unless it estimates that one plan for any parameters (the generic plan) costs no more. For the
    search it never does (the width of a prefix range cannot be known ahead), so every search
    paid ~0.7 ms of planning for a ~0.5 ms query, while the generic plan is the same index ranges
    as any custom one. So the statement runs with `plan_cache_mode` forced to the generic plan,
    and the setting goes back to its default at once: the three statements travel together in
    one round trip (core.pipeline). Not for the other lists: without a search, a generic plan
    cannot know how few rows a status or a date range leaves, and is 40 times slower."""
    from webapp.core.pipeline import Pipeline
    pipe = Pipeline()
    pipe.add("SET LOCAL plan_cache_mode = force_generic_plan", returns=False)
    rows = pipe.add(stmt, params)     # built once per shape (_list_statement), compiled once
    pipe.add("SET LOCAL plan_cache_mode TO DEFAULT", returns=False)
    pipe.run()
    return rows.rows


def allocations_of(doc: SalesDocument) -> list[tuple[Allocation, Payment]]:
    return db.session.execute(sa.select(Allocation, Payment).join(Payment, Payment.id == Allocation.payment_id)
                              .where(Allocation.invoice_id == doc.id).order_by(Allocation.id)).all()


def derived_documents(doc: SalesDocument) -> list[SalesDocument]:
    return list(db.session.scalars(sa.select(SalesDocument).where(SalesDocument.source_id == doc.id)
                                   .order_by(SalesDocument.id).options(sa.orm.lazyload(SalesDocument.lines))))
