"""Reads of payments: lists, a party's open documents, party ledgers, aged balances, overdue invoices."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from webapp.core.clock import today
from webapp.core.money import ZERO
from webapp.core.tenancy import current_org_id
from webapp.extensions import db, on_postgres
from webapp.ledger.models import Account, JournalEntry, JournalLine
from webapp.parties.models import Party
from webapp.payments import aging
from webapp.payments.models import IN, POSTED, Allocation, Payment
from webapp.payments.services import OpenItem, document_model
from webapp.purchases.models import BILL, PurchaseDocument
from webapp.sales.models import INVOICE, PAID, SalesDocument

PAGE = 50


def _party_col(model):
    return model.customer_id if model is SalesDocument else model.supplier_id


def _of_kind(kind: str):
    """The documents ("customer": invoices, "supplier": bills) and the payments' direction of a kind."""
    return (SalesDocument, IN) if kind == "customer" else (PurchaseDocument, "out")


def _doc_type(model):
    return INVOICE if model is SalesDocument else BILL


def _const(value: str):
    """A constant written into the SQL, not sent as a parameter, so that PostgreSQL can match the
    predicate of a partial index (ix_sales_document_open, ix_purchase_document_open) to it."""
    return sa.literal(value, literal_execute=True)


def _open(model) -> list:
    """The document is posted and not fully paid: the predicate of the model's `_open` index."""
    return [model.doc_type == _const(_doc_type(model)), model.status == _const(POSTED),
            model.payment_status != _const(PAID)]


# ---------------------------------------------------------------- lists

@dataclass
class PaymentFilter:
    direction: str = IN
    q: str = ""
    date_from: date | None = None
    date_to: date | None = None
    credit_only: bool = False
    page: int = 1


def payments(f: PaymentFilter) -> tuple[list[Payment], bool]:
    stmt = sa.select(Payment).where(Payment.direction == f.direction)
    if f.q:
        like = "%" + f.q.strip()[:60].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Payment.number.ilike(like, escape="\\"), Payment.reference.ilike(like, escape="\\"),
                                 Payment.party_id.in_(sa.select(Party.id).where(Party.name.ilike(like, escape="\\")))))
    if f.date_from:
        stmt = stmt.where(Payment.date >= f.date_from)
    if f.date_to:
        stmt = stmt.where(Payment.date <= f.date_to)
    if f.credit_only:
        stmt = stmt.where(Payment.status == POSTED, Payment.refund_of_id.is_(None),
                          Payment.allocated_amount + Payment.refunded_amount < Payment.amount)
    page = max(1, min(f.page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(Payment.date.desc(), Payment.id.desc())
                                   .offset((page - 1) * PAGE).limit(PAGE + 1)))
    return rows[:PAGE], len(rows) > PAGE


def allocations_of(payment: Payment) -> list[tuple[Allocation, object]]:
    """The payment's allocations with the invoice or bill each settles (undone ones too)."""
    model = document_model(payment.direction)
    col = Allocation.invoice_id if model is SalesDocument else Allocation.bill_id
    return list(db.session.execute(sa.select(Allocation, model).join(model, model.id == col)
                                   .where(Allocation.payment_id == payment.id).order_by(Allocation.id)).all())


def refunds_of(payment: Payment) -> list[Payment]:
    return list(db.session.scalars(sa.select(Payment).where(Payment.refund_of_id == payment.id).order_by(Payment.id)))


def credits(party: Party, direction: str) -> list[Payment]:
    """The party's payments with something left to allocate (their credit with us, or ours with them)."""
    return list(db.session.scalars(sa.select(Payment).where(
        Payment.party_id == party.id, Payment.direction == direction, Payment.status == POSTED,
        Payment.refund_of_id.is_(None), Payment.allocated_amount + Payment.refunded_amount < Payment.amount)
        .order_by(Payment.date, Payment.id)))


def open_items(party: Party, direction: str) -> list[OpenItem]:
    """The party's posted, not fully paid invoices (money in) or bills (money out), as plain rows."""
    model = document_model(direction)
    rows = db.session.execute(
        sa.select(model.id, model.number, model.date, model.due_date, model.grand_total, model.amount_paid)
        .where(_party_col(model) == party.id, *_open(model))
        .order_by(model.date, model.id)).all()
    return [OpenItem(i, n, d, due, total, total - paid) for i, n, d, due, total, paid in rows]


def documents_by_id(direction: str, ids) -> dict[int, object]:
    model = document_model(direction)
    ids = list(ids)
    if not ids:
        return {}
    return {d.id: d for d in db.session.scalars(sa.select(model).where(model.id.in_(ids)))}


def account_balances(account_ids: list[int], as_of: date) -> dict[int, Decimal]:
    """Debit − credit of each account at the end of a day (from the day balances)."""
    from webapp.ledger.models import AccountDayBalance
    t = AccountDayBalance
    rows = db.session.execute(sa.select(t.account_id, sa.func.sum(t.debit), sa.func.sum(t.credit))
                              .where(t.account_id.in_(account_ids), t.date <= as_of).group_by(t.account_id)).all()
    out = {a: ZERO for a in account_ids}
    for a, d, c in rows:
        out[a] = Decimal(d or 0) - Decimal(c or 0)
    return out


def accounts_with_entries(account_ids: list[int]) -> set[int]:
    return set(db.session.scalars(sa.select(JournalLine.account_id).where(JournalLine.account_id.in_(account_ids))
                                  .distinct()))


# ---------------------------------------------------------------- party ledger

@dataclass
class LedgerRow:
    date: date
    entry: JournalEntry
    debit: Decimal
    credit: Decimal
    balance: Decimal
    allocations: list = field(default_factory=list)


@dataclass
class PartyLedger:
    party: Party
    role: str
    date_from: date
    date_to: date
    opening: Decimal
    rows: list[LedgerRow]
    closing: Decimal
    debit: Decimal = ZERO
    credit: Decimal = ZERO


def party_ledger(party: Party, role: str, date_from: date, date_to: date) -> PartyLedger:
    """Every invoice, bill, payment, refund and cancellation on the party's account, with a running
    balance (what they owe us for receivables; what we owe them for payables)."""
    account_id = db.session.scalars(sa.select(Account.id).where(Account.role == role)).one()
    sign = 1 if role == "receivables" else -1
    base = sa.select(sa.func.coalesce(sa.func.sum(JournalLine.debit), 0),
                     sa.func.coalesce(sa.func.sum(JournalLine.credit), 0)).where(
        JournalLine.account_id == account_id, JournalLine.party_id == party.id, JournalLine.date < date_from)
    d, c = db.session.execute(base).one()
    opening = sign * (Decimal(d) - Decimal(c))
    lines = db.session.execute(
        sa.select(JournalLine, JournalEntry).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.account_id == account_id, JournalLine.party_id == party.id,
               JournalLine.date >= date_from, JournalLine.date <= date_to)
        .order_by(JournalLine.date, JournalLine.entry_id, JournalLine.id)).all()
    rows, balance, td, tc = [], opening, ZERO, ZERO
    payment_ids = [e.source_id for _, e in lines if e.source_type == "payment" and e.source_id]
    allocs: dict[int, list] = {}
    if payment_ids:
        direction_model = SalesDocument if role == "receivables" else PurchaseDocument
        col = Allocation.invoice_id if direction_model is SalesDocument else Allocation.bill_id
        for a, number in db.session.execute(
                sa.select(Allocation, direction_model.number).join(direction_model, direction_model.id == col)
                .where(Allocation.payment_id.in_(payment_ids), Allocation.unallocated_at.is_(None))
                .order_by(Allocation.id)):
            allocs.setdefault(a.payment_id, []).append((a, number))
    for line, entry in lines:
        balance += sign * (line.debit - line.credit)
        td, tc = td + line.debit, tc + line.credit
        rows.append(LedgerRow(line.date, entry, line.debit, line.credit, balance,
                              allocs.get(entry.source_id, []) if entry.source_type == "payment" else []))
    return PartyLedger(party, role, date_from, date_to, opening, rows, balance, td, tc)


# ---------------------------------------------------------------- aged balances

BUCKETS = ("current", "d1_30", "d31_60", "d61_90", "over_90")
BUCKET_LABELS = {"current": "Not yet due", "d1_30": "1–30 days", "d31_60": "31–60 days", "d61_90": "61–90 days",
                 "over_90": "Over 90 days"}


@dataclass
class AgedRow:
    party_id: int
    name: str
    code: str | None = None
    current: Decimal = ZERO
    d1_30: Decimal = ZERO
    d31_60: Decimal = ZERO
    d61_90: Decimal = ZERO
    over_90: Decimal = ZERO
    credit: Decimal = ZERO   # unallocated payments, as a negative amount

    @property
    def total(self) -> Decimal:
        return self.current + self.d1_30 + self.d31_60 + self.d61_90 + self.over_90 + self.credit

    def __getitem__(self, bucket: str) -> Decimal:
        """`row[bucket]`, as the report's template reads a bucket by name (Jinja tries an item
        first: without this each of a page's ~1,500 cells raised and caught a TypeError)."""
        return getattr(self, bucket)


@dataclass
class Aged:
    kind: str
    as_of: date
    rows: list[AgedRow]      # all of them, or one page
    totals: AgedRow          # of all of them
    count: int = 0           # how many parties in all
    page: int = 1
    pages: int = 1


def _outstanding_as_of(model, as_of: date):
    """(document id, party id, due date, outstanding at the end of `as_of`) for documents open that day.

    Today and later, the stored amount paid is the answer. For a past day: the total less the allocations
    dated on or before it and not undone by then; a document cancelled after it still counted."""
    if as_of >= today():
        return _outstanding_stored(model, as_of)
    party = _party_col(model)
    due = sa.func.coalesce(model.due_date, model.date)
    col = Allocation.invoice_id if model is SalesDocument else Allocation.bill_id
    paid = (sa.select(col.label("doc_id"), sa.func.sum(Allocation.amount).label("paid"))
            .where(col.is_not(None), Allocation.date <= as_of,
                   sa.or_(Allocation.unallocated_on.is_(None), Allocation.unallocated_on > as_of))
            .group_by(col).subquery())
    cancel = aliased(JournalEntry)
    return (sa.select(model.id.label("doc_id"), party.label("party_id"), due.label("due"),
                      (model.grand_total - sa.func.coalesce(paid.c.paid, 0)).label("outstanding"))
            .outerjoin(paid, paid.c.doc_id == model.id)
            .outerjoin(cancel, cancel.id == model.cancel_entry_id)
            .where(model.org_id == current_org_id(), model.doc_type == _doc_type(model), model.date <= as_of,
                   sa.or_(model.status == POSTED, sa.and_(model.status == "cancelled", cancel.date > as_of)),
                   model.grand_total - sa.func.coalesce(paid.c.paid, 0) != 0))


def _outstanding_stored(model, as_of: date):
    """`_outstanding_as_of` from the stored amounts paid: right for today and later days (the rule
    the triggers of payments/aging.py follow too)."""
    return (sa.select(model.id.label("doc_id"), _party_col(model).label("party_id"),
                      sa.func.coalesce(model.due_date, model.date).label("due"),
                      (model.grand_total - model.amount_paid).label("outstanding"))
            .where(model.org_id == current_org_id(), *_open(model), model.date <= as_of))


def bucket_sums_stored(kind: str, as_of: date):
    """Per party, the outstanding per age bucket from the stored amounts (payments.aging.refresh)."""
    return _bucket_sums(_outstanding_stored(_of_kind(kind)[0], as_of), as_of)


def _bucket_sums(open_docs, as_of: date):
    """Per party, outstanding per age bucket (days past the due date at the end of `as_of`)."""
    o = open_docs.subquery()
    d30, d60, d90 = as_of - timedelta(days=30), as_of - timedelta(days=60), as_of - timedelta(days=90)

    def bucket(cond):
        # FILTER rather than a CASE inside the sum: PostgreSQL adds only the rows of the bucket
        # (about a third faster over 100,000 open invoices).
        return sa.func.coalesce(sa.func.sum(o.c.outstanding).filter(cond), 0)
    return sa.select(o.c.party_id, bucket(o.c.due >= as_of).label("current"),
                     bucket(sa.and_(o.c.due < as_of, o.c.due >= d30)).label("d1_30"),
                     bucket(sa.and_(o.c.due < d30, o.c.due >= d60)).label("d31_60"),
                     bucket(sa.and_(o.c.due < d60, o.c.due >= d90)).label("d61_90"),
                     bucket(o.c.due < d90).label("over_90")).group_by(o.c.party_id)


def _credits_as_of(direction: str, as_of: date):
    """Per party, payments not allocated (nor refunded) at the end of `as_of`, as a positive amount."""
    if as_of >= today():
        # Written as the predicate of ix_payment_credit, which holds only payments with credit left.
        return (sa.select(Payment.party_id, sa.func.sum(Payment.amount - Payment.allocated_amount
                                                        - Payment.refunded_amount).label("credit_left"))
                .where(Payment.org_id == current_org_id(), Payment.direction == _const(direction),
                       Payment.status == _const(POSTED),
                       Payment.refund_of_id.is_(None),
                       Payment.allocated_amount + Payment.refunded_amount < Payment.amount, Payment.date <= as_of)
                .group_by(Payment.party_id))
    alloc = (sa.select(Allocation.payment_id, sa.func.sum(Allocation.amount).label("used"))
             .where(Allocation.date <= as_of,
                    sa.or_(Allocation.unallocated_on.is_(None), Allocation.unallocated_on > as_of))
             .group_by(Allocation.payment_id).subquery())
    refund, refund_cancel = aliased(Payment), aliased(JournalEntry)
    refunded = (sa.select(refund.refund_of_id.label("payment_id"), sa.func.sum(refund.amount).label("back"))
                .outerjoin(refund_cancel, refund_cancel.reversal_of_id == refund.entry_id)
                .where(refund.refund_of_id.is_not(None), refund.date <= as_of,
                       sa.or_(refund_cancel.id.is_(None), refund_cancel.date > as_of))
                .group_by(refund.refund_of_id).subquery())
    left = Payment.amount - sa.func.coalesce(alloc.c.used, 0) - sa.func.coalesce(refunded.c.back, 0)
    return (sa.select(Payment.party_id, sa.func.sum(left).label("credit_left"))
            .outerjoin(alloc, alloc.c.payment_id == Payment.id).outerjoin(refunded, refunded.c.payment_id == Payment.id)
            .outerjoin(JournalEntry, JournalEntry.reversal_of_id == Payment.entry_id)
            .where(Payment.org_id == current_org_id(), Payment.direction == direction,
                   Payment.refund_of_id.is_(None), Payment.date <= as_of,
                   sa.or_(JournalEntry.id.is_(None), JournalEntry.date > as_of), left != 0)
            .group_by(Payment.party_id))


def sums_added_up(kind: str, as_of: date, *, direct: bool = False):
    """Per party: the outstanding per age bucket and the unallocated credit at the end of `as_of`,
    adding up the documents and payments (payments.aging keeps them). On PostgreSQL a past day
    starts from what is stored now (`_past_sums_pg`); `direct` (and SQLite): every document and
    allocation of then, the rule itself, which the tests hold the other to."""
    model, direction = _of_kind(kind)
    if not direct and as_of < today() and on_postgres():
        return _past_sums_pg(kind, as_of)
    return _with_credits(_bucket_sums(_outstanding_as_of(model, as_of), as_of), direction, as_of)


# A past day from what is stored now, plus what changed since: the same sums as adding up every
# document and allocation of then (`_outstanding_as_of`, `_credits_as_of`), because
#   outstanding then = outstanding now + allocations made after the day (and not undone)
#                      - allocations made by then and undone after it,
#   unallocated then = unallocated now + the same allocations of its payments
#                      + refunds made after the day - refunds made by then and cancelled after it,
# for the documents (payments) counted that day: dated by then, and posted, or cancelled after it.
# What is open now and the credits left now are read from the partial indexes (ix_*_document_open,
# ix_payment_credit), the rest from the rows that changed after the day: for 100,000 open invoices
# 2-4 times faster than adding up every document, the more so the later the day (docs/performance.md,
# "Payments").
_PAST_SUMS_PG = """
WITH moved AS (
  SELECT a.{alloc} AS doc_id, a.payment_id,
         CASE WHEN a.unallocated_on IS NULL THEN a.amount ELSE -a.amount END AS amount
  FROM allocation a
  WHERE a.org_id = :org_id AND a.{alloc} IS NOT NULL
    AND ((a.unallocated_on IS NULL AND a.date > :day) OR (a.unallocated_on > :day AND a.date <= :day))
), docs AS (
  SELECT d.{party} AS party_id, coalesce(d.due_date, d.date) AS due, d.grand_total - d.amount_paid AS amount
  FROM {table} d
  WHERE d.org_id = :org_id AND d.doc_type = '{doc_type}' AND d.status = 'posted' AND d.payment_status <> 'paid'
    AND d.date <= :day
  UNION ALL
  SELECT d.{party}, coalesce(d.due_date, d.date), d.grand_total - d.amount_paid
  FROM {table} d JOIN journal_entry c ON c.id = d.cancel_entry_id
  WHERE d.org_id = :org_id AND d.doc_type = '{doc_type}' AND d.status = 'cancelled' AND d.date <= :day
    AND c.date > :day
  UNION ALL
  SELECT d.{party}, coalesce(d.due_date, d.date), m.amount
  FROM (SELECT doc_id, sum(amount) AS amount FROM moved GROUP BY doc_id) m JOIN {table} d ON d.id = m.doc_id
  WHERE d.org_id = :org_id AND d.doc_type = '{doc_type}' AND d.date <= :day
    AND (d.status = 'posted' OR (d.status = 'cancelled'
                                 AND (SELECT c.date FROM journal_entry c WHERE c.id = d.cancel_entry_id) > :day))
), pays AS (
  SELECT p.party_id, p.amount - p.allocated_amount - p.refunded_amount AS amount
  FROM payment p
  WHERE p.org_id = :org_id AND p.direction = '{direction}' AND p.status = 'posted' AND p.refund_of_id IS NULL
    AND p.allocated_amount + p.refunded_amount < p.amount AND p.date <= :day
  UNION ALL
  SELECT p.party_id, p.amount - p.allocated_amount - p.refunded_amount
  FROM payment p JOIN journal_entry r ON r.reversal_of_id = p.entry_id
  WHERE p.org_id = :org_id AND p.direction = '{direction}' AND p.status = 'cancelled' AND p.refund_of_id IS NULL
    AND p.date <= :day AND r.date > :day
  UNION ALL
  SELECT p.party_id, m.amount
  FROM (SELECT payment_id, sum(amount) AS amount FROM moved GROUP BY payment_id) m
  JOIN payment p ON p.id = m.payment_id
  WHERE p.org_id = :org_id AND p.direction = '{direction}' AND p.refund_of_id IS NULL AND p.date <= :day
    AND (p.status = 'posted'
         OR (SELECT r.date FROM journal_entry r WHERE r.reversal_of_id = p.entry_id) > :day)
  UNION ALL
  SELECT o.party_id, CASE WHEN f.status = 'posted' THEN f.amount ELSE -f.amount END
  FROM payment f JOIN payment o ON o.id = f.refund_of_id
  LEFT JOIN journal_entry fr ON fr.reversal_of_id = f.entry_id
  LEFT JOIN journal_entry orv ON orv.reversal_of_id = o.entry_id
  WHERE f.org_id = :org_id AND f.refund_of_id IS NOT NULL AND o.direction = '{direction}'
    AND ((f.status = 'posted' AND f.date > :day) OR (f.status <> 'posted' AND f.date <= :day AND fr.date > :day))
    AND o.date <= :day AND (o.status = 'posted' OR orv.date > :day)
), s AS (
  SELECT party_id,
         coalesce(sum(amount) FILTER (WHERE due >= :day), 0) AS current,
         coalesce(sum(amount) FILTER (WHERE due < :day AND due >= :d30), 0) AS d1_30,
         coalesce(sum(amount) FILTER (WHERE due < :d30 AND due >= :d60), 0) AS d31_60,
         coalesce(sum(amount) FILTER (WHERE due < :d60 AND due >= :d90), 0) AS d61_90,
         coalesce(sum(amount) FILTER (WHERE due < :d90), 0) AS over_90
  FROM docs GROUP BY party_id
), c AS (
  SELECT party_id, sum(amount) AS unallocated FROM pays GROUP BY party_id
)
SELECT coalesce(s.party_id, c.party_id) AS party_id, coalesce(s.current, 0) AS current,
       coalesce(s.d1_30, 0) AS d1_30, coalesce(s.d31_60, 0) AS d31_60, coalesce(s.d61_90, 0) AS d61_90,
       coalesce(s.over_90, 0) AS over_90, coalesce(c.unallocated, 0) AS unallocated
FROM s FULL JOIN c ON c.party_id = s.party_id
"""
_PAST_SUMS = {kind: sa.text(_PAST_SUMS_PG.format(table=table, party=party, alloc=alloc, doc_type=doc_type,
                                                 direction=direction))
              .columns(sa.column("party_id", sa.BigInteger),
                       *(sa.column(b, sa.Numeric(asdecimal=True)) for b in ("current", "d1_30", "d31_60", "d61_90",
                                                                            "over_90", "unallocated")))
              for kind, table, party, alloc, doc_type, direction in (
                  ("customer", "sales_document", "customer_id", "invoice_id", INVOICE, IN),
                  ("supplier", "purchase_document", "supplier_id", "bill_id", BILL, "out"))}


def _past_sums_pg(kind: str, as_of: date):
    """`sums_added_up` of a past day on PostgreSQL (see `_PAST_SUMS_PG`)."""
    return _PAST_SUMS[kind].bindparams(org_id=current_org_id(), day=as_of, d30=as_of - timedelta(days=30),
                                       d60=as_of - timedelta(days=60), d90=as_of - timedelta(days=90))


def _with_credits(sums: sa.Select, direction: str, as_of: date) -> sa.Select:
    """Sums per party and bucket, with each party's unallocated credit beside (full join: a party may
    have only one of them)."""
    s = sums.subquery("s")
    c = _credits_as_of(direction, as_of).subquery("c")
    c_party, c_amount = c.c
    zero = sa.literal(0)
    return (sa.select(sa.func.coalesce(s.c.party_id, c_party).label("party_id"),
                      *(sa.func.coalesce(s.c[b], zero).label(b) for b in BUCKETS),
                      sa.func.coalesce(c_amount, zero).label("unallocated"))
            .select_from(s.outerjoin(c, s.c.party_id == c_party, full=True)))


def aged(kind: str, as_of: date, *, page: int | None = None, per_page: int = 100, kept: bool = False) -> Aged:
    """Aged receivables ("customer") or payables ("supplier") at the end of a day. The total equals the
    control account that day: open documents by age, less the credits not allocated yet.

    Parties with the most overdue first. With `page`, only that page of `per_page` parties (the
    last one if `page` is beyond it) is read; the totals and the count are always of all of them.
    One statement: the sums per party and age, the credits, the order, the page and the totals
    over all parties are worked out in the database, so a page of a report of thousands of
    parties brings 100 rows to Python.

    `kept`: read the sums per party kept for the day — today's, or a past day's snapshot —
    (`payments.aging.ready(kind, as_of)` says when they are) instead of adding up the open documents."""
    _, direction = _of_kind(kind)
    if not kept:
        sums = sums_added_up(kind, as_of)
    elif as_of < today():
        sums = aging.snapshot_sums(kind, as_of)
    else:
        sums = _with_credits(aging.sums(kind, as_of), direction, as_of)
    stmt = _aged_statement(sums)
    per_page = max(1, per_page)
    if page is not None:
        page = max(1, page)
        rows = _aged_rows(stmt.limit(per_page).offset((page - 1) * per_page))
        if not rows and page > 1:     # beyond the last page: show the last one
            count = _aged_rows(stmt.limit(1))
            count = count[0][1] if count else 0
            page = max(1, -(-count // per_page))
            rows = _aged_rows(stmt.limit(per_page).offset((page - 1) * per_page))
    else:
        rows = _aged_rows(stmt)
    if not rows:
        if kept:      # nothing owed, or the kept sums were of another day by then: add up to be sure
            return aged(kind, as_of, page=page, per_page=per_page)
        return Aged(kind, as_of, [], AgedRow(0, "Total"), 0, 1, 1)
    count, totals = rows[0][1], rows[0][2]
    return Aged(kind, as_of, [r for r, _, _ in rows], totals, count, page or 1,
                max(1, -(-count // per_page)) if page is not None else 1)


def _aged_statement(sums: sa.Select) -> sa.Select:
    """The report's rows from sums per party (party_id, the buckets, unallocated): with the names,
    the most overdue first, the count and the totals of all parties beside each row."""
    org_id = current_org_id()
    if on_postgres():
        def plain(col):
            return sa.type_coerce(col, sa.Numeric(asdecimal=True))   # NUMERIC sums arrive as exact Decimals
    else:
        def plain(col):
            return col                                               # scaled integers: the column type reads them
    j = sums.subquery("j")
    credit = -j.c.unallocated
    total = sum((j.c[b] for b in BUCKETS[1:]), j.c[BUCKETS[0]]) - j.c.unallocated
    amounts = [*(j.c[b] for b in BUCKETS), credit]
    return (sa.select(j.c.party_id, Party.name, Party.code, *(plain(a) for a in amounts),
                      sa.func.count().over().label("n"), *(plain(sa.func.sum(a).over()) for a in amounts))
            .join(Party, sa.and_(Party.id == j.c.party_id, Party.org_id == org_id))
            .where(sa.or_(total != 0, j.c.unallocated != 0))
            .order_by(j.c.over_90.desc(), j.c.d61_90.desc(), total.desc(), Party.name, j.c.party_id))


def _aged_rows(stmt) -> list[tuple[AgedRow, int, AgedRow]]:
    """(row, number of parties, totals) per party: a Core statement on the session's connection (the
    organization is named in it, as the ORM would add it; row-level security still applies)."""
    out = []
    n_amounts = len(BUCKETS) + 1
    for pid, name, code, *rest in db.session.connection().execute(stmt):
        amounts, count, sums = rest[:n_amounts], rest[n_amounts], rest[n_amounts + 1:]
        out.append((AgedRow(pid, name, code, *amounts), count, AgedRow(0, "Total", None, *sums)))
    return out


@dataclass
class AgedDocument:
    doc: object
    outstanding: Decimal
    days_overdue: int
    bucket: str


def aged_documents(kind: str, party: Party, as_of: date) -> tuple[list[AgedDocument], list[tuple[Payment, Decimal]]]:
    """One party's open documents at the end of `as_of`, with their age, and its unallocated credits."""
    model, direction = _of_kind(kind)
    o = _outstanding_as_of(model, as_of).where(_party_col(model) == party.id).subquery()
    rows = db.session.execute(sa.select(model, o.c.outstanding).join(o, o.c.doc_id == model.id)
                              .order_by(o.c.due, model.id)).all()
    out = []
    for doc, outstanding in rows:
        days = (as_of - (doc.due_date or doc.date)).days
        bucket = "current" if days <= 0 else "d1_30" if days <= 30 else "d31_60" if days <= 60 else \
            "d61_90" if days <= 90 else "over_90"
        out.append(AgedDocument(doc, Decimal(outstanding), max(days, 0), bucket))
    credit_rows = _credits_as_of(direction, as_of)
    credit_rows = credit_rows.with_only_columns(Payment, credit_rows.selected_columns[1]).where(
        Payment.party_id == party.id).group_by(Payment.id)
    return out, [(p, Decimal(a)) for p, a in db.session.execute(credit_rows)]


# ---------------------------------------------------------------- overdue

def overdue_count(day: date) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SalesDocument).where(
        SalesDocument.doc_type == INVOICE, SalesDocument.status == POSTED, SalesDocument.payment_status != PAID,
        SalesDocument.due_date < day)) or 0


def overdue_invoices(day: date, limit: int | None = None) -> list[SalesDocument]:
    stmt = (sa.select(SalesDocument).where(
        SalesDocument.doc_type == INVOICE, SalesDocument.status == POSTED, SalesDocument.payment_status != PAID,
        SalesDocument.due_date < day).order_by(SalesDocument.due_date, SalesDocument.id))
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))
