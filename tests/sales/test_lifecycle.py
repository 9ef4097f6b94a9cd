"""An invoice's whole life, worked out by hand: draft → post → cancel.

Lotus Pharmacy, Karnataka (GST state 29). Stock: Dolo 100 strips @ 21.50 (FIFO),
soap 24 @ 38.00 (average). Intra-state customer Metro Clinic (29).

Invoice 1 (10 May):
  Dolo ×10 @ 32.00, 12 %          taxable 320.00   CGST 6 % 19.20  SGST 19.20   total 358.40
  Soap ×3 @ 55.00 less 10 %, 18 %  gross 165.00 − 16.50 = 148.50   CGST 9 % 13.365→13.37  SGST 13.37  total 175.24
  Consultation ×1 @ 200.00, 18 %  taxable 200.00   CGST 18.00  SGST 18.00   total 236.00
  Taxable 668.50, tax 101.14, sum 769.64, round off +0.36, grand total 770.00.
  Cost of goods sold: Dolo 10 × 21.50 = 215.00 + soap 3 × 38.00 = 114.00 = 329.00.
  Journal: Dr receivables 770.00, Dr COGS 329.00 / Cr sales 668.50, Cr output CGST 50.57,
           Cr output SGST 50.57, Cr rounding 0.36, Cr inventory 329.00.
Invoice 2 (11 May) to Pune Traders (Maharashtra, 27): Dolo ×5 @ 32.00 → IGST 12 % 19.20,
  179.20 → round off −0.20 → 179.00.
"""
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.core.errors import DomainError
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import queries as stock
from webapp.inventory import services as inventory
from webapp.ledger.models import JournalEntry
from webapp.ledger.queries import balance_of_role
from webapp.sales import services as sales
from webapp.sales.models import CANCELLED, POSTED


@pytest.fixture
def shop(app, ctx):
    org_id, _ = create_org("Lotus Pharmacy", fiscal_year_start_month=4)
    with tenant(org_id):
        dolo = product("Dolo 650", costing="fifo", sale_price="32.00", tax_rate="12", hsn_code="30049099")
        soap = product("Neem soap", costing="average", sale_price="55.00", tax_rate="18")
        consult = product("Consultation", kind="service", sale_price="200.00", tax_rate="18")
        receive(dolo, 100, "21.50", on=date(2026, 5, 1))
        receive(soap, 24, "38.00", on=date(2026, 5, 1))
        metro = customer("Metro Clinic", tax_id="29AAGCB7383J1Z4", payment_terms_days=15)
        pune = customer("Pune Traders", tax_id="27AAPFU0939F1ZV")
        yield dict(dolo=dolo, soap=soap, consult=consult, metro=metro, pune=pune, org=org_id)


def lines_of(entry):
    return sorted((l.account.code, l.debit, l.credit) for l in entry.lines)


def test_draft_post_cancel(shop):
    s = shop
    doc = invoice(s["metro"], (s["dolo"], 10), (s["soap"], 3, None, "10"), (s["consult"], 1))
    assert doc.status == "draft" and doc.number is None
    assert [(l.taxable, l.cgst, l.sgst, l.total) for l in doc.lines] == [
        (D("320.00"), D("19.20"), D("19.20"), D("358.40")), (D("148.50"), D("13.37"), D("13.37"), D("175.24")),
        (D("200.00"), D("18.00"), D("18.00"), D("236.00"))]
    assert (doc.taxable_total, doc.tax_total, doc.rounding, doc.grand_total) == (
        D("668.50"), D("101.14"), D("0.36"), D("770.00"))

    sales.post_invoice(doc)
    assert doc.status == POSTED and doc.number == "INV-2026-27-00001" and doc.payment_status == "unpaid"
    assert doc.due_date == date(2026, 5, 25)
    assert doc.customer_snapshot["tax_id"] == "29AAGCB7383J1Z4"
    entry = db.session.get(JournalEntry, doc.entry_id)
    assert lines_of(entry) == sorted([
        ("1200", D("770.00"), D("0")), ("5100", D("329.00"), D("0")), ("4100", D("0"), D("668.50")),
        ("2210", D("0"), D("50.57")), ("2220", D("0"), D("50.57")), ("5300", D("0"), D("0.36")),
        ("1300", D("0"), D("329.00"))])
    assert next(l for l in entry.lines if l.account.code == "1200").party_id == s["metro"].id
    assert [l.cost for l in doc.lines] == [D("215.00"), D("114.00"), D("0")]
    loc = inventory.default_location()
    assert inventory.available(s["dolo"], loc) == D("90") and inventory.available(s["soap"], loc) == D("21")

    doc2 = invoice(s["pune"], (s["dolo"], 5), on=date(2026, 5, 11), post=True)
    assert doc2.number == "INV-2026-27-00002"
    assert [(l.igst, l.cgst) for l in doc2.lines] == [(D("19.20"), D("0"))]
    assert (doc2.rounding, doc2.grand_total) == (D("-0.20"), D("179.00"))
    e2 = db.session.get(JournalEntry, doc2.entry_id)
    assert ("2230", D("0"), D("19.20")) in lines_of(e2) and ("5300", D("0.20"), D("0")) in lines_of(e2)

    # Posted documents are not edited.
    with pytest.raises(DomainError, match="no longer be edited"):
        sales.add_line(doc, None)

    sales.cancel_invoice(doc, reason="Wrong customer", on=date(2026, 5, 12))
    assert doc.status == CANCELLED and doc.number == "INV-2026-27-00001"
    rev = db.session.get(JournalEntry, doc.cancel_entry_id)
    assert rev.reversal_of_id == doc.entry_id and rev.date == date(2026, 5, 12)
    assert lines_of(rev) == sorted((c, cr, d) for c, d, cr in lines_of(entry))
    assert inventory.available(s["dolo"], loc) == D("95") and inventory.available(s["soap"], loc) == D("24")
    # Books: only invoice 2 remains; stock value equals the inventory account.
    on = date(2026, 5, 31)
    assert balance_of_role("receivables", on) == D("179.00")
    assert balance_of_role("sales", on) == D("-160.00")
    assert balance_of_role("cogs", on) == D("107.50")
    rows, total = stock.valuation(on)
    assert total == balance_of_role("inventory", on) == D("2150.00") + D("912.00") - D("107.50")
    with pytest.raises(DomainError, match="already cancelled"):
        sales.cancel_invoice(doc, reason="again")


def test_post_twice_posts_once(shop):
    doc = invoice(shop["metro"], (shop["dolo"], 1), post=True)
    with pytest.raises(sales.AlreadyPosted):
        sales.post_invoice(doc)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(
        JournalEntry.source_type == "invoice")) == 1


def test_an_invoice_of_nothing_to_pay_is_paid_and_never_overdue(shop):
    """Free goods (a 100 % discount): posted, its stock issued at cost, and paid, since nothing is owed."""
    from webapp.payments import queries as payments_queries
    doc = invoice(shop["metro"], (shop["dolo"], 2, "32.00", "100"), on=date(2026, 5, 10), post=True)
    assert (doc.grand_total, doc.status, doc.payment_status) == (0, POSTED, "paid")
    entry = db.session.get(JournalEntry, doc.entry_id)
    assert lines_of(entry) == [("1300", 0, D("43.00")), ("5100", D("43.00"), 0)]   # cost of the free strips
    assert not doc.overdue_on(date(2026, 12, 31)) and payments_queries.overdue_count(date(2026, 12, 31)) == 0
    assert payments_queries.open_items(shop["metro"], "in") == []
    assert balance_of_role("receivables", date(2026, 5, 31)) == 0


@pytest.mark.parametrize("policy,raises", [("block", True), ("warn", False), ("off", False)])
def test_credit_limit_policy(shop, policy, raises):
    from webapp.orgs.queries import current_organization
    current_organization().credit_limit_policy = policy
    shop["metro"].credit_limit = D("500")
    invoice(shop["metro"], (shop["dolo"], 10), post=True)  # 358.40 → 358
    doc = invoice(shop["metro"], (shop["dolo"], 10))
    if raises:
        with pytest.raises(DomainError, match="over the credit limit of 500.00"):
            sales.post_invoice(doc)
        assert doc.status == "draft"
        sales.post_invoice(doc, override_credit=True)
    else:
        posted = sales.post_invoice(doc)
        assert bool(posted.warnings) == (policy == "warn")
        assert posted.number == doc.number
    assert doc.status == "posted"


def test_refusals_write_nothing(shop):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))
    empty = invoice(shop["metro"])
    with pytest.raises(DomainError, match="at least one line"):
        sales.post_invoice(empty)
    too_many = invoice(shop["metro"], (shop["soap"], 25))
    with pytest.raises(DomainError, match="Insufficient stock"):
        sales.post_invoice(too_many)
    assert too_many.status == "draft" and too_many.number is None
    assert inventory.available(shop["soap"], inventory.default_location()) == D("24")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == before


def test_order_converted_in_two_invoices(shop):
    order = invoice(shop["metro"], (shop["dolo"], 10), (shop["consult"], 2), doc_type="order")
    sales.confirm(order)
    assert order.number.startswith("SO-") and order.status == "confirmed"
    dolo_line = order.lines[0]
    first = sales.convert(order, "invoice", {dolo_line.id: D("4"), order.lines[1].id: D("2")})
    sales.post_invoice(first)
    assert order.status == "partly_invoiced" and dolo_line.invoiced_quantity == D("4")
    with pytest.raises(DomainError, match="at most 6 remain"):
        sales.convert(order, "invoice", {dolo_line.id: D("7")})
    second = sales.convert(order, "invoice")
    assert [l.quantity for l in second.lines] == [D("6")]
    sales.post_invoice(second)
    assert order.status == "invoiced"
    sales.cancel_invoice(second, reason="Returned")
    assert order.status == "partly_invoiced" and dolo_line.invoiced_quantity == D("4")
