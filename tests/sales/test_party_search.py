"""The customers' name search rows (party_search, migration 0017, PostgreSQL): a trigger writes
every suffix of three characters or more of each party's lower-cased name whenever a name is
written, by any path (the ORM, plain SQL); the invoice list finds a customer's invoices through
them exactly as `name ILIKE '%text%'` does, and never another organization's."""
import importlib.util
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import needs_postgres
from tests.factories import create_org
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.catalog.search import fold_chars
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.parties import services as parties
from webapp.parties.models import Party
from webapp.parties.queries import ids_named, name_range
from webapp.sales import queries

pytestmark = needs_postgres
TODAY = date.today()
NAMES = ["Murugan Traders", "Công ty Ánh Dương", "İSTANBUL Kebab", "ab", "Dr. K. Rao & Sons (Pvt) Ltd",
         "  Spaced   Out  ", "Ω Ωmega", "ΝΙΚΟΣ Παπαδόπουλος ΟΕ"]
SEARCHES = ["Murugan", "lakshmi stores", "KSHMI", "ánh dương", "ÁNH DƯ", "istanbul", "İstanbul",
            "k. rao & sons (pvt", "  spaced   out ", "ωme", "Ω Ω", "zzz-nothing", "Neem",
            "ΝΙΚΟΣ", "νικοσ", "Νίκος", "ΝΙΚΟΣ ΠΑΠΑΔΌΠΟΥΛΟΣ", "ος οε"]


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


def _named(q: str) -> set[int]:
    prefix, upper = name_range(q.strip())
    return set(db.session.scalars(ids_named(sa.bindparam("o"), prefix, upper), {"o": _org()}))


def _org() -> int:
    from webapp.core.tenancy import current_org_id
    return current_org_id()


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
        for q in SEARCHES:
            assert _found(q) == _by_ilike(q), q
        assert not _found("Murugan") and _found("Lakshmi")
        # A capital sigma ends a word: Python's str.lower() makes it ς, PostgreSQL's lower() σ.
        assert _found("ΝΙΚΟΣ") and _found("ΝΙΚΟΣ") == _by_ilike("ΝΙΚΟΣ")
        db.session.commit()


def test_a_search_runs_on_the_generic_plan_and_gives_what_the_plain_statement_gives(app, ctx):
    """A search by token is sent with plan_cache_mode forced to the generic plan (one round trip with
    the setting and its reset): the same rows, in the same order, with the same values (money
    exact), on every page and filter, as the statement run as usual; the setting is back after."""
    org_id, _ = create_org("Generic Plans")
    with tenant(org_id):
        soap = product("Neem soap", sale_price="40.00", tax_rate="18")
        receive(soap, 500, "20.00", on=TODAY - timedelta(days=90))
        buyers = [customer(f"Hanuman Mart {n}") for n in range(3)] + [customer("Other Traders")]
        for k in range(70):
            invoice(buyers[k % 4], (soap, 1 + k % 3, f"{40 + k % 7}.35"), on=TODAY - timedelta(days=k % 40),
                    post=k % 5 != 0)
        db.session.flush()
        for f in (queries.DocFilter(q="hanuman mart"), queries.DocFilter(q="Hanuman Mart", page=2),
                  queries.DocFilter(q="mart", status="unpaid"), queries.DocFilter(q="INV-", sort="total"),
                  queries.DocFilter(q="Hanuman", customer_id=buyers[1].id, date_from=TODAY - timedelta(days=20))):
            mode, found = queries._search(f.q)
            assert mode == "token", f
            rows, more = queries.documents(f, TODAY)
            assert db.session.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"
            params = {"org_id": org_id, "today": TODAY, "customer_id": f.customer_id, "date_from": f.date_from,
                      "date_to": f.date_to, "offset": (f.page - 1) * queries.PAGE, "limit": queries.PAGE + 1, **found}
            plain = db.session.connection().execute(queries._list_statement(f, mode), params).all()
            got = [(r.id, r.doc_type, r.status, r.number, r.date, r.due_date, r.payment_status, r.grand_total,
                    r.amount_paid, r.customer_name) for r in rows]
            assert got == [tuple(r) for r in plain[:queries.PAGE]] and more == (len(plain) > queries.PAGE), f
            # the same Decimals written the same way (1.20 is not shown as 1.2)
            assert [(str(r.grand_total), str(r.amount_paid)) for r in rows] == \
                [(str(r.grand_total), str(r.amount_paid)) for r in plain[:queries.PAGE]]
        assert len(queries.documents(queries.DocFilter(q="hanuman mart"), TODAY)[0]) == 50
        db.session.rollback()


def test_rows_are_written_for_names_written_in_plain_sql(app, ctx):
    """The trigger, not the ORM, keeps the rows: an INSERT and an UPDATE in SQL; an UPDATE that sets
    the name it had leaves the rows untouched."""
    org_id, _ = create_org("Plain SQL Names")
    with tenant(org_id):
        pid = db.session.execute(sa.text(
            "INSERT INTO party (org_id, code, name, is_customer, is_supplier, is_walk_in, payment_terms_days, "
            "currency, active, created_at, version) VALUES (:o, 'SQL1', 'Raw Insert Agencies', true, false, "
            "false, 0, 'INR', true, now(), 1) RETURNING id"), {"o": org_id}).scalar()
        assert _rows(pid) == _expected("Raw Insert Agencies") and _named("insert agen") == {pid}
        db.session.execute(sa.text("UPDATE party SET name = 'Renamed In SQL' WHERE id = :p"), {"p": pid})
        assert _rows(pid) == _expected("Renamed In SQL")
        assert _named("insert agen") == set() and _named("NAMED IN") == {pid}
        before = set(db.session.execute(sa.text("SELECT token, xmin::text FROM party_search WHERE party_id = :p"),
                                        {"p": pid}).all())
        db.session.execute(sa.text("UPDATE party SET name = name, phone = '1' WHERE id = :p"), {"p": pid})
        after = set(db.session.execute(sa.text("SELECT token, xmin::text FROM party_search WHERE party_id = :p"),
                                       {"p": pid}).all())
        assert after == before                         # the same row versions: not deleted and written again
        db.session.rollback()


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
    count = "SELECT count(*) FROM party_search WHERE org_id = :o"
    with tenant(orgs[0]):
        assert _named("Shared Name") and _found("Shared Name")           # found where it belongs
        own = db.session.execute(sa.text(count), {"o": orgs[0]}).scalar()
        assert own > 0
        db.session.rollback()
    with tenant(orgs[1]):
        assert not _found("Shared Name") and _found("Only Here")
        # the table's own wall: the other organization's rows, asked for by its id, are not there
        assert db.session.execute(sa.text(count), {"o": orgs[0]}).scalar() == 0
        assert db.session.scalars(ids_named(sa.bindparam("o"), *name_range("Shared Name")),
                                  {"o": orgs[0]}).all() == []
        db.session.rollback()


@pytest.mark.parametrize("text", ["Murugan", "ÁNH Dương", "ΟΔΟΣ ΝΙΚΟΣ", "İSTANBUL", "Ωmega"])
def test_the_search_folds_as_postgresql_does(app, ctx, text):
    """What was typed is folded in Python, the names by PostgreSQL's lower(): the same characters."""
    assert db.session.scalar(sa.select(sa.func.lower(text))) == fold_chars(text)
    db.session.rollback()


def test_the_migration_backfill_writes_the_rows_the_trigger_would(app, ctx):
    """For every organization, whatever the setting it starts from (row-level security shows the
    migration's role one organization at a time)."""
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0017_party_search.py"
    spec = importlib.util.spec_from_file_location("migration_0017", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    orgs, before = [], {}
    for org_name in ("Backfill One", "Backfill Two"):
        org_id, _ = create_org(org_name)
        with tenant(org_id):
            for name in NAMES:
                customer(f"{name} {org_name}")
            db.session.flush()
            before[org_id] = {p.id: _rows(p.id) for p in db.session.scalars(sa.select(Party))}
            db.session.execute(sa.text("DELETE FROM party_search"))
            assert not any(_rows(pid) for pid in before[org_id])
            db.session.commit()
        orgs.append(org_id)
    conn = db.session.connection()
    conn.exec_driver_sql("SELECT set_config('app.org_id', '', true)")
    migration.backfill(conn)
    db.session.commit()
    for org_id in orgs:
        with tenant(org_id):
            assert {pid: _rows(pid) for pid in before[org_id]} == before[org_id]
            assert sum(map(len, before[org_id].values())) > 50
            db.session.rollback()
