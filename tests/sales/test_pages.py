"""Sales through its pages: the htmx invoice editor, post, cancel, convert, quick sale, PDFs."""
import io
import re
import shutil
import subprocess
import zipfile
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import add_member, create_org, login
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import JournalEntry
from webapp.payments.models import Payment
from webapp.sales.models import SalesDocument

HX = {"HX-Request": "true"}
TODAY = date.today()


@pytest.fixture
def shop(app, client):
    with app.app_context():
        org_id, _ = create_org("Lotus Pharmacy", email="lotus@example.com")
        with tenant(org_id):
            dolo = product("Dolo 650 tablets", sku="DOLO", barcode="8906010500112", sale_price="32", tax_rate="12",
                           hsn_code="30049099")
            soap = product("Neem soap", sku="SOAP", barcode="8901138511234", sale_price="55", tax_rate="18")
            receive(dolo, 50, "21.50", on=TODAY)
            receive(soap, 20, "38", on=TODAY)
            metro = customer("Metro Clinic", tax_id="29AAGCB7383J1Z4", payment_terms_days=30)
            db.session.commit()
            ids = dict(org=org_id, dolo=dolo.id, soap=soap.id, metro=metro.id)
    login(client, "lotus@example.com")
    return ids


def version_of(html):
    return re.search(r'id="doc-version" name="version" value="(\d+)"', html).group(1)


def new_invoice(client, shop):
    r = client.post("/sales/new/invoice", data={"customer_id": shop["metro"]})
    assert r.status_code == 303
    doc_id = int(r.headers["Location"].rsplit("/", 1)[1])
    return doc_id, client.get(f"/sales/documents/{doc_id}").get_data(as_text=True)


def set_line(client, doc_id, line_id, version, **fields):
    r = client.post(f"/sales/documents/{doc_id}/lines/{line_id}", headers=HX, data=dict(fields, version=version))
    return r, r.get_data(as_text=True)


def test_invoice_editor_live_totals_post_and_cancel(app, client, shop):
    doc_id, page = new_invoice(client, shop)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    v = version_of(page)
    r, body = set_line(client, doc_id, line, v, product_id=shop["dolo"], quantity="1")
    assert r.status_code == 200 and "<html" not in body
    # Choosing the product filled in its price and tax rate.
    assert 'value="32.00"' in body and "35.84" in body and 'hx-swap-oob="true"' in body
    r, body = set_line(client, doc_id, line, version_of(body), product_id=shop["dolo"], quantity="10",
                       unit_price="32.00", tax_rate="12")
    assert "CGST 6 %" in body and "19.20" in body and "358.40" in body and "358.00" in body  # round off −0.40
    v = version_of(body)
    r = client.post(f"/sales/documents/{doc_id}/lines", headers=HX, data={"version": v})
    body = r.get_data(as_text=True)
    line2 = re.findall(r'id="line-(\d+)"', body)[0]
    r, body = set_line(client, doc_id, line2, version_of(body), product_id=shop["soap"], quantity="2")
    r, body = set_line(client, doc_id, line2, version_of(body), product_id=shop["soap"], quantity="2",
                       unit_price="55", discount="10%", tax_rate="18")
    # 110 − 11 = 99.00; CGST/SGST 9 % = 8.91 each → 116.82; with 358.40: 475.22 → 475.00.
    assert "116.82" in body and "475.00" in body
    v = version_of(body)
    r = client.post(f"/sales/documents/{doc_id}/post", data={"version": v})
    assert r.status_code == 303
    page = client.get(f"/sales/documents/{doc_id}").get_data(as_text=True)
    assert "INV-" in page and "Unpaid" in page and "Cancel this invoice" in page
    r = client.post(f"/sales/documents/{doc_id}/post", data={"version": v}, follow_redirects=True)
    assert b"already posted" in r.data
    with app.app_context(), tenant(shop["org"]):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                                 .where(JournalEntry.source_type == "invoice")) == 1
    r = client.post(f"/sales/documents/{doc_id}/cancel", data={"reason": ""})
    assert r.status_code == 422 and b"Give the reason" in r.data
    r = client.post(f"/sales/documents/{doc_id}/cancel", data={"reason": "Customer changed the order"})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        doc = db.session.get(SalesDocument, doc_id)
        assert doc.status == "cancelled" and doc.cancel_entry_id


@pytest.mark.parametrize("fields,message", [
    ({"quantity": "-1"}, "negative"), ({"quantity": "1.2345"}, "3 decimal places"),
    ({"unit_price": "-5"}, "negative"), ({"discount": "150%"}, "between 0 and 100"),
    ({"discount": "abc"}, "not a number"), ({"tax_rate": "120"}, "between 0 and 100"),
    ({"quantity": "1" + "0" * 30}, "too large"),
    ({"quantity": "1e30"}, "not a number"),
])
def test_bad_line_input_is_explained_and_not_saved(app, client, shop, fields, message):
    doc_id, page = new_invoice(client, shop)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r, body = set_line(client, doc_id, line, version_of(page), **dict({"product_id": shop["dolo"]}, **fields))
    assert r.status_code == 422 and message in body
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(SalesDocument, doc_id).grand_total == 0


def test_another_organizations_product_or_customer_is_not_found(app, client, shop):
    with app.app_context():
        other, _ = create_org()
        with tenant(other):
            foreign_product, foreign_customer = product().id, customer().id
            db.session.commit()
    doc_id, page = new_invoice(client, shop)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r, _ = set_line(client, doc_id, line, version_of(page), product_id=foreign_product, quantity="1")
    assert r.status_code == 404
    r = client.post(f"/sales/documents/{doc_id}/header", headers=HX,
                    data={"customer_id": foreign_customer, "date": TODAY.isoformat(), "version": version_of(page)})
    assert r.status_code == 404


def test_posting_more_than_stock_is_refused_with_the_quantity(app, client, shop):
    doc_id, page = new_invoice(client, shop)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r, body = set_line(client, doc_id, line, version_of(page), product_id=shop["soap"], quantity="21",
                       unit_price="55", tax_rate="18")
    r, body = set_line(client, doc_id, line, version_of(body), product_id=shop["soap"], quantity="21",
                       unit_price="55", tax_rate="18")
    r = client.post(f"/sales/documents/{doc_id}/post", data={"version": version_of(body)})
    assert r.status_code == 422 and b"only 20 pcs of Neem soap" in r.data
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(SalesDocument, doc_id).status == "draft"


def test_quote_to_order_to_invoice(app, client, shop):
    r = client.post("/sales/new/quote", data={"customer_id": shop["metro"]})
    qid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/sales/documents/{qid}").get_data(as_text=True)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r, body = set_line(client, qid, line, version_of(page), product_id=shop["dolo"], quantity="4")
    r, body = set_line(client, qid, line, version_of(body), product_id=shop["dolo"], quantity="4", unit_price="30",
                       tax_rate="12")
    assert client.post(f"/sales/documents/{qid}/confirm", data={"version": version_of(body)}).status_code == 303
    page = client.get(f"/sales/documents/{qid}").get_data(as_text=True)
    assert "QT-" in page and "Make an invoice" in page
    r = client.post(f"/sales/documents/{qid}/convert?to=invoice", data={f"qty-{line}": "5"})
    assert r.status_code == 422 and b"at most 4 remain" in r.data
    r = client.post(f"/sales/documents/{qid}/convert?to=invoice", data={f"qty-{line}": "3"})
    assert r.status_code == 303
    iid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/sales/documents/{iid}").get_data(as_text=True)
    assert client.post(f"/sales/documents/{iid}/post", data={"version": version_of(page)}).status_code == 303
    with app.app_context(), tenant(shop["org"]):
        quote = db.session.get(SalesDocument, qid)
        assert quote.status == "partly_invoiced" and quote.lines[0].invoiced_quantity == D("3")


def test_quick_sale_scan_cash_and_double_submit(app, client, shop):
    r = client.post("/sales/quick/scan", data={"code": "8906010500112"}, headers=HX)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Dolo 650 tablets" in body
    doc_id = re.search(r'name="doc_id" value="(\d+)"', body).group(1)
    r = client.post("/sales/quick/scan", data={"code": "8906010500112", "doc_id": doc_id}, headers=HX)
    body = r.get_data(as_text=True)
    assert 'value="2"' in body  # scanned twice: quantity 2
    r = client.post("/sales/quick/scan", data={"code": "NOPE", "doc_id": doc_id}, headers=HX)
    assert r.status_code == 422 and b"No product has the code NOPE" in r.data
    v = version_of(client.get(f"/sales/quick?doc={doc_id}").get_data(as_text=True))
    # 2 × 32 = 64 + 12 % = 71.68 → 72.00. A walk-in customer must pay all of it.
    r = client.post(f"/sales/quick/{doc_id}/checkout", data={"cash": "50", "version": v})
    assert r.status_code == 422 and b"walk-in customer pays all of it" in r.data
    r = client.post(f"/sales/quick/{doc_id}/checkout", data={"cash": "100", "version": v})
    assert r.status_code == 303
    done = client.get(r.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Change to give: ₹28.00" in done and "Paid" in done
    again = client.post(f"/sales/quick/{doc_id}/checkout", data={"cash": "100", "version": v})
    assert again.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Payment)) == 1
        doc = db.session.get(SalesDocument, int(doc_id))
        assert (doc.status, doc.payment_status, doc.amount_paid) == ("posted", "paid", D("72.00"))


def test_invoice_list_filters(app, client, shop):
    from tests.sales.helpers import invoice
    with app.app_context(), tenant(shop["org"]):
        from webapp.catalog.models import Product
        metro = db.session.get(__import__("webapp.parties.models", fromlist=["Party"]).Party, shop["metro"])
        dolo = db.session.get(Product, shop["dolo"])
        invoice(metro, (dolo, 1), on=date(2020, 1, 1), post=True)   # long overdue
        invoice(metro, (dolo, 2), on=TODAY, post=True)
        invoice(metro, (dolo, 3), on=TODAY)
        db.session.commit()
    assert client.get("/sales/invoices").get_data(as_text=True).count("/sales/documents/") == 3
    overdue = client.get("/sales/invoices", query_string={"status": "overdue"}, headers=HX).get_data(as_text=True)
    assert overdue.count("/sales/documents/") == 1 and "Overdue" in overdue
    drafts = client.get("/sales/invoices", query_string={"status": "draft"}, headers=HX).get_data(as_text=True)
    assert drafts.count("/sales/documents/") == 1
    assert client.get("/sales/invoices", query_string={"q": "Metro"}).status_code == 200
    assert client.get("/sales/invoices", query_string={"date_from": "bad", "page": "-4", "sort": "x"}).status_code == 200


def _pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (pdftotext)")
def test_invoice_pdf_holds_what_a_tax_invoice_must_show(app, client, shop):
    from tests.sales.helpers import invoice
    with app.app_context(), tenant(shop["org"]):
        from webapp.catalog.models import Product
        from webapp.parties.models import Party
        doc = invoice(db.session.get(Party, shop["metro"]), (db.session.get(Product, shop["dolo"]), 10), on=TODAY,
                      post=True)
        db.session.commit()
        doc_id, number = doc.id, doc.number
    r = client.post(f"/sales/documents/{doc_id}/pdf", headers=HX)
    job = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    again = client.post(f"/sales/documents/{doc_id}/pdf", headers=HX)
    assert job in again.get_data(as_text=True)  # reused until the invoice changes
    drain_jobs(app)
    dl = client.get(f"/jobs/{job}/download")
    assert dl.status_code == 200 and dl.headers["Content-Type"] == "application/pdf"
    assert f'filename="{number}.pdf"' in dl.headers["Content-Disposition"]
    text = _pdftotext(dl.data)
    for expected in ("TAX INVOICE", number, "Lotus Pharmacy", "Metro Clinic", "29AAGCB7383J1Z4", "30049099",
                     "Karnataka", "320.00", "19.20", "358.00", "Rupees Three Hundred Fifty-Eight Only",
                     "Authorised signatory"):
        assert expected in text, expected
    print_page = client.get(f"/sales/documents/{doc_id}/print").get_data(as_text=True)
    assert number in print_page and "Authorised signatory" in print_page
    r = client.post("/sales/invoices/pdfs", data={"doc_id": [str(doc_id)]}, headers=HX)
    zjob = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    drain_jobs(app)
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/jobs/{zjob}/download").data))
    assert z.namelist() == [f"{number}.pdf"]


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="needs poppler-utils (pdftotext)")
def test_hostile_customer_name_and_note_cannot_read_files_or_fetch(app, client, shop, tmp_path):
    import http.server
    import threading
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    evil = (f'<img src="file:///etc/passwd"><style>@import url("http://127.0.0.1:{server.server_port}/x.css");'
            f'</style><img src="http://127.0.0.1:{server.server_port}/y.png">')
    from tests.sales.helpers import invoice
    with app.app_context(), tenant(shop["org"]):
        from webapp.catalog.models import Product
        bad = customer(evil[:200], notes=evil)
        doc = invoice(bad, (db.session.get(Product, shop["dolo"]), 1), on=TODAY)
        doc.notes = evil
        db.session.commit()
        doc_id = doc.id
    r = client.post(f"/sales/documents/{doc_id}/pdf", headers=HX)
    job = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
    drain_jobs(app)
    data = client.get(f"/jobs/{job}/download").data
    server.shutdown()
    server.server_close()
    text = _pdftotext(data)
    assert hits == []
    assert "root:" not in text and "/bin/" not in text
    assert "file:///etc/passwd" in text  # printed as text, never fetched


def test_customer_pages_and_gstin(app, client, shop):
    r = client.post("/customers/new", data={"code": "C9", "name": "Pune Traders", "is_customer": "y",
                                            "tax_id": "27AAPFU0939F1ZX"})
    assert r.status_code == 422 and b"check character" in r.data
    r = client.post("/customers/new", data={"code": "C9", "name": "Pune Traders", "is_customer": "y",
                                            "tax_id": "27AAPFU0939F1ZV", "state": "29"})
    assert r.status_code == 422 and b"registered in Maharashtra" in r.data
    r = client.post("/customers/new", data={"code": "C9", "name": "Pune Traders", "is_customer": "y",
                                            "tax_id": "27aapfu0939f1zv", "credit_limit": "50000", "active": "y"})
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "27AAPFU0939F1ZV" in page and "Maharashtra" in page
    assert "Pune" in client.get("/customers/", query_string={"q": "pune"}).get_data(as_text=True)
    csv_text = "code,name,tax_id,state\nC10,Good One,,29\nC11,Bad One,29AAGCB7383J1Z0,\n"
    r = client.post("/customers/import", data={"file": (io.BytesIO(csv_text.encode()), "c.csv")},
                    content_type="multipart/form-data")
    preview = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "1 ready" in preview and "check character" in preview


def test_logo_upload_checks_type_and_size(app, client, shop, monkeypatch):
    # The limit is 512 KB; a smaller one here keeps the test client from spooling to a temporary file.
    from webapp.orgs import services as org_services
    monkeypatch.setattr(org_services, "MAX_LOGO_BYTES", 1000)
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = client.post("/settings/printing", data={"l-logo": (io.BytesIO(b"GIF89a..."), "x.gif")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and b"PNG or JPEG" in r.data
    r = client.post("/settings/printing", data={"l-logo": (io.BytesIO(png + b"0" * 1000), "big.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and b"at most" in r.data
    r = client.post("/settings/printing", data={"l-logo": (io.BytesIO(png), "ok.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    assert client.get("/settings/organization/logo").data == png


def test_sales_role_cannot_cancel(app, client, make_client, shop):
    with app.app_context():
        add_member(shop["org"], "sales", email="seller@example.com")
    c = make_client()
    login(c, "seller@example.com")
    assert c.get("/sales/invoices").status_code == 200
    assert c.post("/sales/documents/1/cancel", data={"reason": "x"}).status_code in (403, 404)


def test_a_refused_edit_leaves_the_draft_as_it_was(app, client, shop):
    doc_id, page = new_invoice(client, shop)
    v = version_of(page)
    r = client.post(f"/sales/documents/{doc_id}/header", headers=HX, data={
        "customer_id": shop["metro"], "date": TODAY.isoformat(), "due_date": (TODAY - timedelta(days=1)).isoformat(),
        "version": v})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "The due date is before the date of the document." in body
    assert version_of(body) == v  # nothing changed, so the version is the same
    assert f'value="{(TODAY - timedelta(days=1)).isoformat()}"' in body  # what was typed stays
    r = client.post(f"/sales/documents/{doc_id}/header", headers=HX, data={
        "customer_id": shop["metro"], "date": TODAY.isoformat(), "due_date": TODAY.isoformat(), "version": v})
    assert r.status_code == 200
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(SalesDocument, doc_id).due_date == TODAY
