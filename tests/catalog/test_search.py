"""The name search table (catalog/search.py): the same products as the old ILIKE, kept right by every
path that creates or renames products, and never another organization's."""
import io

import pytest
import sqlalchemy as sa

from tests.conftest import is_postgres
from tests.factories import create_org, login
from tests.inventory.helpers import product
from webapp.catalog import search
from webapp.catalog import services as catalog
from webapp.catalog.models import Product, ProductSearch
from webapp.core.errors import DomainError
from webapp.core.tenancy import current_org_id, tenant
from webapp.extensions import db
from webapp.inventory import queries

NAMES = [
    "Café Ünïcode Blend 250 g", "CAFÉ NOIR Extra", "Maggi 2-Minute Noodles Masala 70 g", "Yippee Noodles (Pack of 4)",
    "Dr Reddy's Omez 20 Capsule 15s", "Head & Shoulders Shampoo 180 ml", "Hair oil 50% extra", "A_B test_item",
    "JBL Go 3 Bluetooth Speaker Blue", "JBL Tune 510BT Black", "Mi Power Bank 3i 20000 mAh", "Vitamin C 500 Tablet",
    "Çay Türk Kahvesi İzmir", "Ghee 1 kg", "Amul Ghee 500 ml", "C++ Primer 5th ed.", "Straße Karte", "ß-Test",
    "Éclair au chocolat", "Soap  with   double  spaces", "x", "Tea\tTab separated", "100% Pure Honey 1 kg",
    "résumé paper A4 (500 sheets)", "Ørsted Ünder", "OTG Adapter Type-C", "Type-C Cable 1 m",
]
INACTIVE = "Noodles Discontinued Masala"


def _reference(q: str, names: dict[int, str]) -> set[int]:
    """What the search promises, in Python: every word of three letters or more is part of the
    (lower-cased) name, and every shorter one starts one of its words."""
    def has(word, name):
        if len(word) >= 3:
            return word in search.fold(name)
        return any(w.startswith(word) for w in search.fold(name).split())
    words = search.query_words(q)
    return {pid for pid, name in names.items() if words and all(has(w, name) for w in words)}


def _found(q: str) -> set[int]:
    return {hit.product.id for hit in queries.lookup(q, limit=1000)}


def _fragments(names) -> set[str]:
    out = set()
    for name in names:
        for word in name.split():
            for i in range(len(word)):
                for n in (3, 4, 6):
                    if i + n <= len(word):
                        out.update({word[i:i + n], word[i:i + n].upper(), word[i:i + n].lower()})
    return out | {"zzz", "qqqq", "é ü", "éclair", "100%", "50%", "a_b", "c++", "ße", "SSE"}


@pytest.fixture
def catalogue(app):
    with app.app_context():
        org_id, _ = create_org("Search Shop", email="search@example.com")
        with tenant(org_id):
            ids = {product(name, sku=f"Z{n:03d}").id: name for n, name in enumerate(NAMES)}
            product(INACTIVE, sku="Z999", active=False)
            db.session.commit()
    return org_id, ids


def test_one_word_finds_exactly_what_ilike_found(app, catalogue):
    org_id, names = catalogue
    with app.app_context(), tenant(org_id):
        checked = 0
        for frag in sorted(_fragments(names.values())):
            cleaned = frag.replace("\\", "").replace("%", "").replace("_", "")
            if len(frag.strip()) < 2 or " " in frag:
                continue
            expected = _reference(frag, names)
            assert _found(frag) == expected, frag
            # Today's ILIKE (without the characters it dropped) for fragments of 3+ characters:
            # PostgreSQL folds every letter; SQLite's LIKE only ASCII ones, so there it is
            # compared on ASCII fragments.
            if len(cleaned) >= 3 and (is_postgres() or frag.isascii()):
                ilike = set(db.session.scalars(sa.select(Product.id).where(
                    Product.active.is_(True), Product.name.ilike(f"%{cleaned}%"))))
                assert ilike == expected, frag
            checked += 1
        assert checked > 500


def test_several_words_need_every_word_and_short_words_start_a_word(app, catalogue):
    org_id, names = catalogue
    by_name = {v: k for k, v in names.items()}
    with app.app_context(), tenant(org_id):
        assert _found("jbl blu") == {by_name["JBL Go 3 Bluetooth Speaker Blue"]}
        assert _found("BLUE jbl") == {by_name["JBL Go 3 Bluetooth Speaker Blue"]}
        assert _found("jbl bla") == {by_name["JBL Tune 510BT Black"]}
        assert _found("ghee 1 kg") == {by_name["Ghee 1 kg"]}
        assert _found("noodles masala") == {by_name["Maggi 2-Minute Noodles Masala 70 g"]}   # not the inactive one
        # One or two letters: the start of a word ("mi" is Mi, not vitamin or 2-minute).
        assert _found("mi") == {by_name["Mi Power Bank 3i 20000 mAh"]}
        assert _found("mi po") == {by_name["Mi Power Bank 3i 20000 mAh"]}
        assert _found("type c") == {by_name["Type-C Cable 1 m"]}      # "Type-C" is one word
        assert _found("ca") == {by_name[n] for n in ("Café Ünïcode Blend 250 g", "CAFÉ NOIR Extra",
                                                      "Dr Reddy's Omez 20 Capsule 15s", "Type-C Cable 1 m")}
        assert _found("ünï café") == _found("CAFÉ ÜNÏCODE") == {by_name["Café Ünïcode Blend 250 g"]}
        assert _found("izmir") == {by_name["Çay Türk Kahvesi İzmir"]}
        assert _found("double spaces") == {by_name["Soap  with   double  spaces"]}
        assert _found("tab separated") == {by_name["Tea\tTab separated"]}
        for q in ("zzz qqq", "jbl zzz", "__", "%%"):
            assert _found(q) == set(), q
        assert queries.lookup("e") == []   # a single letter is not searched (two at least)
        hits = [hit.product.name for hit in queries.lookup("noo", limit=10)]
        assert hits == sorted(hits)


def _rows(org_id) -> set[tuple]:
    with tenant(org_id):
        return set(db.session.execute(sa.select(ProductSearch.product_id, ProductSearch.key, ProductSearch.token,
                                                ProductSearch.name, ProductSearch.active)).all())


def _expected(org_id) -> set[tuple]:
    with tenant(org_id):
        return {(p.id, key, token, p.name, p.active) for p in db.session.scalars(sa.select(Product))
                for key, token in search.tokens(p.name)}


def test_rows_follow_create_rename_deactivate(app):
    with app.app_context():
        org_id, _ = create_org("Rename Shop", email="rename@example.com")
        with tenant(org_id):
            p = product("Sunflower Oil 1 l", sku="SUN-1")
            other = product("Rice Basmati", sku="RICE-1")
            db.session.commit()
            assert _rows(org_id) == _expected(org_id) and _rows(org_id)
            assert {h.product.id for h in queries.lookup("flower")} == {p.id}
            values = {k: getattr(p, k) for k in catalog.FIELDS}
            catalog.update_product(p, version=p.version, **dict(values, name="Groundnut Oil 1 l"))
            db.session.commit()
            assert _rows(org_id) == _expected(org_id)
            assert queries.lookup("flower") == [] and [h.product.id for h in queries.lookup("groundn")] == [p.id]
            catalog.update_product(p, version=p.version, **dict(values, name="Groundnut Oil 1 l", active=False))
            db.session.commit()
            assert _rows(org_id) == _expected(org_id)
            assert queries.lookup("groundn") == []
            # A change that leaves the name alone leaves the rows alone.
            catalog.update_product(other, version=other.version,
                                   **dict({k: getattr(other, k) for k in catalog.FIELDS}, sale_price="55"))
            assert _rows(org_id) == _expected(org_id)
            # A refused change writes nothing (the request rolls back).
            with pytest.raises(DomainError):
                catalog.update_product(other, version=other.version,
                                       **dict({k: getattr(other, k) for k in catalog.FIELDS}, name="", sku="RICE-1"))
            db.session.rollback()
            assert _rows(org_id) == _expected(org_id)


def test_rows_follow_the_csv_import(app, client):
    with app.app_context():
        org_id, _ = create_org("Import Shop", email="import@example.com")
        with tenant(org_id):
            product("Old Name Soap", sku="SOAP-1")
            product("Unchanged Toothpaste", sku="TP-1")
            db.session.commit()
    login(client, "import@example.com")
    csv_text = ("sku,name,tax_rate,sale_price,kind,tracks_batches\n"
                "SOAP-1,Neem Soap Renamed,18,30,stocked,no\n"
                "TP-1,Unchanged Toothpaste,18,99,stocked,no\n"
                "NEW-1,Brand New Shampoo 200 ml,18,120,stocked,no\n")
    r = client.post("/products/import", data={"file": (io.BytesIO(csv_text.encode()), "p.csv")},
                    content_type="multipart/form-data")
    assert r.status_code == 303
    assert client.post(r.headers["Location"]).status_code == 303
    with app.app_context():
        assert _rows(org_id) == _expected(org_id)
        with tenant(org_id):
            assert [h.product.name for h in queries.lookup("renamed")] == ["Neem Soap Renamed"]
            assert queries.lookup("old name") == []
            assert [h.product.name for h in queries.lookup("shampoo")] == ["Brand New Shampoo 200 ml"]


def test_another_organizations_products_never_appear(app):
    with app.app_context():
        a, _ = create_org("Shop A", email="a@example.com")
        b, _ = create_org("Shop B", email="b@example.com")
        with tenant(a):
            mine = product("Shared Name Noodles", sku="A-1").id
            db.session.commit()
        with tenant(b):
            theirs = product("Shared Name Noodles", sku="B-1").id
            product("Only In B Noodles", sku="B-2")
            db.session.commit()
        with tenant(a):
            assert {h.product.id for h in queries.lookup("noodles")} == {mine}
            assert {h.product.id for h in queries.lookup("shared nam")} == {mine}
            assert queries.lookup("only in") == []
            assert {r[0] for r in _rows(a)} == {mine}
            if is_postgres():
                # Row-level security, the second wall: even plain SQL sees only this organization.
                seen = set(db.session.execute(sa.text("SELECT DISTINCT product_id FROM product_search")).scalars())
                assert seen == {mine}
                flags = db.session.execute(sa.text(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'product_search'")).one()
                assert flags == (True, True)
                # Writing a row for another organization is refused by the policy.
                with pytest.raises(sa.exc.DBAPIError):
                    with db.session.begin_nested():
                        db.session.execute(sa.text(
                            "INSERT INTO product_search (org_id, product_id, token, key, name, active) "
                            "VALUES (:org, :pid, 'zzz', 'zzz', 'x', true)"), {"org": b, "pid": theirs})
            db.session.rollback()
        with tenant(b):
            assert {h.product.id for h in queries.lookup("shared")} == {theirs}


def test_tokens():
    assert search.tokens("Ab Noodle") == {(" a", " ab"), (" n", " noodle"), ("noo", "noodle"), ("ood", "oodle"),
                                          ("odl", "odle"), ("dle", "dle")}
    assert search.fold("İZMİR Straße") == "izmir straße"
    assert search.query_words("  jbl  BLUE jbl  ") == ["blue", "jbl"]
    assert search.query_words("a_b 50%") == ["ab", "50"]
    assert search.key_and_prefix("noodle") == ("noo", "noodle")
    assert search.key_and_prefix("mi") == (" m", " mi")


def test_migration_fills_the_table_for_existing_products_and_goes_back(tmp_path):
    """0009 on its own SQLite file (the session's database stays as it is); on PostgreSQL the same
    was checked by hand: the backfill reads one organization at a time, under row-level security."""
    from tests.conftest import backfill_round_trip

    def seed(n):
        for name in ("Café Ünïcode", "Noodles Masala 70 g", f"Org {n} only"):
            product(name)

    def check(n):
        org = current_org_id()
        assert _rows(org) == _expected(org) and len(_rows(org)) > 20
    backfill_round_trip(tmp_path / "mig.db", before="0008_sales_list_index", table="product_search",
                        seed=seed, check=check)
