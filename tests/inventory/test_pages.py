"""Stock through its pages: lookup, adjustments, transfers, stocktakes, reports."""
import io
import re
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import drain_jobs
from tests.factories import add_member, create_org, login
from tests.inventory.helpers import product, receive
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import services
from webapp.inventory.models import StockAdjustment, StockBalance, Stocktake, StockTransfer

HX = {"HX-Request": "true"}
TODAY = date.today()


@pytest.fixture
def shop(app, client):
    with app.app_context():
        org_id, _ = create_org("Corner Pharmacy", email="corner@example.com")
        with tenant(org_id):
            crocin = product("Crocin 650 tablets", sku="CRO-650", barcode="8901030865278", batches=True,
                             sale_price="30")
            soap = product("Neem soap 75 g", sku="SOAP-NEEM", barcode="8901138511234", sale_price="45")
            b1 = services.batch_for(crocin, "CR2401", date(2027, 6, 30), D("35"))
            receive(crocin, 40, "22.50", batch=b1, on=TODAY)
            receive(soap, 24, "30", on=TODAY)
            db.session.commit()
            ids = {"crocin": crocin.id, "soap": soap.id, "org": org_id, "b1": b1.id}
    login(client, "corner@example.com")
    return ids


def version_of(html):
    return re.search(r'id="doc-version" name="version" value="(\d+)"', html).group(1)


def test_lookup_by_part_of_a_name_and_by_barcode(client, shop):
    r = client.get("/stock/lookup", query_string={"q": "croc"}, headers=HX)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "Crocin 650 tablets" in body and "CR2401" in body and "40" in body
    assert "<html" not in body
    assert "Crocin" in client.get("/stock/lookup", query_string={"q": "CR24"}, headers=HX).get_data(as_text=True)
    # A scanner types the code and Enter: a full (non-htmx) request jumps to the product.
    r = client.get("/stock/lookup", query_string={"q": "8901138511234"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/products/{shop['soap']}")
    assert b"Nothing matches" in client.get("/stock/lookup", query_string={"q": "zzzz"}).data


def test_adjustment_draft_to_posted_with_write_off(app, client, shop):
    r = client.post("/stock/adjustments/new", data={"kind": "write_off", "reason": "damage",
                                                    "location_id": "1", "date": TODAY.isoformat()})
    assert r.status_code == 303
    aid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/stock/adjustments/{aid}").get_data(as_text=True)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r = client.post(f"/stock/adjustments/{aid}/lines/{line}", headers=HX,
                    data={"product_id": shop["soap"], "quantity": "3", "version": version_of(page)})
    assert r.status_code == 422 and "negative quantity" in r.get_data(as_text=True)
    r = client.post(f"/stock/adjustments/{aid}/lines/{line}", headers=HX,
                    data={"product_id": shop["soap"], "quantity": "-3", "version": version_of(page)})
    assert r.status_code == 200
    v = version_of(r.get_data(as_text=True))
    r = client.post(f"/stock/adjustments/{aid}/post", data={"version": v})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        adj = db.session.get(StockAdjustment, aid)
        assert adj.status == "posted" and adj.number.startswith("ADJ-") and adj.entry_id
        q = db.session.scalar(sa.select(StockBalance.quantity).where(StockBalance.product_id == shop["soap"]))
        assert q == D("21")
        from webapp.ledger.queries import balance_of_role
        assert balance_of_role("stock_adjustments", TODAY) == D("90.00")


def test_storekeeper_drafts_and_sales_cannot_post(app, client, make_client, shop):
    with app.app_context():
        add_member(shop["org"], "sales", email="sales1@example.com")
    c = make_client()
    login(c, "sales1@example.com")
    assert c.get("/stock/adjustments").status_code == 403
    assert c.get("/stock/lookup").status_code == 200


def test_transfer_moves_stock_between_locations(app, client, shop):
    with app.app_context(), tenant(shop["org"]):
        shop_floor = services.add_location("FLOOR", "Shop floor", "store")
        db.session.commit()
        floor_id = shop_floor.id
    r = client.post("/stock/transfers/new", data={"from_location_id": "1", "to_location_id": str(floor_id),
                                                  "date": TODAY.isoformat()})
    tid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/stock/transfers/{tid}").get_data(as_text=True)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r = client.post(f"/stock/transfers/{tid}/lines/{line}", headers=HX,
                    data={"product_id": shop["crocin"], "quantity": "15", "version": version_of(page)})
    body = r.get_data(as_text=True)
    assert "CR2401" in body  # the batch choices appear once the product is chosen
    r = client.post(f"/stock/transfers/{tid}/post", data={"version": version_of(body)})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        by_loc = dict(db.session.execute(sa.select(StockBalance.location_id, StockBalance.quantity)
                                         .where(StockBalance.product_id == shop["crocin"])).all())
        assert by_loc == {1: D("25"), floor_id: D("15")}
        assert db.session.get(StockTransfer, tid).status == "posted"
    r = client.post("/stock/transfers/new", data={"from_location_id": "1", "to_location_id": "1",
                                                  "date": TODAY.isoformat()}, follow_redirects=True)
    assert b"two different locations" in r.data


def test_transfer_of_more_than_on_hand_is_refused(app, client, shop):
    with app.app_context(), tenant(shop["org"]):
        floor_id = services.add_location("FLOOR", "Shop floor", "store").id
        db.session.commit()
    r = client.post("/stock/transfers/new", data={"from_location_id": "1", "to_location_id": str(floor_id),
                                                  "date": TODAY.isoformat()})
    tid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/stock/transfers/{tid}").get_data(as_text=True)
    line = re.findall(r'id="line-(\d+)"', page)[0]
    r = client.post(f"/stock/transfers/{tid}/lines/{line}", headers=HX,
                    data={"product_id": shop["soap"], "quantity": "25", "version": version_of(page)})
    r = client.post(f"/stock/transfers/{tid}/post", data={"version": version_of(r.get_data(as_text=True))})
    assert r.status_code == 422 and b"Insufficient stock: only 24 pcs of Neem soap" in r.data
    with app.app_context(), tenant(shop["org"]):
        assert db.session.get(StockTransfer, tid).status == "draft"


def test_stocktake_counts_upload_and_adjustment(app, client, shop):
    r = client.post("/stock/stocktakes/new", data={"location_id": "1", "date": TODAY.isoformat()})
    sid = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client.get(f"/stock/stocktakes/{sid}").get_data(as_text=True)
    assert "Crocin 650" in page and "Neem soap" in page and "books" not in page  # blind count
    lines = dict(re.findall(r'id="count-(\d+)"[^>]*>\s*<div class="count-what"><strong>([^<]+)<', page))
    soap_line = next(k for k, v in lines.items() if "soap" in v)
    r = client.post(f"/stock/stocktakes/{sid}/lines/{soap_line}", headers=HX, data={"counted": "-1"})
    assert r.status_code == 422
    r = client.post(f"/stock/stocktakes/{sid}/lines/{soap_line}", headers=HX, data={"counted": "22"})
    assert r.status_code == 200
    sheet = client.get(f"/stock/stocktakes/{sid}/sheet.csv").get_data(as_text=True)
    assert "CRO-650" in sheet and "CR2401" in sheet and "expected" not in sheet
    bad = "sku,product,batch,expiry,counted\nNOPE,,,,3\n"
    r = client.post(f"/stock/stocktakes/{sid}/upload", data={"file": (io.BytesIO(bad.encode()), "c.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and b"not on this sheet" in r.data
    good = "sku,product,batch,expiry,counted\nCRO-650,Crocin,CR2401,,38\n"
    r = client.post(f"/stock/stocktakes/{sid}/upload", data={"file": (io.BytesIO(good.encode()), "c.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    r = client.post(f"/stock/stocktakes/{sid}/finish")
    assert r.status_code == 303 and "/stock/adjustments/" in r.headers["Location"]
    aid = int(r.headers["Location"].rsplit("/", 1)[1])
    with app.app_context(), tenant(shop["org"]):
        adj = db.session.get(StockAdjustment, aid)
        assert adj.status == "draft" and adj.reason == "count"
        assert sorted((l.product.sku, l.quantity) for l in adj.lines) == [("CRO-650", D("-2")), ("SOAP-NEEM", D("-2"))]
        assert db.session.get(Stocktake, sid).status == "done"
    page = client.get(f"/stock/adjustments/{aid}").get_data(as_text=True)
    r = client.post(f"/stock/adjustments/{aid}/post", data={"version": version_of(page)})
    assert r.status_code == 303
    with app.app_context(), tenant(shop["org"]):
        q = dict(db.session.execute(sa.select(StockBalance.product_id, StockBalance.quantity)).all())
        assert q == {shop["crocin"]: D("38"), shop["soap"]: D("22")}


def test_reports_and_their_downloads(app, client, shop):
    for url, text in [("/stock/reports/valuation", "The stock value equals the inventory account."),
                      ("/stock/reports/expiring?days=3650", "CR2401"),
                      ("/stock/reports/reorder", "Nothing needs reordering"),
                      (f"/stock/reports/movements?product_id={shop['soap']}", "Receipt")]:
        r = client.get(url)
        assert r.status_code == 200 and text in r.get_data(as_text=True), url
    for report, extra in [("valuation", {}), ("expiring", {"days": "3650"}), ("reorder", {}),
                          ("movements", {"product_id": shop["soap"], "date_from": "2020-01-01",
                                         "date_to": TODAY.isoformat()})]:
        r = client.post("/stock/reports/export", data=dict(report=report, format="csv", **extra), headers=HX)
        job = re.search(r'id="job-([0-9a-f-]{36})"', r.get_data(as_text=True)).group(1)
        drain_jobs(app)
        dl = client.get(f"/jobs/{job}/download")
        assert dl.status_code == 200, report
    assert client.post("/stock/reports/export", data={"report": "nope", "format": "csv"}).status_code == 400


def test_locations_and_negative_stock_setting(app, client, shop):
    r = client.post("/stock/locations/new", data={"code": "BACK", "name": "Back room", "kind": "warehouse"})
    assert r.status_code == 303
    r = client.post("/stock/locations/new", data={"code": "BACK", "name": "Again", "kind": "warehouse"})
    assert r.status_code == 422 and b"already used" in r.data
    r = client.post("/stock/locations/1", data={"name": "Main warehouse", "active": ""})
    assert r.status_code == 422 and b"default location stays active" in r.data
    assert client.post("/stock/settings", data={"allow_negative_stock": "y"}).status_code == 303
    with app.app_context():
        from webapp.orgs.models import Organization
        assert db.session.get(Organization, shop["org"]).allow_negative_stock
