"""The valuation page: the whole report's totals per category, then 100 products at a time."""
import re
from datetime import date

import pytest

from tests.factories import create_org, login
from tests.inventory.helpers import product, receive, sell
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.inventory import queries
from webapp.ledger.queries import balance_of_role


@pytest.fixture
def stocked(app):
    """Five stocked products in two categories (and one without), one sold out, one only in the past."""
    with app.app_context():
        org_id, _ = create_org("Valued Shop", email="valued@example.com")
        with tenant(org_id):
            for n, (name, cat) in enumerate([("Apple Jam", "Groceries"), ("Basmati Rice", "Groceries"),
                                             ("Cough Syrup", "Medicines"), ("Dettol Soap", None),
                                             ("Eraser", "Stationery"), ("Flour", "Groceries")]):
                p = product(name, category=cat, sku=f"V{n}")
                receive(p, 10 + n, f"{12 + n}.50", on=date(2026, 5, 1))
                if name == "Eraser":
                    sell(p, 10 + n, on=date(2026, 5, 3))     # sold out: not listed after the 3rd
            db.session.commit()
    return org_id


def test_pages_and_totals_agree_with_the_full_report(app, stocked):
    with app.app_context(), tenant(stocked):
        for as_of in (date(2026, 5, 2), date(2026, 5, 31), date(2026, 4, 30)):
            rows, total = queries.valuation(as_of)
            pages = [queries.valuation_page(as_of, page=n, per_page=2) for n in (1, 2, 3, 4)]
            assert [r.product.id for pg in pages for r in pg.rows] == [r.product.id for r in rows]
            assert [(r.quantity, r.value) for pg in pages for r in pg.rows] == [(r.quantity, r.value) for r in rows]
            for pg in pages:
                assert pg.total == total == balance_of_role("inventory", as_of)
                assert pg.count == len(rows) and pg.pages == max(1, -(-len(rows) // 2))
            by_cat = {}
            for r in rows:
                n, v = by_cat.get(r.product.category, (0, 0))
                by_cat[r.product.category] = (n + 1, v + r.value)
            assert {c.category: (c.products, c.value) for c in pages[0].by_category} == by_cat
        assert queries.valuation_page(date(2026, 4, 30)).rows == []
        only = queries.valuation_page(date(2026, 5, 31), category="Groceries")
        assert [r.product.name for r in only.rows] == ["Apple Jam", "Basmati Rice", "Flour"]
        assert [c.category for c in only.by_category] == ["Groceries"]
        assert only.first == 1 and only.last == 3


def test_the_page_shows_totals_and_one_page_of_rows(app, client, stocked, monkeypatch):
    login(client, "valued@example.com")
    html = client.get("/stock/reports/valuation", query_string={"date_to": "2026-05-31"}).get_data(as_text=True)
    assert "The stock value equals the inventory account." in html
    assert "Groceries" in html and "Medicines" in html and "No category" in html
    assert "Products 1–5 of 5" in html and 'class="pager"' not in html
    original = queries.valuation_page
    monkeypatch.setattr(queries, "valuation_page", lambda *a, **kw: original(*a, **dict(kw, per_page=2)))
    html = client.get("/stock/reports/valuation", query_string={"date_to": "2026-05-31", "page": "2"}).get_data(
        as_text=True)
    assert "Products 3–4 of 5" in html and "Page 2 of 3" in html
    assert "Cough Syrup" in html and "Dettol Soap" in html and "Apple Jam" not in html
    assert re.search(r'href="[^"]*page=3[^"]*">Next', html) and re.search(r'href="[^"]*page=1[^"]*">← Previous', html)
    # Past the last page: an empty page, still with the whole report's totals.
    html = client.get("/stock/reports/valuation", query_string={"date_to": "2026-05-31", "page": "9"}).get_data(
        as_text=True)
    assert "No products on this page." in html and "The stock value equals the inventory account." in html
