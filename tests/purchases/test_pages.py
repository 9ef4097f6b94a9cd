"""Purchasing through its pages: order editor, receiving by scan, bills, attachments, refusals."""
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
from tests.inventory.helpers import product
from tests.purchases.helpers import order, supplier
from webapp.core.jobs import Job
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory.models import StockMove
from webapp.inventory.queries import on_hand_by_product
from webapp.ledger.models import JournalEntry
from webapp.ledger.queries import balance_of_role
from webapp.catalog.models import Product
from webapp.parties.models import Party
from webapp.purchases import services
from webapp.purchases.models import Attachment, GoodsReceipt, GoodsReceiptLine, PurchaseDocument

HX = {"HX-Request": "true"}
TODAY = date.today()
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture
def shop(app, client):
    with app.app_context():
        org_id, _ = create_org("Lotus Pharmacy", email="lotus@example.com")
        with tenant(org_id):
            cipla = supplier("Cipla Distributors", tax_id="29AAGCB7383J1Z4", payment_terms_days=30)
            dolo = product("Dolo 650 tablets", sku="DOLO", barcode="8906010500112", sale_price="32", tax_rate="12",
                           batches=True, purchase_price="20.00")
            soap = product("Neem soap", sku="SOAP", barcode="8901138511234", sale_price="55", tax_rate="18",
                           purchase_price="38.00")
            db.session.commit()
            ids = dict(org=org_id, cipla=cipla.id, dolo=dolo.id, soap=soap.id)
        other, _ = create_org("Other Shop", email="other@example.com")
        with tenant(other):
            ids["their_supplier"] = supplier("Their Supplier").id
            ids["their_product"] = product("Their product", sku="THEIRS").id
            db.session.commit()
    login(client, "lotus@example.com")
    return ids


def version_of(html):
    return re.search(r'id="doc-version" name="version" value="(\d+)"', html).group(1)


def count(app, org_id, model):
    with app.app_context(), tenant(org_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def new_order(client, shop):
    r = client.post("/purchases/new/order", data={"supplier_id": shop["cipla"]})
    assert r.status_code == 303
    doc_id = int(r.headers["Location"].rsplit("/", 1)[1])
    return doc_id, client.get(f"/purchases/documents/{doc_id}").get_data(as_text=True)


def set_line(client, doc_id, line_id, version, **fields):
    r = client.post(f"/purchases/documents/{doc_id}/lines/{line_id}", headers=HX, data=dict(fields, version=version))
    return r, r.get_data(as_text=True)


def sent_order(app, shop, *lines):
    with app.app_context(), tenant(shop["org"]):
        from webapp.catalog.models import Product
        from webapp.parties.models import Party
        doc = order(db.session.get(Party, shop["cipla"]),
                    *[(db.session.get(Product, shop[p]), q, price) for p, q, price in lines], on=TODAY)
        db.session.commit()
        return doc.id


def start_receipt(client, order_id):
    r = client.post("/purchases/receipts/new", data={"order_id": order_id})
    assert r.status_code == 303, r.get_data(as_text=True)
    rid = int(r.headers["Location"].rsplit("/", 1)[1])
    return rid, client.get(f"/purchases/receipts/{rid}").get_data(as_text=True)


def test_order_receive_by_scan_bill_and_attach(app, client, shop):
    doc_id, page = new_order(client, shop)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r, body = set_line(client, doc_id, line, version_of(page), product_id=shop["dolo"], quantity="20")
    assert r.status_code == 200 and "<html" not in body
    assert 'value="20.00"' in body  # the product's purchase price came in
    r, body = set_line(client, doc_id, line, version_of(body), product_id=shop["dolo"], quantity="20",
                       unit_price="20.00", tax_rate="12")
    assert "400.00" in body and "448.00" in body  # 20 × 20 + 12 % GST
    r = client.post(f"/purchases/documents/{doc_id}/send", data={"version": version_of(body)})
    assert r.status_code == 303
    drain_jobs(app)
    with app.app_context(), tenant(shop["org"]):
        po = db.session.get(PurchaseDocument, doc_id)
        assert po.status == "sent" and po.number.startswith("PO-")
        number = po.number
        job = db.session.scalars(sa.select(Job).where(Job.kind == "purchase_pdf")).one()
        assert job.status == "done" and job.result.startswith(b"%PDF") and job.result_name == f"{number}.pdf"
        pdf = job.result
    assert count(app, shop["org"], JournalEntry) == 0  # an order books nothing
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()
        assert "PURCHASE ORDER" in text and number in text and "Cipla Distributors" in text
        assert "Dolo 650 tablets" in text and "448.00" in text and "CGST 6 %" in text

    # Receive 12 on the phone: scan, type quantity, batch and expiry.
    rid, page = start_receipt(client, doc_id)
    assert "Dolo 650 tablets" in page and 'id="scan-code"' in page
    r = client.post(f"/purchases/receipts/{rid}/scan", headers=HX, data={"code": "8906010500112",
                                                                       "version": version_of(page)})
    assert r.status_code == 200
    body = r.get_data(as_text=True)
    rline = re.findall(r'id="rline-(\d+)"', body)[0]
    assert "focus-line" in body and "autofocus" in body
    r = client.post(f"/purchases/receipts/{rid}/lines/{rline}", headers=HX, data={
        "product_id": shop["dolo"], "quantity": "12", "unit_cost": "20.00", "batch_number": "DL2611",
        "expiry_date": "2028-06-30", "mrp": "35.00", "version": version_of(body)})
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_data(as_text=True)
    assert 'value="DL2611"' in body and 'value="2028-06-30"' in body
    r = client.post(f"/purchases/receipts/{rid}/post", data={"version": version_of(body)})
    assert r.status_code == 303
    page = client.get(f"/purchases/receipts/{rid}").get_data(as_text=True)
    assert "Received as GRN-" in page
    # A double submit of the same form does nothing more.
    r = client.post(f"/purchases/receipts/{rid}/post", data={"version": version_of(body)}, follow_redirects=True)
    assert "already posted" in r.get_data(as_text=True)
    with app.app_context(), tenant(shop["org"]):
        assert on_hand_by_product([shop["dolo"]])[shop["dolo"]] == D("12")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)) == 1
        assert balance_of_role("inventory", TODAY) == D("240.00")
        assert balance_of_role("grni", TODAY) == D("-240.00")
        assert db.session.get(PurchaseDocument, doc_id).status == "partly_received"
    page = client.get(f"/purchases/documents/{doc_id}").get_data(as_text=True)
    assert "8 to come" in page and "12 not billed" in page

    # The bill from the receipt, at 20.50 a strip; the tax typed as printed.
    r = client.post(f"/purchases/receipts/{rid}/bill", data={})
    assert r.status_code == 303
    bill_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/purchases/documents/{bill_id}").get_data(as_text=True)
    bline = re.findall(r'id="line-(\d+)"', page)[0]
    r, body = set_line(client, bill_id, bline, version_of(page), product_id=shop["dolo"], quantity="12",
                       unit_price="20.50", tax_rate="12")
    assert "246.00" in body and "29.52" in body  # 12 × 20.50; GST 12 %
    r = client.post(f"/purchases/documents/{bill_id}/header", headers=HX, data={
        "supplier_id": shop["cipla"], "date": TODAY.isoformat(), "supplier_reference": "CD/2026/0778",
        "supplier_date": TODAY.isoformat(), "typed_tax": "29.50", "version": version_of(body)})
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.post(f"/purchases/documents/{bill_id}/post", data={"version": version_of(r.get_data(as_text=True))})
    assert r.status_code == 303
    page = client.get(f"/purchases/documents/{bill_id}").get_data(as_text=True)
    assert "Posted as BILL-" in page and "CD/2026/0778" in page and "the difference went to rounding" in page
    with app.app_context(), tenant(shop["org"]):
        bill = db.session.get(PurchaseDocument, bill_id)
        # 246.00 + typed tax 29.50 = 275.50 owed; the computed 29.52 lost 0.02 to rounding.
        assert bill.grand_total == D("275.50") and bill.tax_difference == D("-0.02")
        assert balance_of_role("payables", TODAY) == D("-275.50")
        assert balance_of_role("grni", TODAY) == D("0")
        assert balance_of_role("inventory", TODAY) == D("246.00")  # 12 strips revalued by 0.50 each
        assert bill.due_date == TODAY + timedelta(days=30)

    # The scanned bill: kept under a generated name, downloaded under a safe one.
    r = client.post(f"/purchases/documents/{bill_id}/attachments",
                    data={"file": (io.BytesIO(PDF), "../../etc/Cipla bill.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 303
    page = client.get(f"/purchases/documents/{bill_id}").get_data(as_text=True)
    att_id = re.search(r'/purchases/attachments/(\d+)', page).group(1)
    assert "Cipla bill.pdf" in page and "etc/" not in page
    r = client.get(f"/purchases/attachments/{att_id}")
    assert r.status_code == 200 and r.data == PDF and r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith('attachment; filename="BILL-')
    with app.app_context(), tenant(shop["org"]):
        att = db.session.get(Attachment, int(att_id))
        assert re.fullmatch(r"[0-9a-f]{32}\.pdf", att.stored_name)

    # Bills list and the order's match.
    assert "CD/2026/0778" in client.get("/purchases/bills?status=unpaid").get_data(as_text=True)
    page = client.get(f"/purchases/documents/{doc_id}").get_data(as_text=True)
    assert "8 to come" in page and "not billed" not in page and "+6.00" in page


def test_receiving_lines_keep_the_order_the_screen_shows(app, client, shop):
    """A scan brings its line to the top; an answer to anything else keeps the order the screen
    sent (a save queued behind a scan does not pull its own line back up); an order that is not
    this receipt's lines, or not numbers, is ignored, never an error."""
    rid, page = start_receipt(client, sent_order(app, shop, ("dolo", 20, "20.00"), ("soap", 10, "38.00")))

    def order_of(html):
        return [int(i) for i in re.findall(r'id="rline-(\d+)"', html)]

    dolo_line, soap_line = order_of(page)
    assert re.search(r'id="receipt-order" name="order" value="%d,%d"' % (dolo_line, soap_line), page)
    r = client.post(f"/purchases/receipts/{rid}/scan", headers=HX, data={
        "code": "8901138511234", "version": version_of(page), "order": f"{dolo_line},{soap_line}"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and order_of(body) == [soap_line, dolo_line]
    assert 'value="%d,%d"' % (soap_line, dolo_line) in body
    # Dolo's batch, typed before the scan, saved after it: the soap stays on top.
    r = client.post(f"/purchases/receipts/{rid}/lines/{dolo_line}", headers=HX, data={
        "product_id": shop["dolo"], "quantity": "12", "unit_cost": "20.00", "batch_number": "DL2611",
        "expiry_date": "2028-06-30", "version": version_of(body), "order": f"{soap_line},{dolo_line}"})
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and order_of(body) == [soap_line, dolo_line] and 'value="DL2611"' in body
    # A new line comes first; the rest keep their places.
    r = client.post(f"/purchases/receipts/{rid}/lines", headers=HX, data={
        "version": version_of(body), "order": f"{soap_line},{dolo_line}"})
    body = r.get_data(as_text=True)
    new_line = order_of(body)[0]
    assert order_of(body) == [new_line, soap_line, dolo_line]
    for junk in ("", "x,y", "-1,,3", "9" * 40, ",".join(["1"] * 5000), f"{dolo_line},{dolo_line},999999999",
                 "١٢"):
        r = client.post(f"/purchases/receipts/{rid}/lines/{soap_line}", headers=HX, data={
            "product_id": shop["soap"], "quantity": "10", "unit_cost": "38.00", "version": version_of(body),
            "order": junk})
        body = r.get_data(as_text=True)
        assert r.status_code == 200, (junk, body[:300])
        assert sorted(order_of(body)) == sorted([new_line, soap_line, dolo_line]), junk


def test_a_direct_bill_for_an_expense(app, client, shop):
    r = client.post("/purchases/new/bill", data={"supplier_id": shop["cipla"]})
    bill_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/purchases/documents/{bill_id}").get_data(as_text=True)
    account = re.search(r'<option value="(\d+)"[^>]*>[^<]*Rent', page)
    assert account, "the expense accounts are offered on a direct bill"
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r, body = set_line(client, bill_id, line, version_of(page), account_id=account.group(1),
                       description="Shop rent, November", quantity="1", unit_price="15000", tax_rate="18")
    assert r.status_code == 200, body
    r = client.post(f"/purchases/documents/{bill_id}/header", headers=HX, data={
        "supplier_id": shop["cipla"], "date": TODAY.isoformat(), "supplier_reference": "RENT-11",
        "version": version_of(body)})
    r = client.post(f"/purchases/documents/{bill_id}/post", data={"version": version_of(r.get_data(as_text=True))})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        assert balance_of_role("payables", TODAY) == D("-17700.00")
        assert balance_of_role("input_cgst", TODAY) == D("1350.00")
        assert balance_of_role("input_sgst", TODAY) == D("1350.00")
        assert balance_of_role("grni", TODAY) == D("0")


def test_refusals_write_nothing(app, client, shop, monkeypatch):
    po = sent_order(app, shop, ("dolo", 10, "20.00"), ("soap", 5, "38.00"))
    rid, page = start_receipt(client, po)
    lines = re.findall(r'id="rline-(\d+)"', page)
    v = version_of(page)

    # More than ordered: refused next to the quantity, the line keeps its 10.
    r = client.post(f"/purchases/receipts/{rid}/lines/{lines[0]}", headers=HX, data={
        "product_id": shop["dolo"], "quantity": "11", "unit_cost": "20", "batch_number": "B1",
        "expiry_date": "2028-01-31", "version": v})
    assert r.status_code == 422
    assert "Only 10 more were ordered" in r.get_data(as_text=True)
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(GoodsReceiptLine, int(lines[0])).quantity == D("10")
    # Bad numbers are refused by the form.
    for bad in ("-1", "abc", "1e9999", "99999999999999999"):
        r = client.post(f"/purchases/receipts/{rid}/lines/{lines[0]}", headers=HX, data={
            "product_id": shop["dolo"], "quantity": bad, "version": v})
        assert r.status_code == 422, bad

    # A batch-tracked line without a batch: the receipt is not posted.
    r = client.post(f"/purchases/receipts/{rid}/post", data={"version": v})
    assert r.status_code == 422 and "tracked by batch" in r.get_data(as_text=True)
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(GoodsReceipt, rid).status == "draft"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)) == 0
        assert db.session.get(PurchaseDocument, po).lines[0].received_quantity == 0

    # A stale form (someone else changed the receipt) is refused, not merged.
    r = client.post(f"/purchases/receipts/{rid}/lines/{lines[0]}", headers=HX, data={
        "product_id": shop["dolo"], "quantity": "10", "batch_number": "B1", "expiry_date": "2028-01-31",
        "version": v})
    assert r.status_code == 200
    r = client.post(f"/purchases/receipts/{rid}/lines/{lines[1]}", headers=HX, data={
        "product_id": shop["soap"], "quantity": "4", "version": v})
    assert r.status_code == 409 and "changed" in r.get_data(as_text=True)

    # A date in a locked period.
    with app.app_context(), tenant(shop["org"]):
        from webapp.orgs.models import Organization
        db.session.get(Organization, shop["org"]).lock_date = TODAY
        db.session.commit()
    page = client.get(f"/purchases/receipts/{rid}").get_data(as_text=True)
    r = client.post(f"/purchases/receipts/{rid}/post", data={"version": version_of(page)})
    assert r.status_code == 422 and "locked" in r.get_data(as_text=True)
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(GoodsReceipt, rid).status == "draft"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == 0
        db.session.get(Organization, shop["org"]).lock_date = None
        db.session.commit()

    # Another organization's supplier, product or order is not found, and nothing changes.
    doc_id, page = new_order(client, shop)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r = client.post(f"/purchases/documents/{doc_id}/header", headers=HX, data={
        "supplier_id": shop["their_supplier"], "date": TODAY.isoformat(), "version": version_of(page)})
    assert r.status_code == 404
    r, _ = set_line(client, doc_id, line, version_of(page), product_id=shop["their_product"], quantity="1")
    assert r.status_code == 404
    assert client.post("/purchases/new/order", data={"supplier_id": shop["their_supplier"]}).status_code == 404
    assert client.post("/purchases/receipts/new", data={"supplier_id": shop["their_supplier"]}).status_code == 404
    with app.app_context(), tenant(shop["org"]):
        doc = db.session.get(PurchaseDocument, doc_id)
        assert doc.supplier_id == shop["cipla"] and doc.lines[0].product_id is None

    # An attachment of the wrong type, or too big.
    bill_id = int(client.post("/purchases/new/bill", data={"supplier_id": shop["cipla"]})
                  .headers["Location"].rsplit("/", 1)[1])
    for data, name, message in ((b"MZ\x90\x00 not a scan", "bill.pdf", "Attach a PDF, PNG or JPEG file."),
                                (b"", "empty.pdf", "The file is empty."),
                                (b"<svg onload=alert(1)>", "bill.svg", "Attach a PDF, PNG or JPEG file.")):
        r = client.post(f"/purchases/documents/{bill_id}/attachments", data={"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")
        assert r.status_code == 422 and message in r.get_data(as_text=True), name
    monkeypatch.setattr(services, "MAX_ATTACHMENT_BYTES", 2048)
    r = client.post(f"/purchases/documents/{bill_id}/attachments",
                    data={"file": (io.BytesIO(PDF + b"0" * 4096), "big.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 422 and "attachments are at most 2 KB" in r.get_data(as_text=True)
    assert count(app, shop["org"], Attachment) == 0


def test_the_same_supplier_bill_number_twice_is_refused(app, client, shop):
    def bill(ref):
        r = client.post("/purchases/new/bill", data={"supplier_id": shop["cipla"]})
        bill_id = int(r.headers["Location"].rsplit("/", 1)[1])
        page = client.get(f"/purchases/documents/{bill_id}").get_data(as_text=True)
        line = re.findall(r'id="line-(\d+)"', page)[0]
        account = re.search(r'<option value="(\d+)"[^>]*>[^<]*Rent', page).group(1)
        r, body = set_line(client, bill_id, line, version_of(page), account_id=account, description="Rent",
                           quantity="1", unit_price="1000", tax_rate="18")
        r = client.post(f"/purchases/documents/{bill_id}/header", headers=HX, data={
            "supplier_id": shop["cipla"], "date": TODAY.isoformat(), "supplier_reference": ref,
            "version": version_of(body)})
        return bill_id, r

    first, r = bill("INV-77")
    assert r.status_code == 200
    page = client.get(f"/purchases/documents/{first}").get_data(as_text=True)
    assert client.post(f"/purchases/documents/{first}/post", data={"version": version_of(page)}).status_code == 303
    second, r = bill("INV-77")
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Cipla Distributors&#39;s bill INV-77 is already recorded as BILL-" in body
    assert 'value="INV-77"' in body  # what was typed stays, beside the message
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(PurchaseDocument, second).supplier_reference is None
    # The refusal changed nothing, so the page's version is still the document's: the next edit goes through.
    r = client.post(f"/purchases/documents/{second}/header", headers=HX, data={
        "supplier_id": shop["cipla"], "date": TODAY.isoformat(), "supplier_reference": "INV-78",
        "version": version_of(body)})
    assert r.status_code == 200
    # The same number from another supplier is their own business.
    with app.app_context(), tenant(shop["org"]):
        shop["cipla"] = supplier("Sun Pharma").id
        db.session.commit()
    _, r = bill("INV-77")
    assert r.status_code == 200


def test_reorder_makes_one_draft_order_per_supplier_once(app, client, shop):
    with app.app_context(), tenant(shop["org"]):
        from webapp.catalog.models import Product
        dolo, soap = db.session.get(Product, shop["dolo"]), db.session.get(Product, shop["soap"])
        dolo.preferred_supplier_id = shop["cipla"]
        dolo.reorder_point, dolo.reorder_quantity = D(20), D(100)
        soap.reorder_point = D(5)  # no preferred supplier
        db.session.commit()
    page = client.get("/stock/reports/reorder").get_data(as_text=True)
    assert "Make draft orders" in page
    r = client.post("/purchases/reorder", data={}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "1 draft purchase order made" in body and "without a preferred supplier" in body and "Neem soap" in body
    with app.app_context(), tenant(shop["org"]):
        docs = list(db.session.scalars(sa.select(PurchaseDocument)))
        assert len(docs) == 1 and docs[0].status == "draft" and docs[0].supplier_id == shop["cipla"]
        assert [(l.product_id, l.quantity, l.unit_price) for l in docs[0].lines] == [(shop["dolo"], D(100), D(20))]
    # Pressing it again orders nothing twice: Dolo is on an open order now.
    r = client.post("/purchases/reorder", data={}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert "already on open purchase orders" in body and "No draft orders were made" in body
    assert count(app, shop["org"], PurchaseDocument) == 1
    assert ">100<" in client.get("/stock/reports/reorder").get_data(as_text=True).replace(".000", "")


def test_the_over_receipt_setting(app, client, shop):
    r = client.post("/stock/settings", data={"allow_over_receipt": "y"})
    assert r.status_code == 303
    po = sent_order(app, shop, ("soap", 5, "38.00"))
    rid, page = start_receipt(client, po)
    line = re.findall(r'id="rline-(\d+)"', page)[0]
    r = client.post(f"/purchases/receipts/{rid}/lines/{line}", headers=HX, data={
        "product_id": shop["soap"], "quantity": "6", "unit_cost": "38", "version": version_of(page)})
    assert r.status_code == 200
    assert client.post(f"/purchases/receipts/{rid}/post",
                       data={"version": version_of(r.get_data(as_text=True))}).status_code == 303
    assert "(1 over)" in client.get(f"/purchases/documents/{po}").get_data(as_text=True)
    # A storekeeper receives but does not change the setting or post bills.
    with app.app_context():
        add_member(shop["org"], "storekeeper", email="store@example.com")
    client.post("/logout", data={})
    login(client, "store@example.com")
    assert client.post("/stock/settings", data={"allow_over_receipt": ""}).status_code == 403
    assert client.get("/purchases/receipts").status_code == 200


def test_whoever_sends_orders_cancels_them_and_only_who_posts_bills_cancels_a_bill(app, make_client, shop):
    """A storekeeper drafts and sends orders, so cancels one; a posted bill (a journal to reverse)
    is cancelled only by a role that posts bills."""
    from tests.payments.helpers import bill
    with app.app_context(), tenant(shop["org"]):
        cipla = db.session.get(Party, shop["cipla"])
        sent = order(cipla, (db.session.get(Product, shop["soap"]), 5, "38.00")).id
        posted = bill(cipla, 1000, date(2026, 5, 6)).id
        db.session.commit()
        add_member(shop["org"], "storekeeper", email="store@example.com")
        add_member(shop["org"], "accountant", email="accounts@example.com")
    store, accounts = make_client(), make_client()
    login(store, "store@example.com")
    login(accounts, "accounts@example.com")
    page = store.get(f"/purchases/documents/{posted}").get_data(as_text=True)
    assert "Cancel this bill" not in page
    r = store.post(f"/purchases/documents/{posted}/cancel", data={"reason": "Wrong supplier", "date": "2026-05-07"})
    assert r.status_code == 403
    assert "Cancel this order" in store.get(f"/purchases/documents/{sent}").get_data(as_text=True)
    r = store.post(f"/purchases/documents/{sent}/cancel", data={"reason": "Supplier out of stock"})
    assert r.status_code == 303
    r = accounts.post(f"/purchases/documents/{posted}/cancel", data={"reason": "Wrong supplier", "date": "2026-05-07"})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        assert {d.id: d.status for d in db.session.scalars(sa.select(PurchaseDocument).where(
            PurchaseDocument.id.in_([sent, posted])))} == {sent: "cancelled", posted: "cancelled"}
