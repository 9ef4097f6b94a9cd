"""At 390 px: a payment received that FIFO spreads over three invoices, the preview live as the amount is typed."""
import re
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, shot, sign_in
from tests.factories import create_org
from tests.payments.helpers import customer, sale
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.queries import balance_of_role
from webapp.payments.models import Payment
from webapp.sales.models import SalesDocument


def test_a_payment_spread_fifo_over_three_invoices_at_390px(app, live_server, new_page):
    today = date.today()
    with app.app_context():
        org_id, _ = create_org("Sunrise Chemists", email="pay-phone@example.com")
        with tenant(org_id):
            metro = customer("Metro Clinic", payment_terms_days=15)
            customer("Metro Diagnostics")
            invoices = [sale(metro, amount, today - timedelta(days=days)).id
                        for amount, days in ((1200, 45), (800, 30), (1500, 20), (600, 5))]
            db.session.commit()
    page = new_page(PHONE)
    sign_in(page, live_server, "pay-phone@example.com")
    page.goto(live_server + "/payments/received")
    page.click("text=Receive a payment")
    page.wait_for_url(re.compile(r"/payments/new/in$"))
    box = page.locator("#party-field [data-combobox-input]")
    box.click()
    box.fill("metro cl")
    page.locator(".combobox-option", has_text="Metro Clinic").first.click()
    rows = page.locator(".alloc-table tbody tr")
    expect(rows).to_have_count(4)
    # 3,000 typed: FIFO pays the two oldest in full and 1,000 of the third.
    page.locator("#amount").fill("3000")
    expect(page.locator(f"#alloc-{invoices[0]}")).to_have_value("1,200.00")
    expect(page.locator(f"#alloc-{invoices[1]}")).to_have_value("800.00")
    expect(page.locator(f"#alloc-{invoices[2]}")).to_have_value("1,000.00")
    expect(page.locator(f"#alloc-{invoices[3]}")).to_have_value("")
    expect(page.locator(".alloc-summary .grand")).to_contain_text("0.00")
    page.select_option("#method", "upi")
    page.fill("#reference", "UPI 4471-8812")
    shot(page, "payment-fifo-preview-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width}px"
    page.click("text=Record payment received")
    expect(page.locator(".flash-success")).to_contain_text("Recorded as RCT-")
    expect(page.locator("table")).to_contain_text("Paid")
    shot(page, "payment-recorded-phone")
    assert not page.js_errors, page.js_errors
    with app.app_context(), tenant(org_id):
        statuses = [db.session.get(SalesDocument, i).payment_status for i in invoices]
        assert statuses == ["paid", "paid", "partly_paid", "unpaid"]
        assert db.session.get(SalesDocument, invoices[2]).amount_due == D(500)
        payment = db.session.scalars(sa.select(Payment)).one()
        assert (payment.amount, payment.allocated_amount, payment.method) == (D(3000), D(3000), "upi")
        assert balance_of_role("receivables", today) == D(1100)

    # On a desktop: the customer's ledger and the aged receivables agree.
    desk = new_page(DESKTOP)
    sign_in(desk, live_server, "pay-phone@example.com")
    desk.goto(live_server + "/payments/aged/customer")
    expect(desk.locator("table.aged tfoot")).to_contain_text("1,100.00")
    expect(desk.locator(".stat-note").first).to_contain_text("✓")
    shot(desk, "aged-receivables-desktop")
    # Its CSV download: a job whose link holds the report (the buttons once sat inside the filter
    # form, which the browser submitted instead).
    desk.click("text=Download CSV")
    link = desk.wait_for_selector("#export-slot a:has-text('Download')", timeout=30_000)
    assert desk.url.endswith("/payments/aged/customer")
    with desk.expect_download() as dl:
        link.click()
    csv_text = Path(dl.value.path()).read_text(encoding="utf-8-sig")
    assert "Total" in csv_text and "1100" in csv_text.replace(",", "").replace(".00", "")
    assert not desk.js_errors, desk.js_errors
