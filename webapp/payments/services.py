"""Recording payments and allocating them. Every check is made with the rows
locked (payment, then documents in id order), so racing requests can never
allocate more than a payment holds or pay an invoice more than its total —
and the database's CHECK constraints would refuse it anyway."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from webapp.core import audit, numbering
from webapp.core.clock import now
from webapp.core.errors import DomainError
from webapp.core.money import MAX_AMOUNT, currency, format_amount
from webapp.extensions import db
from webapp.ledger.models import Account
from webapp.ledger.services import Line, check_open, post_entry
from webapp.orgs.queries import current_organization
from webapp.parties.models import Party
from webapp.payments.models import IN, METHODS, OUT, Allocation, Payment
from webapp.sales.models import INVOICE, PAID, PARTLY_PAID, POSTED, UNPAID, SalesDocument

PAYMENT_ACCOUNT_ROLES = ("cash", "bank")


class AlreadyRecorded(DomainError):
    """The idempotency key was used before: the earlier payment stands."""


def payment_accounts() -> list[Account]:
    return list(db.session.scalars(sa.select(Account).where(
        Account.active.is_(True), Account.is_group.is_(False),
        sa.or_(Account.role.in_(PAYMENT_ACCOUNT_ROLES), Account.is_payment_account.is_(True)))
        .order_by(Account.code)))


def _lock_payment(payment_id: int) -> Payment:
    return db.session.scalars(sa.select(Payment).where(Payment.id == payment_id).with_for_update(of=Payment)
                              .execution_options(populate_existing=True)).one()


def _lock_documents(ids: list[int]) -> dict[int, SalesDocument]:
    rows = db.session.scalars(sa.select(SalesDocument).where(SalesDocument.id.in_(ids))
                              .order_by(SalesDocument.id).with_for_update(of=SalesDocument)
                              .execution_options(populate_existing=True)).all()
    return {d.id: d for d in rows}


def _status(paid: Decimal, total: Decimal) -> str:
    if paid <= 0:
        return UNPAID
    return PAID if paid >= total else PARTLY_PAID


def by_idempotency_key(key: str) -> Payment | None:
    return db.session.scalars(sa.select(Payment).where(Payment.idempotency_key == key)).first()


def record_payment(*, direction: str, party: Party, amount: Decimal, account: Account, method: str, on: date,
                   reference: str | None = None, memo: str | None = None, idempotency_key: str | None = None,
                   allocations: list[tuple[SalesDocument, Decimal]] = ()) -> Payment:
    """Record money received (direction "in") or paid ("out"), post it, allocate it."""
    org = current_organization()
    if idempotency_key:
        earlier = by_idempotency_key(idempotency_key)
        if earlier is not None:
            raise AlreadyRecorded(f"This payment was already recorded as {earlier.number}.", payment=earlier)
    if direction not in (IN, OUT):
        raise DomainError("Choose money in or money out.")
    if party is None or party.org_id != org.id or not party.active:
        raise DomainError("Choose an active customer or supplier.", field="party_id")
    if direction == IN and not party.is_customer or direction == OUT and not party.is_supplier:
        raise DomainError(f"{party.name} is not a {'customer' if direction == IN else 'supplier'}.", field="party_id")
    if not isinstance(amount, Decimal) or amount <= 0:
        raise DomainError("The amount must be more than zero.", field="amount")
    if amount != amount.quantize(currency(org.base_currency).minor_unit) or amount > MAX_AMOUNT:
        raise DomainError(f"Enter an amount in {org.base_currency} with at most "
                          f"{currency(org.base_currency).precision} decimal places.", field="amount")
    if account is None or account.org_id != org.id or account not in payment_accounts():
        raise DomainError("Choose a cash or bank account.", field="account_id")
    if method not in METHODS:
        raise DomainError("Choose how it was paid.", field="method")
    check_open(on)
    kind = "payment_in" if direction == IN else "payment_out"
    number = numbering.next_number(kind, on, org.fiscal_year_start_month)
    payment = Payment(number=number, direction=direction, date=on, party_id=party.id, account_id=account.id,
                      method=method, reference=(reference or "").strip()[:100] or None,
                      memo=(memo or "").strip()[:300] or None, currency=org.base_currency, amount=amount,
                      idempotency_key=idempotency_key, created_by_id=audit.current_actor().user_id)
    db.session.add(payment)
    db.session.flush()
    label = f"{'Receipt from' if direction == IN else 'Payment to'} {party.name}"
    if direction == IN:
        lines = [Line(account, debit=amount, memo=reference), Line("receivables", credit=amount, party_id=party.id)]
    else:
        lines = [Line("payables", debit=amount, party_id=party.id), Line(account, credit=amount, memo=reference)]
    entry = post_entry(date=on, memo=f"{number} {label}", lines=lines, source_type="payment", source_id=payment.id,
                       source_number=number)
    payment.entry_id = entry.id
    db.session.flush()
    for doc, part in allocations:
        allocate(payment, doc, part)
    return payment


def allocate(payment: Payment, doc: SalesDocument, amount: Decimal, on: date | None = None) -> Allocation:
    """Settle part of `doc` with part of `payment`."""
    payment = _lock_payment(payment.id)
    doc = _lock_documents([doc.id])[doc.id]
    code = current_organization().base_currency
    if not isinstance(amount, Decimal) or amount <= 0:
        raise DomainError("An allocation must be more than zero.", field="amount")
    if amount != amount.quantize(currency(code).minor_unit):
        raise DomainError(f"{code} has {currency(code).precision} decimal places.", field="amount")
    if doc.doc_type != INVOICE or doc.status != POSTED:
        raise DomainError(f"{doc.number or 'This document'} is not a posted invoice.")
    if payment.direction != IN:
        raise DomainError("A payment made cannot settle a sales invoice.")
    if doc.customer_id != payment.party_id:
        raise DomainError(f"{doc.number} is another customer's invoice.")
    if doc.currency != payment.currency:
        raise DomainError("The payment and the invoice are in different currencies.")
    if amount > payment.unallocated:
        raise DomainError(f"Only {format_amount(payment.unallocated, code)} of {payment.number} is left to "
                          f"allocate.", field="amount")
    if amount > doc.amount_due:
        raise DomainError(f"{doc.number} has only {format_amount(doc.amount_due, code)} outstanding.",
                          field="amount")
    check_open(on or payment.date, "allocate")
    allocation = Allocation(payment_id=payment.id, invoice_id=doc.id, amount=amount, date=on or max(payment.date, doc.date),
                            created_by_id=audit.current_actor().user_id)
    db.session.add(allocation)
    payment.allocated_amount += amount
    doc.amount_paid += amount
    doc.payment_status = _status(doc.amount_paid, doc.grand_total)
    db.session.flush()
    return allocation


def unallocate(allocation: Allocation) -> None:
    """Undo an allocation (audited); the invoice's status follows."""
    if not allocation.active:
        raise DomainError("This allocation was already undone.")
    payment = _lock_payment(allocation.payment_id)
    doc = _lock_documents([allocation.invoice_id])[allocation.invoice_id]
    check_open(allocation.date, "unallocate")
    with audit.action("allocation.unallocate"):
        allocation.unallocated_at = now()
        allocation.unallocated_by_id = audit.current_actor().user_id
        payment.allocated_amount -= allocation.amount
        doc.amount_paid -= allocation.amount
        doc.payment_status = _status(doc.amount_paid, doc.grand_total)
        db.session.flush()
