"""A purchase order's whole life, worked out by hand.

Lotus Pharmacy (Karnataka) orders 100 strips of Dolo (FIFO, batch-tracked, 12 %)
at 20.00 from Cipla Distributors (also Karnataka: CGST + SGST).

  Receipt 1: 60 strips, batch DL-A (exp 31 Dec 2027), at 20.00 → Dr inventory 1,200.00 / Cr GRNI 1,200.00.
  Sale of 10 strips → cost of goods sold 200.00; the layer keeps 50 @ 20.00 = 1,000.00.
  Bill 1 (their no. CD/881): the 60 at 21.00 → taxable 1,260.00, CGST 6 % 75.60, SGST 75.60,
    1,411.20; their bill rounds off −0.20 and prints 1,411.00, typed as the total → payable 1,411.00. The 60.00 more than received:
    50 of the 60 are still on hand → inventory +50.00; 10 were sold → cost of goods sold +10.00.
    Dr GRNI 1,200.00, inventory 50.00, COGS 10.00, input CGST 75.60, input SGST 75.60
    / Cr rounding 0.20, payables 1,411.00.
  Receipt 2: the other 40, batch DL-B (exp 30 Jun 2028), at 20.00 → 800.00.
  Bill 2 (CD/905) from the order: 40 at 20.00 → 800.00 + CGST 48.00 + SGST 48.00 = 896.00; the supplier
    printed 96.02 of tax, typed as is → payable 896.02, the 0.02 to rounding.
  Stock: 90 strips worth 1,050.00 + 800.00 = 1,850.00; GRNI 0; payables 2,307.02; COGS 210.00.
"""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.factories import create_org
from tests.inventory.helpers import product, sell
from tests.purchases.helpers import order, receive, supplier
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import services as inventory
from webapp.inventory.models import CostLayer
from webapp.ledger.models import JournalEntry
from webapp.ledger.queries import balance_of_role
from webapp.orgs.queries import current_organization
from webapp.purchases import services


@pytest.fixture
def books(app, ctx):
    org_id, _ = create_org("Lotus Pharmacy", fiscal_year_start_month=4)
    with tenant(org_id):
        yield dict(dolo=product("Dolo 650", costing="fifo", batches=True, tax_rate="12", purchase_price="20"),
                   cipla=supplier("Cipla Distributors", tax_id="29AAGCB7383J1Z4", payment_terms_days=30),
                   loc=inventory.default_location())


def lines_of(entry_id):
    return sorted((l.account.code, l.debit, l.credit) for l in db.session.get(JournalEntry, entry_id).lines)


def layers(p):
    return [(l.remaining_quantity, l.remaining_value) for l in db.session.scalars(
        sa.select(CostLayer).where(CostLayer.product_id == p.id).order_by(CostLayer.id))]


def test_order_two_receipts_two_bills(books):
    b = books
    po = order(b["cipla"], (b["dolo"], 100, "20.00"))
    assert po.status == "sent" and po.number.startswith("PO-") and po.grand_total == D("2240.00")

    r1 = receive(po, b["loc"], 60, batches=[("DL-A", date(2027, 12, 31))])
    assert po.status == "partly_received" and po.lines[0].received_quantity == D("60")
    assert lines_of(r1.entry_id) == [("1300", D("1200.00"), D("0")), ("2150", D("0"), D("1200.00"))]

    sell(b["dolo"], 10, on=date(2026, 5, 6))
    assert layers(b["dolo"]) == [(D("50"), D("1000.00"))]

    bill1 = services.bill_from(receipt=r1, on=date(2026, 5, 8))
    services.update_header(bill1, supplier=b["cipla"], on=date(2026, 5, 8), supplier_reference="CD/881",
                           supplier_date=date(2026, 5, 7), typed_total=D("1411.00"))
    line = bill1.lines[0]
    from webapp.core.trade import LineValues
    services.update_line(bill1, line, LineValues(b["dolo"], line.description, D("60"), D("21.00"), None, None, D("12")))
    # Our own whole-rupee round-off is never applied to a supplier's bill.
    assert (bill1.taxable_total, bill1.tax_total, bill1.rounding, bill1.grand_total) == (
        D("1260.00"), D("151.20"), D("0"), D("1411.20"))
    assert services.bill_check(bill1) == {"tax_diff": D("0"), "total": D("1411.20"), "round_off": D("-0.20"),
                                          "payable": D("1411.00")}
    services.post_bill(bill1)
    assert (bill1.rounding, bill1.grand_total) == (D("-0.20"), D("1411.00"))
    assert bill1.number.startswith("BILL-") and bill1.due_date == date(2026, 6, 7)
    assert lines_of(bill1.entry_id) == sorted([
        ("2150", D("1200.00"), D("0")), ("1300", D("50.00"), D("0")), ("5100", D("10.00"), D("0")),
        ("1410", D("75.60"), D("0")), ("1420", D("75.60"), D("0")), ("5300", D("0"), D("0.20")),
        ("2100", D("0"), D("1411.00"))])
    assert layers(b["dolo"]) == [(D("50"), D("1050.00"))]

    r2 = receive(po, b["loc"], 40, on=date(2026, 5, 10), batches=[("DL-B", date(2028, 6, 30))])
    assert po.status == "received"
    bill2 = services.bill_from(order=po, on=date(2026, 5, 12))
    assert [(l.quantity, l.receipt_line_id) for l in bill2.lines] == [(D("40"), r2.lines[0].id)]
    services.update_header(bill2, supplier=b["cipla"], on=date(2026, 5, 12), supplier_reference="CD/905",
                           typed_tax=D("96.02"))
    services.post_bill(bill2)
    assert bill2.grand_total == D("896.02") and bill2.tax_difference == D("0.02")
    assert lines_of(bill2.entry_id) == sorted([
        ("2150", D("800.00"), D("0")), ("1410", D("48.00"), D("0")), ("1420", D("48.00"), D("0")),
        ("5300", D("0.02"), D("0")), ("2100", D("0"), D("896.02"))])
    assert po.status == "billed"

    on = date(2026, 5, 31)
    assert inventory.available(b["dolo"], b["loc"]) == D("90")
    assert layers(b["dolo"]) == [(D("50"), D("1050.00")), (D("40"), D("800.00"))]
    assert balance_of_role("inventory", on) == D("1850.00")
    assert balance_of_role("grni", on) == D("0")
    assert balance_of_role("payables", on) == D("-2307.02")
    assert balance_of_role("cogs", on) == D("210.00")
    from webapp.inventory.queries import valuation
    assert valuation(on)[1] == D("1850.00")


def test_refusals(books):
    b = books
    po = order(b["cipla"], (b["dolo"], 10, "20.00"))
    with pytest.raises(DomainError, match="tracked by batch"):
        receive(po, b["loc"], 5)
    db.session.rollback()
    po = order(b["cipla"], (b["dolo"], 10, "20.00"))
    with pytest.raises(DomainError, match="Only 10 more were ordered") as refused:
        receive(po, b["loc"], 11, batches=[("X1", date(2027, 1, 1))])
    assert refused.value.field == "quantity"
    db.session.rollback()
    # Posting checks again, whatever the draft holds (the setting may have changed since).
    po = order(b["cipla"], (b["dolo"], 10, "20.00"))
    r = services.create_receipt(on=date(2026, 5, 5), location=b["loc"], order=po)
    r.lines[0].quantity, r.lines[0].batch_number, r.lines[0].expiry_date = D(11), "X1", date(2027, 1, 1)
    with pytest.raises(DomainError, match="only 10 more were ordered"):
        services.post_receipt(r)
    assert r.status == "draft" and po.lines[0].received_quantity == 0
    db.session.rollback()
    # An owner who allows it: the extra comes in and the order shows it as over.
    services.set_allow_over_receipt(current_organization(), True)
    po = order(b["cipla"], (b["dolo"], 10, "20.00"))
    receive(po, b["loc"], 12, batches=[("X1", date(2027, 1, 1))])
    assert po.status == "received" and po.lines[0].received_quantity == 12
    services.set_allow_over_receipt(current_organization(), False)
    po = order(b["cipla"], (b["dolo"], 10, "20.00"))
    r = receive(po, b["loc"], 10, batches=[("X1", date(2027, 1, 1))])
    bill = services.bill_from(receipt=r, on=date(2026, 5, 6))
    with pytest.raises(DomainError, match="supplier's bill number"):
        services.post_bill(bill)
    services.update_header(bill, supplier=b["cipla"], on=date(2026, 5, 6), supplier_reference="INV-1",
                           typed_tax=D("30.00"))
    with pytest.raises(DomainError, match="more than rounding"):
        services.post_bill(bill)
    services.update_header(bill, supplier=b["cipla"], on=date(2026, 5, 6), supplier_reference="INV-1")
    services.post_bill(bill)
    po2 = order(b["cipla"], (b["dolo"], 5, "20.00"))
    r2 = receive(po2, b["loc"], 5, batches=[("X2", date(2027, 1, 1))])
    dup = services.bill_from(receipt=r2, on=date(2026, 5, 7))
    with pytest.raises(DomainError, match="already recorded as BILL-"):
        services.update_header(dup, supplier=b["cipla"], on=date(2026, 5, 7), supplier_reference="INV-1")
    dup.supplier_reference = "INV-1"  # and posting checks again, whatever the draft says
    with pytest.raises(DomainError, match="already recorded as BILL-"):
        services.post_bill(dup)
    assert dup.status == "draft"
    with pytest.raises(DomainError, match="billed already"):
        services.bill_from(receipt=r, on=date(2026, 5, 8))


def test_cancel_a_bill_with_a_price_difference_keeps_stock_and_books_equal(books):
    b = books
    po = order(b["cipla"], (b["dolo"], 10, "20.00"))
    r = receive(po, b["loc"], 10, batches=[("C1", date(2027, 1, 1))])
    bill = services.bill_from(receipt=r, on=date(2026, 5, 6))
    from webapp.core.trade import LineValues
    l = bill.lines[0]
    services.update_line(bill, l, LineValues(b["dolo"], l.description, D("10"), D("22"), None, None, D("12")))
    services.update_header(bill, supplier=b["cipla"], on=date(2026, 5, 6), supplier_reference="Z-1")
    services.post_bill(bill)
    assert layers(b["dolo"]) == [(D("10"), D("220.00"))]
    services.cancel_bill(bill, reason="Wrong price", on=date(2026, 5, 9))
    assert layers(b["dolo"]) == [(D("10"), D("200.00"))]
    on = date(2026, 5, 31)
    from webapp.inventory.queries import valuation
    assert valuation(on)[1] == balance_of_role("inventory", on) == D("200.00")
    assert balance_of_role("grni", on) == D("-200.00") and balance_of_role("payables", on) == D("0")
    assert r.lines[0].billed_quantity == 0
