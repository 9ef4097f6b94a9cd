"""Demo data for purchasing: suppliers, purchase orders in every state, goods
receipts with batches and expiry dates, and supplier bills (one from a receipt
at a different price with the tax typed as printed, one for rent)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from webapp.catalog.models import Product
from webapp.core.clock import today
from webapp.core.trade import LineValues
from webapp.demo import demo_step
from webapp.extensions import db
from webapp.inventory.services import default_location
from webapp.ledger.models import Account
from webapp.parties import services as parties
from webapp.purchases import services
from webapp.purchases.models import PurchaseDocument

SUPPLIERS = [
    # code, name, GSTIN, state, terms, contact, phone, city
    ("S0001", "Cipla Distributors", "29AAACC1234F1Z4", "29", 30, "Prakash Shetty", "+91 98450 22110", "Bengaluru"),
    ("S0002", "Sun Pharma Agencies", "27AABCS5678K1ZS", "27", 45, "Neha Joshi", "+91 98220 33445", "Pune"),
    ("S0003", "City Wholesale Mart", None, "29", 15, "Imran Pasha", "+91 99005 66778", "Bengaluru"),
    ("S0004", "Jayanagar Properties", "29AAFCJ4321P1Z5", "29", 5, "K. Raghavan", "+91 80 2663 1100", "Bengaluru"),
]

BUYING = {  # sku: (supplier code, purchase price)
    "DOLO-650": ("S0001", "21.50"), "CROCIN-A": ("S0001", "18.40"), "AZI-500": ("S0002", "84.50"),
    "ORS-21": ("S0002", "12.10"), "DET-125": ("S0003", "38.00"), "COLG-200": ("S0003", "86.00"),
    "HAND-500": ("S0003", "160.00"), "BP-MON": ("S0002", "1320.00"), "MASK-N95": ("S0003", "24.00"),
}


def _order(supplier, on, items, *, send=True):
    by_sku = {p.sku: p for p in db.session.scalars(sa.select(Product))}
    doc = services.create_document("order", on=on, supplier=supplier)
    for i, (sku, qty) in enumerate(items):
        line = doc.lines[0] if i == 0 else services.add_line(doc, None)
        services.update_line(doc, line, LineValues(by_sku[sku], None, D(qty), None, None, None, None))
    doc.expected_date = on + timedelta(days=3)
    if send:
        services.send_order(doc)
    return doc


def _receive(order, on, quantities, batches):
    receipt = services.create_receipt(on=on, location=default_location(), order=order)
    for line in list(receipt.lines):
        sku = line.product.sku
        if sku not in quantities:
            services.remove_receipt_line(receipt, line, None)
            continue
        number, days = batches.get(sku, (None, None))
        services.update_receipt_line(receipt, line, product=line.product, quantity=D(quantities[sku]),
                                     unit_cost=line.unit_cost, batch_number=number,
                                     expiry=on + timedelta(days=days) if days else None, mrp=None, version=None)
    services.post_receipt(receipt)
    return receipt


@demo_step
def purchases_demo(org, user) -> None:
    if db.session.scalar(sa.select(sa.exists().select_from(PurchaseDocument))):
        return
    s = {}
    for code, name, gstin, state, terms, contact, phone, city in SUPPLIERS:
        s[code] = parties.create_party(code=code, name=name, tax_id=gstin, state=state, payment_terms_days=terms,
                                       contact_name=contact, phone=phone, is_supplier=True, is_customer=False,
                                       billing_address="Industrial Area", billing_city=city)
    for product in db.session.scalars(sa.select(Product).where(Product.sku.in_(BUYING))):
        code, price = BUYING[product.sku]
        product.preferred_supplier_id, product.purchase_price = s[code].id, D(price)
    db.session.flush()
    t = today()

    # Cipla: ordered, received in part (with batches), billed at a higher price for Crocin,
    # the tax typed exactly as printed on their bill.
    cipla = _order(s["S0001"], t - timedelta(days=9), [("DOLO-650", "200"), ("CROCIN-A", "150")])
    receipt = _receive(cipla, t - timedelta(days=3), {"DOLO-650": "200", "CROCIN-A": "100"},
                       {"DOLO-650": ("DL2411", 540), "CROCIN-A": ("CR2409", 480)})
    bill = services.bill_from(receipt=receipt, on=t - timedelta(days=2))
    crocin = next(l for l in bill.lines if l.product.sku == "CROCIN-A")
    services.update_line(bill, crocin, LineValues(crocin.product, crocin.description, crocin.quantity, D("18.90"),
                                                  None, None, crocin.tax_rate))
    services.update_header(bill, supplier=s["S0001"], on=bill.date, supplier_reference="CD/24-25/1187",
                           supplier_date=bill.date, typed_tax=bill.tax_total + D("0.02"),
                           typed_total=(bill.grand_total + D("0.02")).quantize(D("1")))
    services.post_bill(bill)

    # Sun Pharma (Maharashtra, so IGST): sent, nothing has arrived yet.
    _order(s["S0002"], t - timedelta(days=4), [("AZI-500", "60"), ("ORS-21", "300")])
    # City Wholesale: received in full, the bill is still to come.
    city = _order(s["S0003"], t - timedelta(days=6), [("MASK-N95", "500"), ("DET-125", "48")])
    _receive(city, t - timedelta(days=1), {"MASK-N95": "500", "DET-125": "48"}, {})
    # A draft, and one cancelled.
    _order(s["S0003"], t, [("HAND-500", "24"), ("COLG-200", "36")], send=False)
    dropped = _order(s["S0002"], t - timedelta(days=12), [("BP-MON", "6")])
    services.cancel_order(dropped, "Found a better price elsewhere")

    # Rent: a direct bill booked to the rent account, overdue.
    rent = services.create_document("bill", on=t - timedelta(days=25), supplier=s["S0004"])
    account = db.session.scalars(sa.select(Account).where(Account.code == "5400")).one()
    services.update_line(rent, rent.lines[0], LineValues(None, "Godown rent for the month", D(1), D("45000"), None, None,
                                                         D(18)), account=account)
    services.update_header(rent, supplier=s["S0004"], on=rent.date, supplier_reference="JP/RENT/0419",
                           supplier_date=rent.date)
    services.post_bill(rent)
