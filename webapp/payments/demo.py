"""Demo data for payments: a second bank account, a payment spread FIFO, a partial payment, a credit carried
forward and partly refunded, supplier payments."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from webapp.core.clock import today
from webapp.demo import demo_step
from webapp.extensions import db
from webapp.ledger.queries import fiscal_year_of
from webapp.ledger.services import account_for
from webapp.parties.models import Party
from webapp.payments import queries, services
from webapp.payments.models import Payment
from webapp.purchases.models import PurchaseDocument


def _party(code: str) -> Party:
    return db.session.scalars(sa.select(Party).where(Party.code == code)).one()


@demo_step
def payments_demo(org, user) -> None:
    if db.session.scalar(sa.select(sa.exists().where(Payment.direction == "out"))):
        return
    t = today()
    hdfc = services.add_payment_account(name="HDFC current 4471", kind="bank", description="IFSC HDFC0001234, Jayanagar",
                                        opening_balance=D("250000"), opening_date=fiscal_year_of(t)[0])
    bank, cash = account_for("bank"), account_for("cash")

    # Metro Clinic pays 5,000 on account: FIFO puts it on their oldest invoice first.
    metro = _party("C0001")
    items = queries.open_items(metro, "in")
    plan = services.plan(D("5000"), items, "fifo")
    docs = queries.documents_by_id("in", [r.item.id for r in plan.rows if r.amount])
    services.record_payment(direction="in", party=metro, amount=D("5000"), account=hdfc, method="bank_transfer",
                            on=t - timedelta(days=2), reference="NEFT HDFCN52026112", idempotency_key="demo-metro-1",
                            allocations=[(docs[r.item.id], r.amount) for r in plan.rows if r.amount])
    # Green Leaf Clinic pays a round 1,500 against a smaller invoice: the rest is a credit; 200 of it goes back.
    green = _party("C0004")
    items = queries.open_items(green, "in")
    first = queries.documents_by_id("in", [items[0].id])[items[0].id] if items else None
    allocations = [(first, min(first.amount_due, D("1500")))] if first else []
    credit = services.record_payment(direction="in", party=green, amount=D("1500"), account=cash, method="cash",
                                     on=t - timedelta(days=1), reference="Counter", allocations=allocations)
    if credit.unallocated >= D("200"):
        services.refund(credit, D("200"), account=cash, method="cash", on=t, reference="Returned at the counter")

    # Suppliers: the godown rent in full, Cipla's bill in part by cheque.
    bills = list(db.session.scalars(sa.select(PurchaseDocument).where(
        PurchaseDocument.doc_type == "bill", PurchaseDocument.status == "posted").order_by(PurchaseDocument.id)))
    for b in bills:
        if b.supplier.code == "S0004":
            services.record_payment(direction="out", party=b.supplier, amount=b.amount_due, account=bank,
                                    method="bank_transfer", on=t - timedelta(days=20), reference="NEFT rent",
                                    allocations=[(b, b.amount_due)])
        elif b.supplier.code == "S0001":
            part = (b.amount_due / 2).quantize(D("1"))
            services.record_payment(direction="out", party=b.supplier, amount=part, account=bank, method="cheque",
                                    on=t, reference="CHQ 100231", allocations=[(b, part)])
