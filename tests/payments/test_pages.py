"""Payments through their pages: the allocation screen, credits, refunds, accounts, ledgers, aged, overdue."""
import csv
import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import add_member, create_org, login
from tests.payments.helpers import bill, customer, sale, supplier
from webapp.core.jobs import Job
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import Account, JournalEntry
from webapp.ledger.queries import balance_of_role
from webapp.payments.models import Allocation, Payment
from webapp.sales.models import SalesDocument

HX = {"HX-Request": "true"}
TODAY = date.today()


@pytest.fixture
def shop(app, client):
    with app.app_context():
        org_id, _ = create_org("Lotus Pharmacy", email="lotus@example.com")
        with tenant(org_id):
            metro = customer("Metro Clinic", payment_terms_days=30)
            a = sale(metro, 1000, TODAY - timedelta(days=60))
            b = sale(metro, 2500, TODAY - timedelta(days=40))
            c = sale(metro, 800, TODAY - timedelta(days=10))
            landlord = supplier("Jayanagar Properties", payment_terms_days=5)
            rent = bill(landlord, 45000, TODAY - timedelta(days=20))
            bank = db.session.scalars(sa.select(Account).where(Account.role == "bank")).one()
            db.session.commit()
            ids = dict(org=org_id, metro=metro.id, a=a.id, b=b.id, c=c.id, landlord=landlord.id, rent=rent.id,
                       bank=bank.id)
        other, _ = create_org("Other Shop", email="other@example.com")
        with tenant(other):
            theirs = customer("Their Customer")
            their_invoice = sale(theirs, 100, TODAY)
            db.session.commit()
            ids.update(their_customer=theirs.id, their_invoice=their_invoice.id)
    login(client, "lotus@example.com")
    return ids


def key_of(html):
    return re.search(r'name="key" type="hidden" value="([0-9a-f]{32})"', html).group(1)


def form_for(shop, key, amount, **allocs):
    data = {"party_id": shop["metro"], "amount": amount, "date": TODAY.isoformat(), "account_id": shop["bank"],
            "method": "bank_transfer", "reference": "NEFT 4471", "policy": "fifo", "key": key}
    data.update({f"alloc-{shop[k]}": v for k, v in allocs.items()})
    return data


def count(app, org_id, model, *where):
    with app.app_context(), tenant(org_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_receive_a_payment_with_a_live_preview(app, client, shop):
    page = client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True)
    assert "Metro Clinic" in page and 'value="fifo" selected' in page.replace("selected value", "value")  or "fifo" in page
    key = key_of(page)
    # The preview as the amount is typed: FIFO, oldest first.
    r = client.post("/payments/new/in/preview", headers=dict(HX, **{"HX-Trigger": "amount"}),
                    data=form_for(shop, key, "3000"))
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body
    values = dict(re.findall(r'name="alloc-(\d+)" value="([^"]*)"', body))
    assert values == {str(shop["a"]): "1,000.00", str(shop["b"]): "2,000.00", str(shop["c"]): ""}
    assert "Stays on account (credit)" in body
    # LIFO instead.
    r = client.post("/payments/new/in/preview", headers=dict(HX, **{"HX-Trigger": "policy"}),
                    data=dict(form_for(shop, key, "3000"), policy="lifo"))
    values = dict(re.findall(r'name="alloc-(\d+)" value="([^"]*)"', r.get_data(as_text=True)))
    assert values == {str(shop["a"]): "", str(shop["b"]): "2,200.00", str(shop["c"]): "800.00"}
    # A typed amount stands; FIFO spreads the rest; the remainder is live.
    r = client.post("/payments/new/in/preview", headers=dict(HX, **{"HX-Trigger": f"alloc-{shop['b']}"}),
                    data=form_for(shop, key, "3000", a="1,000.00", b="100"))
    body = r.get_data(as_text=True)
    values = dict(re.findall(r'name="alloc-(\d+)" value="([^"]*)"', body))
    assert values == {str(shop["a"]): "1,000.00", str(shop["b"]): "100.00", str(shop["c"]): "800.00"}
    assert f'name="typed" value="{shop["b"]}"' in body and "1,100.00" in body
    # Too much typed: said beside it, and the total over the payment too.
    r = client.post("/payments/new/in/preview", headers=dict(HX, **{"HX-Trigger": f"alloc-{shop['c']}"}),
                    data=dict(form_for(shop, key, "500", c="900"), policy="manual"))
    body = r.get_data(as_text=True)
    assert "Only 800.00 is outstanding." in body and "more than the payment" in body

    # Record it: 3,000 FIFO.
    r = client.post("/payments/new/in", data=form_for(shop, key, "3000", a="1000", b="2000"))
    assert r.status_code == 303, r.get_data(as_text=True)
    pid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Recorded as RCT-" in page
    with app.app_context(), tenant(shop["org"]):
        a, b = db.session.get(SalesDocument, shop["a"]), db.session.get(SalesDocument, shop["b"])
        assert (a.payment_status, b.payment_status, b.amount_due) == ("paid", "partly_paid", D(500))
        assert balance_of_role("receivables", TODAY) == D(1300)
    # The same form again (a double click, a retried request): one payment, the same page.
    r = client.post("/payments/new/in", data=form_for(shop, key, "3000", a="1000", b="2000"))
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/payments/{pid}")
    assert "already recorded as RCT-" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert count(app, shop["org"], Payment) == 1
    assert count(app, shop["org"], JournalEntry, JournalEntry.source_type == "payment") == 1


def test_refusals_on_the_payment_screen_write_nothing(app, client, shop):
    key = key_of(client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True))
    cases = [
        (form_for(shop, key, "2000", a="1200"), "has only 1,000.00 outstanding"),
        (form_for(shop, key, "500", a="300", b="300"), "more than the 500.00 left of the payment"),
        (form_for(shop, key, "-5"), "Amount"),
        (form_for(shop, key, "abc"), "Amount"),
        (form_for(shop, key, "1e9"), "Amount"),
        (dict(form_for(shop, key, "100"), account_id=""), "Choose a cash or bank account"),
    ]
    for data, message in cases:
        r = client.post("/payments/new/in", data=data)
        assert r.status_code == 422, (data, r.status_code)
        assert message in r.get_data(as_text=True), message
    # Another organization's customer or invoice: not found, never settled.
    assert client.post("/payments/new/in", data=dict(form_for(shop, key, "100"),
                                                     party_id=shop["their_customer"])).status_code == 404
    r = client.post("/payments/new/in", data=dict(form_for(shop, key, "100"), **{f"alloc-{shop['their_invoice']}": "100"}))
    assert r.status_code == 303  # recorded, with the foreign id ignored: it is not one of Metro's open invoices
    assert count(app, shop["org"], Allocation) == 0
    # A locked period.
    with app.app_context(), tenant(shop["org"]):
        from webapp.orgs.models import Organization
        db.session.get(Organization, shop["org"]).lock_date = TODAY
        db.session.commit()
    key = key_of(client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True))
    r = client.post("/payments/new/in", data=form_for(shop, key, "100", a="100"))
    assert r.status_code == 422 and "locked" in r.get_data(as_text=True)
    assert count(app, shop["org"], Payment) == 1


def test_credit_allocated_later_undone_refunded_and_a_payment_cancelled(app, client, shop):
    key = key_of(client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True))
    r = client.post("/payments/new/in", data=dict(form_for(shop, key, "1500", a="1000"), policy="manual"))
    pid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/payments/{pid}").get_data(as_text=True)
    assert "500.00 stays on account as a credit" in page and "Allocate the ₹500.00 credit" in page
    # The same screen allocates the credit, FIFO: B gets it.
    page = client.get(f"/payments/{pid}/allocate").get_data(as_text=True)
    values = dict(re.findall(r'name="alloc-(\d+)" value="([^"]*)"', page))
    assert values == {str(shop["b"]): "500.00", str(shop["c"]): ""}
    r = client.post(f"/payments/{pid}/allocate", data={"policy": "fifo", f"alloc-{shop['b']}": "500.00"})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(Payment, pid).unallocated == 0
        assert db.session.get(SalesDocument, shop["b"]).amount_due == D(2000)
        allocation = db.session.scalars(sa.select(Allocation).where(Allocation.invoice_id == shop["b"])).one()
    # Undo it: B is owed in full again and the 500 a credit again.
    r = client.post(f"/payments/allocations/{allocation.id}/undo", data={})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(SalesDocument, shop["b"]).amount_due == D(2500)
        assert db.session.get(Payment, pid).unallocated == D(500)
    # Refund 200 of the credit; then 400 more is refused (only 300 left).
    page = client.get(f"/payments/{pid}").get_data(as_text=True)
    rkey = key_of(page)
    refund = {"amount": "200", "date": TODAY.isoformat(), "account_id": shop["bank"], "method": "upi", "key": rkey}
    r = client.post(f"/payments/{pid}/refund", data=refund)
    assert r.status_code == 303
    r = client.post(f"/payments/{pid}/refund", data=refund)  # the same form twice
    assert r.status_code == 303 and count(app, shop["org"], Payment, Payment.refund_of_id == pid) == 1
    r = client.post(f"/payments/{pid}/refund", data=dict(refund, amount="400", key="f" * 32))
    assert r.status_code == 422 and "only 300.00 of credit left" in r.get_data(as_text=True)
    with app.app_context(), tenant(shop["org"]):
        assert balance_of_role("receivables", TODAY) == D(4300 - 1500 + 200)
    # Cancel: refused while allocated; the refund first, then the payment once unallocated.
    r = client.post(f"/payments/{pid}/cancel", data={"reason": "Wrong customer", "date": TODAY.isoformat()})
    assert r.status_code == 422 and "undo its allocations first" in r.get_data(as_text=True)


def test_pay_a_supplier_bill_and_the_roles(app, client, shop, make_client):
    page = client.get(f"/purchases/documents/{shop['rent']}").get_data(as_text=True)
    assert "Pay this bill (₹45,000.00 due)" in page
    page = client.get(f"/payments/new/out?party_id={shop['landlord']}&doc_id={shop['rent']}").get_data(as_text=True)
    assert 'value="45000.000"' in page or 'value="45000"' in page or "45,000.00" in page
    key = key_of(page)
    r = client.post("/payments/new/out", data={
        "party_id": shop["landlord"], "amount": "20000", "date": TODAY.isoformat(), "account_id": shop["bank"],
        "method": "cheque", "reference": "CHQ 100231", "policy": "manual", "key": key, f"alloc-{shop['rent']}": "20000"})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        assert balance_of_role("payables", TODAY) == D(-25000)
    assert "PAY-" in client.get(f"/purchases/documents/{shop['rent']}").get_data(as_text=True)
    # A sales user sees customers' payments, not suppliers'.
    with app.app_context():
        add_member(shop["org"], "sales", email="seller@example.com")
    seller = make_client()
    login(seller, "seller@example.com")
    assert seller.get("/payments/received").status_code == 200
    assert seller.get("/payments/made").status_code == 403
    assert seller.get("/payments/aged/supplier").status_code == 403
    assert seller.get(f"/payments/ledger/supplier/{shop['landlord']}").status_code == 403
    assert seller.get(f"/payments/new/out?party_id={shop['landlord']}").status_code == 403
    assert seller.get("/payments/accounts").status_code == 403


def test_cash_and_bank_accounts(app, client, shop):
    r = client.post("/payments/accounts", data={"form": "account", "new-name": "HDFC current 4471", "new-kind": "bank",
                                                "new-description": "IFSC HDFC0001234",
                                                "new-opening_balance": "125000.50", "new-opening_date": TODAY.isoformat()})
    assert r.status_code == 303
    page = client.get("/payments/accounts").get_data(as_text=True)
    assert "1121 · HDFC current 4471" in page and "₹1,25,000.50" in page or "125,000.50" in page
    with app.app_context(), tenant(shop["org"]):
        acc = db.session.scalars(sa.select(Account).where(Account.code == "1121")).one()
        assert acc.is_payment_account and balance_of_role("opening_balance_equity", TODAY) == D("-125000.50")
    # An account with entries gets no opening balance; nothing is posted.
    r = client.post(f"/payments/accounts/{acc.id}/opening", data={"opening_balance": "10", "opening_date": TODAY.isoformat()},
                    follow_redirects=True)
    assert "has entries already" in r.get_data(as_text=True)
    r = client.post("/payments/accounts", data={"form": "account", "new-name": "", "new-kind": "bank"})
    assert r.status_code == 422 and "Give the account a name." in r.get_data(as_text=True)
    r = client.post("/payments/accounts", data={"form": "policy", "policy-policy": "due"})
    assert r.status_code == 303
    assert 'value="due" selected' in client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True) \
        or 'selected value="due"' in client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True)


def test_ledger_statement_aged_and_overdue(app, client, shop):
    key = key_of(client.get(f"/payments/new/in?party_id={shop['metro']}").get_data(as_text=True))
    client.post("/payments/new/in", data=form_for(shop, key, "1500", a="1000", b="500"))
    page = client.get(f"/payments/ledger/customer/{shop['metro']}?date_from={(TODAY - timedelta(days=90)).isoformat()}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Opening balance" in body and "settles INV-" in body
    assert "₹2,800.00" in body  # 4,300 − 1,500
    # The statement PDF from a job.
    r = client.post(f"/payments/ledger/customer/{shop['metro']}/statement",
                    data={"date_from": (TODAY - timedelta(days=90)).isoformat(), "date_to": TODAY.isoformat()},
                    headers=HX)
    job_id = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    drain_jobs(app)
    pdf = client.get(f"/jobs/{job_id}/download")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                              check=True).stdout.decode()
        assert "STATEMENT OF ACCOUNT" in text and "Metro Clinic" in text and "2,800.00" in text
    # Aged receivables: A paid; B (due 10 days ago) 2,000; C not due yet 800. Total = the control account.
    body = client.get("/payments/aged/customer").get_data(as_text=True)
    assert "2,800.00" in body and "✓" in body
    # The row's link (built once for the page) is exactly the drill-down's URL for that day.
    assert f'href="/payments/aged/customer/{shop["metro"]}?as_of={TODAY.isoformat()}"' in body
    body = client.get(f"/payments/aged/customer/{shop['metro']}").get_data(as_text=True)
    assert "2,000.00" in body and "800.00" in body
    r = client.post("/payments/aged/customer/export", data={"as_of": TODAY.isoformat(), "format": "csv"}, headers=HX)
    job_id = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    drain_jobs(app)
    rows = list(csv.reader(io.StringIO(client.get(f"/jobs/{job_id}/download").data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Code", "Customer", "Not yet due"] and rows[-1][1] == "Total"
    assert D(rows[-1][-1]) == D("2800.00") and D(rows[-1][3]) == D("2000.00")
    # Overdue: B is 10 days late; the navigation says 1; the check lists it.
    body = client.get("/payments/overdue").get_data(as_text=True)
    assert 'class="nav-count"' in body and ">1</span>" in body and "Record payment" in body
    r = client.post("/payments/overdue/check", data={}, headers=HX)
    drain_jobs(app)
    with app.app_context(), tenant(shop["org"]):
        job = db.session.scalars(sa.select(Job).where(Job.kind == "overdue_check")).one()
        assert job.status == "done" and job.message.startswith("1 invoice overdue")
        assert b"Metro Clinic" in job.result
    # The daily job from cron: one per organization, once a day.
    result = app.test_cli_runner().invoke(args=["payments", "overdue-alerts"])
    assert result.exit_code == 0, result.output
    assert "organization" in result.output
    assert count(app, shop["org"], Job, Job.kind == "overdue_check") == 1


def test_navigation_count_is_reused_for_its_ttl(app, monkeypatch):
    """The overdue count is one query per organization per NAV_COUNT_TTL seconds, not per page."""
    import time
    from flask import g
    from webapp import nav
    calls = []
    monkeypatch.setitem(nav.NAV_COUNTS, "overdue", lambda: calls.append(1) or len(calls))
    item = next(i for s in nav.NAV for i in s.items if i.count == "overdue")
    with app.test_request_context():
        g.org = type("Org", (), {"id": 424242})()
        assert nav.nav_count(item) == 1 and nav.nav_count(item) == 2      # tests: TTL 0, always fresh
        monkeypatch.setitem(app.config, "NAV_COUNT_TTL", 60)
        assert nav.nav_count(item) == 2 and nav.nav_count(item) == 2      # reused within the minute
        later = time.monotonic() + 61
        monkeypatch.setattr(time, "monotonic", lambda: later)
        assert nav.nav_count(item) == 3 and len(calls) == 3               # and computed again after it


def test_aged_report_shows_a_page_of_parties_and_the_totals_of_all(app, client, shop, monkeypatch):
    from webapp.payments import reports
    with app.app_context(), tenant(shop["org"]):
        kiran = customer("Kiran Stores", payment_terms_days=0)
        sale(kiran, 300, TODAY - timedelta(days=100))
        db.session.commit()
    monkeypatch.setattr(reports, "AGED_PAGE", 1)
    # Kiran (over 90 days) sorts first, Metro (31–60 days and current) second; the totals are both.
    first = client.get("/payments/aged/customer").get_data(as_text=True)
    second = client.get("/payments/aged/customer", query_string={"page": "2"}).get_data(as_text=True)
    assert "Kiran Stores" in first and "Metro Clinic" not in first and "Customers 1–1 of 2" in first
    assert "Metro Clinic" in second and "Kiran Stores" not in second and "← Previous" in second
    for body in (first, second):
        assert "4,600.00" in body and "✓" in body        # 1,000 + 2,500 + 800 + 300 = the receivables account
    for bad in ("abc", "-5", "0", "999", "1" * 30):
        r = client.get("/payments/aged/customer", query_string={"page": bad})
        assert r.status_code == 200 and "4,600.00" in r.get_data(as_text=True)
