"""The customers' name search rows (party_search, migration 0017, PostgreSQL): a trigger writes
every suffix of three characters or more of each party's lower-cased name whenever a name is
written, by any path; the invoice list finds a customer's invoices through them exactly as
`name ILIKE '%text%'` does, and never another organization's."""
import importlib.util
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import needs_postgres
from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.catalog.search import fold
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.parties import services as parties
from webapp.parties.models import Party
from webapp.sales import queries

pytestmark = needs_postgres
TODAY = date.today()
NAMES = ["Murugan Traders", "Công ty Ánh Dương", "İSTANBUL Kebab", "ab", "Dr. K. Rao & Sons (Pvt) Ltd",
         "  Spaced   Out  ", "Ω Ωmega"]


def _rows(party_id: int) -> set[str]:
    return set(db.session.execute(sa.text("SELECT token FROM party_search WHERE party_id = :p"),
                                  {"p": party_id}).scalars())


def _expected(name: str) -> set[str]:
    low = db.session.scalar(sa.select(sa.func.lower(name)))
    return {low[i:] for i in range(len(low) - 2)}


def _all_rows_are_right():
    for p in db.session.scalars(sa.select(Party)):
        assert _rows(p.id) == _expected(p.name), p.name


def _form(p: Party) -> dict:
    """What the edit form sends for a party as it is."""
    return {"code": p.code, "name": p.name, "is_customer": p.is_customer, "is_supplier": p.is_supplier}


def _found(q: str) -> set[int]:
    rows, _ = queries.documents(queries.DocFilter(q=q), TODAY)
    return {r.id for r in rows}


def _by_ilike(q: str) -> set[int]:
    from webapp.sales.models import SalesDocument
    like = "%" + q.strip() + "%"
    return set(db.session.scalars(sa.select(SalesDocument.id).where(
        SalesDocument.doc_type == "invoice", sa.or_(
            SalesDocument.number.ilike(like), SalesDocument.reference.ilike(like),
            SalesDocument.customer_id.in_(sa.select(Party.id).where(Party.name.ilike(like)))))))


def test_rows_follow_the_name_and_the_list_finds_what_ilike_finds(app, ctx):
    org_id, _ = create_org("Name Search")
    with tenant(org_id):
        soap = product("Neem soap", sale_price="40.00", tax_rate="18")
        receive(soap, 50, "20.00", on=TODAY - timedelta(days=30))
        people = [customer(name) for name in NAMES]
        for c in people:
            invoice(c, (soap, 1), on=TODAY, post=True)
        db.session.flush()
        _all_rows_are_right()
        assert _rows(people[3].id) == set()                       # "ab": too short to hold a token
        renamed = people[0]
        parties.update_party(renamed, **dict(_form(renamed), name="Lakshmi Stores"))   # a rename rewrites the rows
        other = people[1]
        parties.update_party(other, **dict(_form(other), phone="+91 98450 00000"))   # not renamed: rows as they were
        db.session.flush()
        _all_rows_are_right()
        for q in ("Murugan", "lakshmi stores", "KSHMI", "ánh dương", "ÁNH DƯ", "istanbul", "İstanbul",
                  "k. rao & sons (pvt", "  spaced   out ", "ωme", "Ω Ω", "zzz-nothing", "Neem"):
            assert _found(q) == _by_ilike(q), q
        assert not _found("Murugan") and _found("Lakshmi")
        db.session.commit()


def test_another_organizations_names_are_never_found(app, ctx):
    orgs = []
    for name in ("Names One", "Names Two"):
        org_id, _ = create_org(name)
        with tenant(org_id):
            soap = product("Neem soap", sale_price="40.00", tax_rate="18")
            receive(soap, 10, "20.00", on=TODAY - timedelta(days=30))
            invoice(customer("Shared Name Mart" if name == "Names One" else "Only Here Mart"), (soap, 1),
                    on=TODAY, post=True)
            db.session.commit()
            orgs.append(org_id)
    with tenant(orgs[1]):
        assert not _found("Shared Name") and _found("Only Here")
        # the table's own wall: row-level security shows no other organization's rows
        assert db.session.execute(sa.text("SELECT count(*) FROM party_search WHERE org_id = :o"),
                                  {"o": orgs[0]}).scalar() == 0
        db.session.rollback()


@pytest.mark.parametrize("text", ["Murugan", "ánh"])
def test_the_folding_matches_postgresql(app, ctx, text):
    """The query is folded in Python, the rows by PostgreSQL's lower(): the same characters."""
    assert db.session.scalar(sa.select(sa.func.lower(text))) == fold(text)
    db.session.rollback()


def test_the_migration_backfill_writes_the_rows_the_trigger_would(app, ctx):
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0017_party_search.py"
    spec = importlib.util.spec_from_file_location("migration_0017", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    org_id, _ = create_org("Backfill Names")
    with tenant(org_id):
        for name in NAMES:
            customer(name)
        db.session.flush()
        before = {p.id: _rows(p.id) for p in db.session.scalars(sa.select(Party))}
        db.session.execute(sa.text("DELETE FROM party_search"))
        assert all(not _rows(pid) for pid in before)
        conn = db.session.connection()
        migration.backfill(conn)
        conn.exec_driver_sql("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
        assert {pid: _rows(pid) for pid in before} == before
        db.session.rollback()
