"""The number and reference search rows (sales/search.py): written whenever a document gets a
number or a reference, by any path, in the same transaction; gone with the document; and the list
finds through them exactly what ILIKE finds (tests/sales/test_fast_paths.py compares the two for
~30 searches; on PostgreSQL through these rows)."""
from datetime import date, timedelta

import sqlalchemy as sa

from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.sales import queries, search, services as sales
from webapp.sales.models import QUOTE, SalesDocument, SalesDocumentSearch

TODAY = date.today()


def _rows(doc_id: int) -> set[str]:
    return set(db.session.scalars(sa.select(SalesDocumentSearch.token)
                                  .where(SalesDocumentSearch.document_id == doc_id)))


def _all_rows_are_right():
    """Every document's rows are exactly the tokens of its number and reference."""
    for doc in db.session.scalars(sa.select(SalesDocument)):
        assert _rows(doc.id) == search.tokens(doc.number, doc.reference), doc.id


def test_tokens_and_bounds():
    assert search.tokens("INV-7", None) == {"inv-7", "nv-7", "v-7"}
    assert search.tokens(None, "") == set() and search.tokens("ab", None) == set()
    assert search.tokens("Ab", "AbC") == {"abc"}
    assert search.usable("INV") and not search.usable("in") and not search.usable("a\\bc")
    assert search.bounds("PO-45") == ("po-45", "po-46")
    assert search.bounds("ab\ud7ff"[:2] + "\ud7ff") == ("ab\ud7ff", "ab\ue000")
    assert search.bounds("ab\U0010ffff") == ("ab\U0010ffff", None) and not search.usable("ab\U0010ffff")


def test_rows_follow_numbers_and_references_by_every_path(app, ctx):
    org_id, _ = create_org("Search Traders")
    with tenant(org_id):
        soap = product("Neem soap", sale_price="40.00", tax_rate="18")
        receive(soap, 50, "20.00", on=TODAY - timedelta(days=30))
        c = customer("Metro Clinic")
        draft = invoice(c, (soap, 1), on=TODAY)
        assert _rows(draft.id) == set()                             # a draft with nothing to find
        sales.update_header(draft, customer=c, on=TODAY, reference="PO-4510/A")
        assert _rows(draft.id) == search.tokens(None, "PO-4510/A")
        draft.reference = "Ref 12-34"                                  # a direct assignment, flushed
        db.session.flush()
        assert _rows(draft.id) == search.tokens(None, "Ref 12-34")
        sales.post_invoice(draft)
        assert draft.number and _rows(draft.id) == search.tokens(draft.number, "Ref 12-34")
        sales.cancel_invoice(draft, reason="test")                     # the number stays findable
        assert _rows(draft.id) == search.tokens(draft.number, "Ref 12-34")
        quote = invoice(c, (soap, 2), on=TODAY, doc_type=QUOTE)
        sales.update_header(quote, customer=c, on=TODAY, reference=None)
        other = invoice(c, (soap, 1), on=TODAY, post=True)
        _all_rows_are_right()
        doomed = invoice(c, (soap, 1), on=TODAY)
        sales.update_header(doomed, customer=c, on=TODAY, reference="DOOMED-1")
        doomed_id = doomed.id
        assert _rows(doomed_id)
        sales.delete_draft(doomed)
        db.session.flush()
        assert _rows(doomed_id) == set()                               # gone with the draft
        _all_rows_are_right()
        db.session.commit()
        assert other.number in {r.number for r in queries.documents(queries.DocFilter(q=other.number), TODAY)[0]}


def test_a_refused_posting_leaves_the_rows_as_they_were(app, ctx):
    org_id, _ = create_org("Search Refusals")
    with tenant(org_id):
        soap = product("Neem soap", sale_price="40.00", tax_rate="18")
        receive(soap, 1, "20.00", on=TODAY - timedelta(days=30))
        c = customer("Metro Clinic")
        doc = invoice(c, (soap, 5), on=TODAY)
        sales.update_header(doc, customer=c, on=TODAY, reference="PO-99")
        try:
            sales.post_invoice(doc)
        except Exception as exc:          # not enough stock
            assert "Insufficient stock" in str(exc)
        assert doc.number is None and _rows(doc.id) == search.tokens(None, "PO-99")


def test_another_organizations_numbers_are_never_found(app, ctx):
    found = {}
    for name in ("Org One", "Org Two"):
        org_id, _ = create_org(name)
        with tenant(org_id):
            soap = product("Neem soap", sale_price="40.00", tax_rate="18")
            receive(soap, 10, "20.00", on=TODAY - timedelta(days=30))
            c = customer("Same Name Stores")
            doc = invoice(c, (soap, 1), on=TODAY, post=True)
            sales.update_header(invoice(c, (soap, 1), on=TODAY), customer=c, on=TODAY, reference="SHARED-REF")
            db.session.commit()
            found[org_id] = doc.number
    numbers = set(found.values())
    assert len(numbers) == 1                   # both organizations' first invoice has the same number
    for org_id in found:
        with tenant(org_id):
            for q in (found[org_id], found[org_id][-5:], "shared-ref", "Same Name"):
                rows = queries.documents(queries.DocFilter(q=q), TODAY)[0]
                assert rows and all(db.session.get(SalesDocument, r.id).org_id == org_id for r in rows), q
            db.session.rollback()


def test_migration_fills_the_table_for_existing_documents_and_goes_back(tmp_path):
    """0010 on its own SQLite file (the session's database stays as it is)."""
    from tests.conftest import backfill_round_trip

    def seed(n):
        soap = product("Neem soap", sale_price="40.00", tax_rate="18")
        receive(soap, 10, "20.00", on=TODAY - timedelta(days=30))
        c = customer(f"Customer {n}")
        invoice(c, (soap, 1), on=TODAY, post=True)
        draft = invoice(c, (soap, 1), on=TODAY)
        sales.update_header(draft, customer=c, on=TODAY, reference=f"PO-{n}-77")
        invoice(c, (soap, 1), on=TODAY)

    def check(n):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SalesDocumentSearch)) > 10
        _all_rows_are_right()
    backfill_round_trip(tmp_path / "mig.db", before="0009_product_search", table="sales_document_search",
                        seed=seed, check=check)
