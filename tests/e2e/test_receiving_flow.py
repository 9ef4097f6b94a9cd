"""Receiving a purchase order on a phone: scan, type quantity, batch and expiry, post."""
import re
from datetime import date
from decimal import Decimal as D

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE, shot, sign_in
from tests.factories import add_member, create_org
from tests.inventory.helpers import product
from tests.purchases.helpers import order, supplier
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory.models import Batch
from webapp.inventory.queries import on_hand_by_product
from webapp.ledger.queries import balance_of_role
from webapp.purchases.models import GoodsReceipt, PurchaseDocument


def slow_line_saves(monkeypatch, seconds: float) -> None:
    """A slow network: each save of a receipt line takes a while."""
    import time
    from webapp.purchases import services
    save = services.update_receipt_line

    def update_receipt_line(*args, **kwargs):
        time.sleep(seconds)
        return save(*args, **kwargs)
    monkeypatch.setattr(services, "update_receipt_line", update_receipt_line)


def test_receive_a_purchase_order_by_scanning_at_390px(app, live_server, new_page, monkeypatch):
    slow_line_saves(monkeypatch, 0.4)  # and the person types on meanwhile
    with app.app_context():
        org_id, _ = create_org("Ganesh Medicals", email="owner.ganesh@example.com")
        with tenant(org_id):
            cipla = supplier("Cipla Distributors", payment_terms_days=30)
            dolo = product("Dolo 650 tablets", sku="DOLO-650", barcode="8906010500112", batches=True,
                           tax_rate="12", purchase_price="20.00")
            soap = product("Neem soap 75 g", sku="NEEM-75", barcode="8901138511234", tax_rate="18",
                           purchase_price="38.00")
            po = order(cipla, (dolo, 20, "20.00"), (soap, 10, "38.00"), on=date.today())
            po_id, po_number, ids = po.id, po.number, (dolo.id, soap.id)
            db.session.commit()
        add_member(org_id, "storekeeper", email="store.ganesh@example.com")

    page = new_page(PHONE)
    sign_in(page, live_server, "store.ganesh@example.com")
    page.goto(live_server + "/purchases/receipts")
    page.locator(f".receive-row:has-text('{po_number}') button").click()
    page.wait_for_url(re.compile(r"/purchases/receipts/\d+$"))
    expect(page.locator(".receive-line")).to_have_count(2)

    # The scanner types the barcode and Enter: Dolo's line comes to the top, its quantity in focus.
    scan = page.locator("#scan-code")
    scan.click()
    scan.type("8906010500112", delay=5)
    scan.press("Enter")
    first = page.locator(".receive-line").first
    expect(first).to_have_class(re.compile("focus-line"))
    expect(first).to_contain_text("Dolo 650 tablets")
    qty = first.locator("input[name=quantity]")
    expect(qty).to_be_focused()
    # Only 12 of the 20 came today; the rest is a backorder.
    qty.fill("12")
    qty.press("Tab")  # on to the cost, which stays as ordered
    first.locator("input[name=batch_number]").fill("DL2611")
    first.locator("input[name=expiry_date]").fill("2028-06-30")
    first.locator("input[name=expiry_date]").press("Tab")
    expect(page.locator(".receive-line").first.locator("input[name=batch_number]")).to_have_value("DL2611")
    expect(page.locator(".receive-line").first.locator("input[name=expiry_date]")).to_have_value("2028-06-30")

    scan.fill("")
    scan.type("8901138511234", delay=5)
    scan.press("Enter")
    soap_line = page.locator(".receive-line").first
    expect(soap_line).to_contain_text("Neem soap 75 g")
    expect(soap_line.locator("input[name=batch_number]")).to_have_count(0)  # not tracked by batch
    expect(soap_line.locator("input[name=quantity]")).to_have_value("10")
    shot(page, "receiving-scanned-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width}px"

    page.click("text=Post receipt")
    expect(page.locator(".flash-success")).to_contain_text("Received as GRN-")
    expect(page.locator("table")).to_contain_text("DL2611")
    shot(page, "receiving-posted-phone")
    assert not page.js_errors, page.js_errors

    with app.app_context(), tenant(org_id):
        receipt = db.session.scalars(sa.select(GoodsReceipt)).one()
        assert receipt.status == "posted"
        assert on_hand_by_product(list(ids)) == {ids[0]: D("12"), ids[1]: D("10")}
        batch = db.session.scalars(sa.select(Batch).where(Batch.product_id == ids[0])).one()
        assert (batch.number, batch.expiry_date) == ("DL2611", date(2028, 6, 30))
        assert balance_of_role("inventory", date.today()) == D("620.00")  # 12 × 20 + 10 × 38
        assert db.session.get(PurchaseDocument, po_id).status == "partly_received"

    # The owner sees the backorder on the order, on a desktop.
    desk = new_page(DESKTOP)
    sign_in(desk, live_server, "owner.ganesh@example.com")
    desk.goto(live_server + f"/purchases/documents/{po_id}")
    expect(desk.locator("table.match")).to_contain_text("8 to come")
    shot(desk, "purchase-order-match-desktop")
    assert not desk.js_errors, desk.js_errors


def test_a_scan_queued_behind_a_replaced_line_is_still_sent(app, live_server, new_page, monkeypatch):
    # A save is on its way; the same line's form fires again (queued), then a scan (queued behind
    # it). The save's answer replaces the line's form, so the queued save from the old form is
    # dropped; the scan behind it must still go (htmx stalls its queue there on its own).
    slow_line_saves(monkeypatch, 0.5)
    with app.app_context():
        org_id, _ = create_org("Kaveri Stores", email="owner.kaveri@example.com")
        with tenant(org_id):
            agro = supplier("Kaveri Agro Supplies")
            rice = product("Sona masoori rice 5 kg", sku="RICE-5", barcode="8904567000011", purchase_price="310.00")
            oil = product("Groundnut oil 1 l", sku="GNUT-1", barcode="8904567000028", purchase_price="180.00")
            po = order(agro, (rice, 4, "310.00"), (oil, 6, "180.00"), on=date.today())
            po_number = po.number
            db.session.commit()

    page = new_page(PHONE)
    sign_in(page, live_server, "owner.kaveri@example.com")
    page.goto(live_server + "/purchases/receipts")
    page.locator(f".receive-row:has-text('{po_number}') button").click()
    page.wait_for_url(re.compile(r"/purchases/receipts/\d+$"))
    expect(page.locator(".receive-line").first).to_contain_text("Sona masoori rice 5 kg")
    page.evaluate("""() => {
        const qty = document.querySelector('.receive-line input[name=quantity]');
        qty.value = '3';
        qty.dispatchEvent(new Event('change', {bubbles: true}));   // sent
        qty.dispatchEvent(new Event('change', {bubbles: true}));   // queued: its form is replaced first
        document.querySelector('#scan-code').value = '8904567000028';
        document.querySelector('.quick-scan').requestSubmit();     // queued behind it
    }""")
    first = page.locator(".receive-line").first
    expect(first).to_contain_text("Groundnut oil 1 l")
    expect(first).to_have_class(re.compile("focus-line"))
    expect(page.locator(".receive-line:has-text('Sona masoori rice 5 kg') input[name=quantity]")).to_have_value("3")
    assert not page.js_errors, page.js_errors
