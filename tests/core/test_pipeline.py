"""Statements sent together (core/pipeline.py), writes without savepoints (core/tx.py), documents'
versions checked on every write, and the request's round trips (sign-in look-up, idle pings)."""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from tests.conftest import needs_postgres
from tests.factories import create_org, login
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.core import audit, pipeline
from webapp.core.errors import DomainError, StaleData
from webapp.core.tenancy import tenant
from webapp.core.trade import LineValues
from webapp.core.tx import atomic
from webapp.extensions import db
from webapp.sales import services as sales
from webapp.sales.models import SalesDocument


@pytest.fixture
def shop(app, ctx):
    org_id, user_id = create_org("Pipeline Stores")
    with tenant(org_id), audit.acting_as(user_id):
        yield {"org_id": org_id, "user_id": user_id}


def _statements(fn, sent=None, engine=None):
    """The SQL statements `fn()` sends: through the session, and in pipelines (each one a list)."""
    sent = [] if sent is None else sent
    engine = engine or db.engine

    def before(conn, cursor, statement, *args):
        sent.append(statement)
    sa.event.listen(engine, "before_cursor_execute", before)
    pipeline.SENT.append(sent.append)
    try:
        fn()
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        pipeline.SENT.remove(sent.append)
    return sent


# ---------------------------------------------------------------- the pipeline

@needs_postgres
def test_a_pipeline_answers_each_statement_and_checks_after(shop):
    pipe = pipeline.Pipeline()
    one = pipe.add(sa.text("SELECT :a + 1"), {"a": 1})
    many = pipe.add(sa.text("SELECT :a * 10"), many=[{"a": 1}, {"a": 2}, {"a": 3}])
    seen = []
    pipe.then(lambda: seen.append((one.scalar(), [r[0] for r in many.rows])))
    sent = _statements(pipe.run)
    assert seen == [(2, [10, 20, 30])]
    assert len(sent) == 1 and len(sent[0]) == 2          # one round trip for both


@needs_postgres
def test_a_refused_statement_is_the_sessions_kind_of_error_and_leaves_nothing(shop):
    cust = customer()
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        with atomic():
            pipe = pipeline.Pipeline()
            pipe.add(sa.text("UPDATE party SET name = 'Renamed' WHERE id = :id"), {"id": cust.id}, returns=False)
            pipe.add(sa.text("INSERT INTO party (org_id, code, name) VALUES (:org, :code, NULL)"),
                     {"org": shop["org_id"], "code": "X"}, returns=False)
            pipe.run()
    db.session.rollback()
    assert db.session.get(type(cust), cust.id).name != "Renamed"


def test_flush_writes_what_a_flush_writes_with_its_audit_rows(shop):
    """`pipeline.flush` (one round trip on PostgreSQL) leaves the same rows and audit trail as
    the ORM's flush, and the objects as if flushed."""
    cust = customer()
    a, b = sales.create_document("quote", on=date(2026, 5, 1), customer=cust), \
        sales.create_document("quote", on=date(2026, 5, 1), customer=cust)
    db.session.commit()
    for doc, flush in ((a, db.session.flush), (b, pipeline.flush)):
        with audit.action("test.edit"):
            doc.notes, doc.reference, doc.version = "Deliver by Friday", "PO-77", doc.version + 1
            flush()
        assert not db.session.dirty
    db.session.commit()
    rows = db.session.execute(sa.select(audit.AuditLog.record_id, audit.AuditLog.action, audit.AuditLog.old,
                                        audit.AuditLog.new).where(audit.AuditLog.action == "test.edit")
                              .order_by(audit.AuditLog.id)).all()
    assert [r.record_id for r in rows] == [a.id, b.id]
    assert rows[0].old == rows[1].old and rows[0].new == rows[1].new
    assert rows[1].new == {"notes": "Deliver by Friday", "reference": "PO-77", "version": 2}
    # the new reference is found by the list's search (its search rows were written with it)
    from webapp.sales.queries import DocFilter, documents
    found, _ = documents(DocFilter(doc_type="quote", q="PO-77"), date(2026, 5, 1))
    assert {r.id for r in found} == {a.id, b.id}


def test_an_edit_of_a_document_changed_meanwhile_is_refused(shop):
    """Someone posts (or edits) a draft between another person's reading it and saving a line: the
    save finds the document's version moved on, writes nothing and says so."""
    p = product(sale_price="10", tax_rate="0")
    receive(p, 5, "4")
    doc = invoice(customer(), (p, 1))
    db.session.commit()
    line, version = doc.lines[0], doc.version
    # The other writer, behind this session's back: the document object here still holds the
    # version it was read at (as the editor's page did).
    t = SalesDocument.__table__
    db.session.execute(sa.update(t).where(t.c.id == doc.id).values(version=version + 1, notes="theirs"))
    with pytest.raises(StaleData):
        sales.update_line(doc, line, LineValues(p, None, D(3), D(10), None, None, D(0)), version=version)
    db.session.rollback()
    fresh = db.session.get(SalesDocument, doc.id)
    assert (fresh.version, fresh.notes, fresh.lines[0].quantity) == (version, None, D(1))


@needs_postgres
def test_a_line_saved_while_the_invoice_is_posted_changes_nothing(app, shop):
    """The line editor and posting race for one draft: whichever comes second is refused, and a
    posted invoice's lines are never what a late edit made them."""
    p = product(sale_price="10", tax_rate="0")
    receive(p, 50, "4")
    doc = invoice(customer(), (p, 2))
    db.session.commit()
    doc_id, line_id, version = doc.id, doc.lines[0].id, doc.version
    org_id, user_id = shop["org_id"], shop["user_id"]
    barrier, outcome = threading.Barrier(2), {}

    def run(name, work):
        with app.app_context(), tenant(org_id), audit.acting_as(user_id):
            d = db.session.get(SalesDocument, doc_id)
            d.lines  # noqa: B018  (read before the other goes)
            barrier.wait()
            try:
                work(d)
                db.session.commit()
                outcome[name] = "done"
            except DomainError as exc:
                db.session.rollback()
                outcome[name] = type(exc).__name__
            db.session.remove()

    def edit(d):
        line = next(l for l in d.lines if l.id == line_id)
        sales.update_line(d, line, LineValues(p, None, D(9), D(10), None, None, D(0)), version=version)
    threads = [threading.Thread(target=run, args=("edit", edit)),
               threading.Thread(target=run, args=("post", lambda d: sales.post_invoice(d, version=version)))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # one of them goes through; the other finds the document changed and writes nothing
    assert sorted(outcome.values()) == ["StaleData", "done"], outcome
    db.session.rollback()
    final = db.session.get(SalesDocument, doc_id)
    if outcome["post"] == "done":
        assert (final.status, final.lines[0].quantity, final.grand_total) == ("posted", D(2), D("20.00"))
    else:
        assert (final.status, final.lines[0].quantity, final.grand_total) == ("draft", D(9), D("90.00"))


# ---------------------------------------------------------------- no savepoint when nothing was written

def test_a_refusal_in_a_clean_transaction_needs_no_savepoint_and_leaves_nothing(shop):
    p = product(sale_price="10", tax_rate="0")
    receive(p, 1, "4")
    doc = invoice(customer(), (p, 5))          # more than there is
    db.session.commit()
    doc = db.session.get(SalesDocument, doc.id)
    sent = []
    with pytest.raises(DomainError, match="Insufficient stock"):
        _statements(lambda: sales.post_invoice(doc), sent)
    flat = [s for item in sent for s in (item if isinstance(item, list) else [item])]
    assert not any(s.upper().startswith("SAVEPOINT") for s in flat if isinstance(s, str))
    assert db.session.get(SalesDocument, doc.id).status == "draft"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(audit.AuditLog)
                             .where(audit.AuditLog.action == "invoice.post")) == 0


def test_a_refusal_after_earlier_writes_keeps_them(shop):
    """With writes already in the transaction, a refusal rolls back to a savepoint: the earlier
    writes stay."""
    p = product(sale_price="10", tax_rate="0")
    receive(p, 1, "4")
    cust = customer()
    doc = invoice(cust, (p, 5))
    db.session.commit()
    cust.notes = "Called about the order"
    db.session.flush()
    with pytest.raises(DomainError, match="Insufficient stock"):
        sales.post_invoice(doc)
    assert cust.notes == "Called about the order"
    db.session.commit()
    assert db.session.get(type(cust), cust.id).notes == "Called about the order"


# ---------------------------------------------------------------- a request's round trips

@needs_postgres
def test_a_signed_in_request_writes_the_tenant_setting_with_the_sign_in_look_up(app, client):
    with app.app_context():
        create_org(email="rt@example.com")
        engine = db.engine
        db.session.remove()
    assert login(client, "rt@example.com").status_code == 303
    client.get("/healthz")
    sent = _statements(lambda: client.get("/healthz"), engine=engine)
    assert any("user_session" in s and "set_config" in s for s in sent if isinstance(s, str)), sent
    assert not any("set_config" in s and "app.org_id" in s and "user_session" not in s
                   for s in sent if isinstance(s, str)), sent


@needs_postgres
def test_posting_from_the_page_needs_no_savepoint_and_no_reload_of_the_invoice(app, client):
    """The sign-in look-up's tenant setting is no write (core.tx), so the posting's atomic() needs
    no savepoint; the service returns the number, so the page reads nothing after it."""
    with app.app_context():
        org_id, user_id = create_org(email="post-rt@example.com")
        with tenant(org_id), audit.acting_as(user_id):
            soap = product("Soap", sale_price="50")
            receive(soap, 10, D("20"), on=date(2026, 5, 1))
            doc = invoice(customer(), (soap, 2))
            db.session.commit()
            doc_id, version = doc.id, doc.version
        engine = db.engine
        db.session.remove()
    assert login(client, "post-rt@example.com").status_code == 303
    sent = _statements(lambda: client.post(f"/sales/documents/{doc_id}/post", data={"version": version}),
                       engine=engine)
    plain = [s for s in sent if isinstance(s, str)]
    assert not any(s.startswith(("SAVEPOINT", "RELEASE")) for s in plain), plain
    # The sign-in look-up, the invoice locked, then only pipelines: nothing read after them.
    assert plain[-1].startswith("SELECT sales_document") and "FOR UPDATE" in plain[-1], plain
    assert sent[-2:] and all(isinstance(s, list) for s in sent[-2:]), sent
    with app.app_context(), tenant(org_id):
        assert db.session.get(SalesDocument, doc_id).status == "posted"


def test_reloading_an_object_does_not_pile_up_tenant_criteria(shop):
    """The tenant criteria travel with a loaded object into its reloads; each reload used to add
    one more, so every reload of a long-lived object was a new statement to compile."""
    from webapp.orgs.models import Organization
    org = db.session.get(Organization, shop["org_id"])
    for _ in range(5):
        db.session.commit()
        org.name  # noqa: B018  (reloads it)
    assert len(sa.inspect(org).load_options) <= 1


@needs_postgres
def test_an_idle_connection_killed_meanwhile_is_replaced_before_use(app):
    import psycopg
    from webapp.core import pool
    with app.app_context():
        engine = db.engine
        engine.dispose()                          # one connection in the pool: the one below
        with engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            record = conn.connection._connection_record
        # A restart, a firewall: the connection dies while it waits in the pool, unused for an hour.
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(url, autocommit=True) as killer:
            assert killer.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        record.info[pool._RETURNED] -= 3600
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid


@needs_postgres
def test_a_refusal_keeps_the_locks_its_caller_took_before(app, shop):
    """A caller that locked a row (or took an advisory lock) before calling a service that refuses
    still holds it: the lock counts as something a whole-transaction rollback would undo."""
    import psycopg
    cust = customer()
    doc = sales.create_document("quote", on=date(2026, 5, 1), customer=cust)
    db.session.commit()
    db.session.scalars(sa.select(SalesDocument).where(SalesDocument.id == doc.id)
                       .with_for_update(of=SalesDocument)).one()
    db.session.execute(sa.text("SELECT pg_advisory_xact_lock(4242)"))
    with pytest.raises(DomainError):
        sales.update_header(doc, customer=cust, on=date(2026, 5, 1), due_date=date(2026, 4, 1))
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SET lock_timeout = '200ms'")
        other.execute("SELECT set_config('app.org_id', %s, false)", (str(shop["org_id"]),))
        assert other.execute("SELECT pg_try_advisory_xact_lock(4242)").fetchone()[0] is False
        with pytest.raises(psycopg.errors.LockNotAvailable):
            other.execute("SELECT id FROM sales_document WHERE id = %s FOR UPDATE", (doc.id,))
    db.session.rollback()


def test_atomic_with_savepoint_true_makes_one_even_first(shop):
    sent = []

    def work():
        with pytest.raises(DomainError):
            with atomic(savepoint=True):
                db.session.execute(sa.text("SELECT 2"))
                raise DomainError("no")
    db.session.execute(sa.text("SELECT 1"))
    _statements(work, sent)
    assert any(isinstance(s, str) and s.upper().startswith("SAVEPOINT") for s in sent), sent


def test_a_change_of_version_alone_is_audited(shop):
    """Adding a blank line changes only the document's version: the trail has it."""
    doc = sales.create_document("quote", on=date(2026, 5, 1), customer=customer())
    db.session.commit()
    with audit.action("test.add_line"):
        sales.add_line(doc, doc.version)
    db.session.commit()
    rows = db.session.execute(sa.select(audit.AuditLog.record_type, audit.AuditLog.old, audit.AuditLog.new)
                              .where(audit.AuditLog.action == "test.add_line")).all()
    assert ("sales_document", {"version": 1}, {"version": 2}) in [tuple(r) for r in rows]


@needs_postgres
def test_a_refused_pipeline_names_its_statements(shop):
    pipe = pipeline.Pipeline()
    pipe.add(sa.text("SELECT 1"))
    pipe.add(sa.text("SELECT 1 / 0"))
    pipe.add(sa.text("SELECT 2"))
    with pytest.raises(sa.exc.DBAPIError) as refused:
        with atomic():
            pipe.run()
    assert "a pipeline of 3 statements" in str(refused.value) and "SELECT 1 / 0" in str(refused.value)
