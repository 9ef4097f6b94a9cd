"""Shop-floor stock lookup on a phone: part of a name, then a scanned barcode and Enter."""
import re
from datetime import date
from decimal import Decimal as D

from tests.e2e.conftest import PHONE, shot
from tests.factories import PASSWORD, create_org
from tests.inventory.helpers import product, receive
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import services


def test_lookup_by_name_and_by_scanned_barcode_at_390px(app, live_server, new_page):
    with app.app_context():
        org_id, _ = create_org("Shelf Mart", email="floor@example.com")
        with tenant(org_id):
            dolo = product("Dolo 650 tablets", sku="DOLO-650", barcode="8906010500112", batches=True, sale_price="32")
            product("Dettol soap 125 g", sku="DET-125", barcode="8901396310012", sale_price="55")
            b = services.batch_for(dolo, "DL24A", date(2027, 3, 31), D("34"))
            receive(dolo, 60, "21", batch=b, on=date.today())
            db.session.commit()
    page = new_page(PHONE)
    page.goto(live_server + "/login")
    page.fill("#email", "floor@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/home$"))
    page.goto(live_server + "/stock/lookup")
    box = page.locator("#lookup-q")
    box.click()
    box.type("olo 6", delay=40)
    page.wait_for_selector(".stock-card:has-text('Dolo 650 tablets')")
    card = page.locator(".stock-card").first
    assert "DL24A" in card.inner_text() and "60" in card.inner_text()
    assert page.locator(".stock-card").count() == 1
    shot(page, "stock-lookup-by-name-phone")
    # A keyboard-wedge scanner: digits typed fast, then Enter.
    box.fill("")
    box.type("8901396310012", delay=5)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/products/\d+$"))
    assert "Dettol soap 125 g" in page.inner_text("h1")
    shot(page, "stock-lookup-scanned-phone")
    assert page.viewport_size["width"] == 390
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is wider than the phone: {width}px"
    assert not page.js_errors, page.js_errors
