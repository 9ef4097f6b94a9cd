"""Products through their pages: add, edit, search, import with preview, export."""
import io
import re

import pytest
import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import add_member, create_org, login
from webapp.catalog.models import Product
from webapp.core.tenancy import tenant
from webapp.extensions import db

HX = {"HX-Request": "true"}
GOOD = {"sku": "PCM-500", "name": "Paracetamol 500 mg strip", "barcode": "8901234567890", "kind": "stocked",
        "unit": "strip", "category": "Medicines", "hsn_code": "30049099", "tax_rate": "12", "sale_price": "32.50",
        "costing_method": "fifo", "tracks_batches": "y", "reorder_point": "20", "reorder_quantity": "100",
        "active": "y"}


@pytest.fixture
def owner(app, client):
    with app.app_context():
        org_id, _ = create_org("Pharma One", email="pharma@example.com")
    login(client, "pharma@example.com")
    return org_id


def count(app, org_id):
    with app.app_context(), tenant(org_id):
        return db.session.scalar(sa.select(sa.func.count()).select_from(Product))


def test_add_edit_and_find_a_product(app, client, owner):
    r = client.post("/products/new", data=GOOD)
    assert r.status_code == 303
    detail = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Paracetamol 500 mg strip" in detail and "32.50" in detail
    pid = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    r = client.post(f"/products/{pid}/edit", data=dict(GOOD, sale_price="35", version="1"))
    assert r.status_code == 303
    # Stale form: the version it carries is old.
    r = client.post(f"/products/{pid}/edit", data=dict(GOOD, sale_price="99", version="1"))
    assert r.status_code == 409 and b"Someone else changed" in r.data
    rows = client.get("/products/", query_string={"q": "parac"}, headers=HX).get_data(as_text=True)
    assert "Paracetamol" in rows and "<html" not in rows
    assert "Paracetamol" in client.get("/products/", query_string={"q": "8901234567890"}).get_data(as_text=True)
    assert "Paracetamol" not in client.get("/products/", query_string={"q": "zzz"}).get_data(as_text=True)
    opts = client.get("/products/search", query_string={"q": "PCM"}).get_data(as_text=True)
    assert 'data-value="' in opts and "Paracetamol" in opts


@pytest.mark.parametrize("change,message", [
    ({"sku": ""}, "Enter a SKU"), ({"sku": "has space"}, "up to 40 letters"), ({"name": ""}, "Enter the name"),
    ({"tax_rate": "150"}, "between 0 and 100"), ({"tax_rate": "-5"}, "negative"), ({"sale_price": "abc"}, "not a number"),
    ({"sale_price": "-1"}, "negative"), ({"hsn_code": "12"}, "4, 6 or 8 digits"), ({"barcode": "12-34"}, "letters or digits"),
    ({"reorder_point": "1.23456"}, "3 decimal places"), ({"kind": "magic"}, "Not a valid choice"),
])
def test_bad_products_are_refused(app, client, owner, change, message):
    r = client.post("/products/new", data=dict(GOOD, **change))
    assert r.status_code == 422 and message.encode() in r.data
    assert count(app, owner) == 0


def test_duplicate_sku_and_barcode_are_refused(app, client, owner):
    client.post("/products/new", data=GOOD)
    r = client.post("/products/new", data=dict(GOOD, barcode=""))
    assert r.status_code == 422 and b"already used" in r.data
    r = client.post("/products/new", data=dict(GOOD, sku="OTHER"))
    assert r.status_code == 422 and b"already on another product" in r.data
    assert count(app, owner) == 1


def _upload(client, text, name="products.csv"):
    return client.post("/products/import", data={"file": (io.BytesIO(text if isinstance(text, bytes) else text.encode()), name)},
                       content_type="multipart/form-data")


def test_import_previews_errors_and_writes_nothing_until_confirmed(app, client, owner):
    client.post("/products/new", data=dict(GOOD))
    csv_text = ("sku,name,tax_rate,sale_price,kind,tracks_batches\n"
                "PCM-500,Paracetamol renamed,12,33,stocked,yes\n"
                "AMX-250,Amoxicillin 250,12,80,stocked,yes\n"
                "BAD 1,Broken sku,12,1,stocked,no\n"
                "ORS-1,ORS sachet,5,abc,stocked,no\n"
                "AMX-250,Duplicate,5,1,stocked,no\n"
                "SVC-1,Delivery,18,50,service,maybe\n")
    r = _upload(client, csv_text)
    assert r.status_code == 303
    preview = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "6</strong> rows" in preview and "2 ready" in preview and "4 with errors" in preview
    assert "appears again" in preview and "write yes or no" in preview and "not a number" in preview
    assert count(app, owner) == 1
    r = client.post(r.headers["Location"])
    assert r.status_code == 303
    assert count(app, owner) == 2
    with app.app_context(), tenant(owner):
        names = set(db.session.scalars(sa.select(Product.name)))
    assert names == {"Paracetamol renamed", "Amoxicillin 250"}
    # A second confirm of the same file imports nothing more.
    again = client.post(r.request.path, follow_redirects=True)
    assert "This file was imported already; nothing more was written." in again.get_data(as_text=True)
    assert count(app, owner) == 2


@pytest.mark.parametrize("content,message", [
    (b"", "The file is empty"), (b"\x00\x01binary", "binary data"), ("name\nNo sku column\n", "lacks the column"),
    ("sku,name,colour\nA,B,red\n", "Unknown column"), (b"sku,name\n\xff\xfe bad", "not UTF-8"),
    ("sku,name\n", "no rows"), ("sku,name\n" + "x,y\n" * 10_001, "more than 10,000 rows"),
])
def test_malformed_or_oversized_csv_is_refused(app, client, owner, content, message):
    r = _upload(client, content)
    assert r.status_code == 422 and message.encode() in r.data, r.data[-500:]
    assert count(app, owner) == 0


def test_a_file_over_the_size_limit_is_refused(app, client, owner, monkeypatch):
    # The limit is 2 MB; a smaller one here keeps the test client from spooling
    # the body to a temporary file. The check is the same line of code.
    import webapp.core.imports as imports
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", 200_000)
    r = _upload(client, b"sku,name\n" + b"A" * 200_000)
    assert r.status_code == 422 and b"larger than" in r.data
    assert count(app, owner) == 0


def test_export_csv_and_xlsx_through_jobs(app, client, owner):
    client.post("/products/new", data=GOOD)
    for fmt in ("csv", "xlsx"):
        r = client.post("/products/export", data={"format": fmt}, headers=HX)
        job = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
        drain_jobs(app)
        dl = client.get(f"/jobs/{job}/download")
        assert dl.status_code == 200
        if fmt == "csv":
            assert "PCM-500" in dl.get_data(as_text=True)


def test_sales_may_look_but_not_edit(app, client, make_client, owner):
    with app.app_context():
        add_member(owner, "sales", email="shopgirl@example.com")
    c = make_client()
    login(c, "shopgirl@example.com")
    assert c.get("/products/").status_code == 200
    assert c.get("/products/new").status_code == 403
    assert c.post("/products/new", data=GOOD).status_code == 403
