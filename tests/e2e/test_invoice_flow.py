"""At 390 px: an invoice with three lines through the htmx editor, posted, its PDF downloaded and read."""
import re
import shutil
import subprocess
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, shot, sign_in
from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer
from webapp.core.tenancy import tenant
from webapp.extensions import db


def pick(page, container, text, option_text):
    box = container.locator("[data-combobox-input]").first
    box.click()
    box.fill(text)
    page.locator(".combobox-option", has_text=option_text).first.click()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (pdftotext)")
def test_three_line_invoice_on_a_phone(app, live_server, new_page, tmp_path):
    with app.app_context():
        org_id, _ = create_org("Lotus Pharmacy", email="phone-invoice@example.com")
        with tenant(org_id):
            for name, sku, price, rate in [("Dolo 650 tablets", "DOLO", "32", "12"), ("Neem soap", "SOAP", "55", "18"),
                                           ("ORS sachet", "ORS", "21", "5")]:
                receive(product(name, sku=sku, sale_price=price, tax_rate=rate, hsn_code="30049099"), 50, "10",
                        on=date.today())
            customer("Metro Clinic", tax_id="29AAGCB7383J1Z4")
            db.session.commit()
    page = new_page(PHONE)
    sign_in(page, live_server, "phone-invoice@example.com")
    page.goto(live_server + "/sales/invoices")
    page.click("button:has-text('New invoice')")
    page.wait_for_url(re.compile(r"/sales/documents/\d+$"))
    pick(page, page.locator(".doc-head"), "metro", "Metro Clinic")
    page.wait_for_selector(".doc-head .hint:has-text('29AAGCB7383J1Z4')")

    for i, (search, label, qty) in enumerate([("dolo", "Dolo 650", "10"), ("neem", "Neem soap", "2"),
                                               ("ors", "ORS sachet", "5")]):
        if i:
            page.click("button:has-text('+ Add line')")
            expect(page.locator("#doc-lines tr")).to_have_count(i + 1)
        row = page.locator("#doc-lines tr").nth(i)
        pick(page, row, search, label)
        expect(page.locator("#doc-lines tr").nth(i).locator("[name=unit_price]")).not_to_have_value("")
        row = page.locator("#doc-lines tr").nth(i)
        row.locator("input[name=quantity]").fill(qty)
        row.locator("input[name=quantity]").press("Tab")
        page.wait_for_timeout(400)
    # 10 × 32 = 320 (12 %: CGST 19.20, SGST 19.20); 2 × 55 = 110 (18 %: 9.90 each); 5 × 21 = 105 (5 %: 2.63 each)
    # 535.00 + 63.46 = 598.46 → 598.00
    page.wait_for_selector("#doc-totals:has-text('598.00')")
    totals = page.inner_text("#doc-totals")
    assert "CGST 6 %" in totals and "19.20" in totals and "CGST 2.5 %" in totals
    shot(page, "invoice-editor-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the editor is wider than the phone: {width}px"
    page.click("button:has-text('Post invoice')")
    page.wait_for_selector("text=Posted as INV-")
    number = re.search(r"INV-[0-9-]+", page.inner_text(".flashes")).group(0)
    shot(page, "invoice-posted-phone")
    page.click("button:has-text('PDF')")
    link = page.wait_for_selector("#export-slot a:has-text('Download')", timeout=30_000)
    with page.expect_download() as dl:
        link.click()
    path = tmp_path / "invoice.pdf"
    dl.value.save_as(path)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    for expected in (number, "CGST", "SGST", "19.20", "9.90", "2.63", "598.00", "Metro Clinic"):
        assert expected in text, expected
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(path),
                    str(shot.__globals__["ARTIFACTS"] / "invoice-pdf")], check=True)
    assert not page.js_errors, page.js_errors


def test_a_quantity_typed_while_the_line_saves_is_kept_and_saved(app, live_server, new_page):
    """On a slow connection the shop assistant picks a product and types the quantity before the
    line has come back: the quantity must survive the swap and be saved in its turn."""
    with app.app_context():
        org_id, _ = create_org("Slow Shop", email="slow-line@example.com")
        with tenant(org_id):
            receive(product("Dolo 650 tablets", sku="DOLO", sale_price="32", tax_rate="12"), 50, "10", on=date.today())
            customer("Metro Clinic")
            db.session.commit()
    page = new_page(PHONE)
    sign_in(page, live_server, "slow-line@example.com")
    page.goto(live_server + "/sales/invoices")
    page.click("button:has-text('New invoice')")
    page.wait_for_url(re.compile(r"/sales/documents/\d+$"))
    pick(page, page.locator(".doc-head"), "metro", "Metro Clinic")
    page.wait_for_selector(".doc-head .hint")
    held = []

    def slow(route):            # every line save takes 1.2 s to come back
        held.append(route.request.url)
        page.wait_for_timeout(1200)
        route.continue_()
    page.route(re.compile(r"/sales/documents/\d+/lines/\d+$"), slow)
    row = page.locator("#doc-lines tr").first
    pick(page, row, "dolo", "Dolo 650")
    qty = row.locator("input[name=quantity]")
    qty.fill("7")               # typed while the product's save is still on its way
    qty.press("Tab")
    # 7 × 32 = 224.00 + 12 % (CGST 13.44 + SGST 13.44) = 250.88 → 251.00
    page.wait_for_selector("#doc-totals:has-text('251.00')", timeout=15_000)
    expect(page.locator("#doc-lines tr").first.locator("input[name=quantity]")).to_have_value("7")
    page.unroute(re.compile(r"/sales/documents/\d+/lines/\d+$"))
    page.reload()
    expect(page.locator("#doc-lines tr").first.locator("input[name=quantity]")).to_have_value("7")
    assert len(held) >= 2       # the product, then the quantity
