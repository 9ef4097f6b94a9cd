"""Demo data for sales: customers, and invoices in every state (draft, unpaid,
partly paid, paid, overdue, cancelled), a quote and an order."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.trade import LineValues
from webapp.demo import demo_step
from webapp.extensions import db
from webapp.ledger.services import account_for
from webapp.parties import services as parties
from webapp.parties.models import Party
from webapp.payments import services as payments
from webapp.sales import services as sales
from webapp.sales.models import SalesDocument

CUSTOMERS = [
    ("C0001", "Metro Clinic", "29AAGCB7383J1Z4", "29", 30, "150000", "Dr. Meera Nair", "+91 98450 11223"),
    ("C0002", "Sunrise Nursing Home", None, "29", 15, "75000", "Ravi Kumar", "+91 98860 44556"),
    ("C0003", "Pune Wellness Traders", "27AAPFU0939F1ZV", "27", 45, None, "Anil Deshpande", "+91 98220 77889"),
    ("C0004", "Green Leaf Clinic", None, "29", 7, "20000", "Farah Khan", "+91 99000 12345"),
]


def _doc(doc_type, customer, on, items, *, post=False, confirm=False):
    by_sku = {p.sku: p for p in db.session.scalars(sa.select(Product))}
    doc = sales.create_document(doc_type, on=on, customer=customer)
    for i, (sku, qty) in enumerate(items):
        line = doc.lines[0] if i == 0 else sales.add_line(doc, None)
        sales.update_line(doc, line, LineValues(by_sku[sku], None, D(qty), None, None, None, None))
    if post:
        sales.post_invoice(doc, override_credit=True)
    if confirm:
        sales.confirm(doc)
    return doc


@demo_step
def sales_demo(org, user) -> None:
    if db.session.scalar(sa.select(sa.exists().select_from(SalesDocument))):
        return
    c = {}
    for code, name, gstin, state, terms, limit, contact, phone in CUSTOMERS:
        c[code] = parties.create_party(code=code, name=name, tax_id=gstin, state=state, payment_terms_days=terms,
                                       credit_limit=limit, contact_name=contact, phone=phone, is_customer=True,
                                       billing_address="Main Road", billing_city="Bengaluru" if state == "29" else "Pune")
    walk_in = db.session.scalars(sa.select(Party).where(Party.is_walk_in.is_(True))).one()
    t = today()
    cash, bank = account_for("cash"), account_for("bank")
    _doc("invoice", c["C0001"], t - timedelta(days=50), [("DOLO-650", "40"), ("MASK-N95", "100")], post=True)
    part = _doc("invoice", c["C0002"], t - timedelta(days=10), [("CROCIN-A", "20"), ("DET-125", "12")], post=True)
    paid = _doc("invoice", c["C0003"], t - timedelta(days=20), [("BP-MON", "1"), ("HAND-500", "6")], post=True)
    _doc("invoice", c["C0004"], t - timedelta(days=2), [("ORS-21", "30"), ("CONSULT", "1")], post=True)
    cancelled = _doc("invoice", c["C0004"], t - timedelta(days=3), [("COLG-200", "2")], post=True)
    sales.cancel_invoice(cancelled, reason="Entered for the wrong customer")
    _doc("invoice", c["C0001"], t, [("AZI-500", "5"), ("DOLO-650", "10")])  # a draft
    counter = _doc("invoice", walk_in, t - timedelta(days=1), [("DET-125", "2"), ("MASK-N95", "5")], post=True)
    payments.record_payment(direction="in", party=walk_in, amount=counter.grand_total, account=cash, method="cash",
                            on=counter.date, reference=counter.number, allocations=[(counter, counter.grand_total)])
    payments.record_payment(direction="in", party=c["C0003"], amount=paid.grand_total, account=bank,
                            method="bank_transfer", on=t - timedelta(days=5), reference="NEFT 4471",
                            allocations=[(paid, paid.grand_total)])
    half = (part.grand_total / 2).quantize(D("1"))
    payments.record_payment(direction="in", party=c["C0002"], amount=half, account=bank, method="upi",
                            on=t - timedelta(days=4), reference="UPI 88213", allocations=[(part, half)])
    _doc("quote", c["C0004"], t - timedelta(days=1), [("BP-MON", "2"), ("HAND-500", "10")], confirm=True)
    order = _doc("order", c["C0001"], t - timedelta(days=6), [("DOLO-650", "50"), ("CROCIN-A", "30")], confirm=True)
    first = sales.convert(order, "invoice", {order.lines[0].id: D("20"), order.lines[1].id: D("0")},
                          on=t - timedelta(days=5))
    sales.post_invoice(first, override_credit=True)
