"""Reading requests run read-only on PostgreSQL and end with COMMIT (webapp.core.readonly).

Why it matters: psycopg forgets its prepared statements on every ROLLBACK, so pages that ended
with one never had a statement prepared. What must hold: a GET cannot write (the database refuses),
an object changed in memory during a GET is not written, a POST writes as before, and what a page
keeps on first read (`readonly.writing`) is committed while the rest of the request reads on."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Blueprint, jsonify
from sqlalchemy import event

from tests.conftest import CsrfClient, is_postgres, make_app, needs_postgres
from tests.factories import create_org, login
from webapp.core import readonly
from webapp.core.permissions import public
from webapp.extensions import db


def _org_name(app, org_id):
    with app.app_context():
        name = db.session.execute(sa.text("SELECT name FROM organization WHERE id = :id"), {"id": org_id}).scalar()
        db.session.rollback()
        return name


def _org(app, name):
    with app.app_context():
        org_id, _ = create_org(name)
        db.session.rollback()
        return org_id


@pytest.fixture
def views(app, tmp_path):
    """A second app on the test database, with views that misbehave on GET."""
    other = _app_with_test_views(app, tmp_path)
    yield other
    with other.app_context():
        db.engine.dispose()


def _app_with_test_views(app, tmp_path):
    app = make_app(tmp_path, PROPAGATE_TEST_ERRORS=False, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    bp = Blueprint("readonly_test", __name__)

    @bp.route("/test/write-on-get/<int:org_id>")
    @public
    def write_on_get(org_id):
        db.session.execute(sa.text("UPDATE organization SET name = 'Written by a GET' WHERE id = :id"),
                           {"id": org_id})
        return "written?"

    @bp.route("/test/change-in-memory/<int:org_id>")
    @public
    def change_in_memory(org_id):
        from webapp.orgs.models import Organization
        org = db.session.execute(sa.select(Organization).where(Organization.id == org_id)
                                 .execution_options(all_tenants=True)).scalar_one()
        org.name = "Changed in memory"      # never flushed: the request ends with ROLLBACK
        return "changed"

    @bp.route("/test/keep-on-first-read/<int:org_id>")
    @public
    def keep_on_first_read(org_id):
        states = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def note(conn, cursor, statement, parameters, context, executemany):
            states.append(conn.connection.dbapi_connection.read_only)
        try:
            db.session.execute(sa.text("SELECT 1"))
            with readonly.writing():
                db.session.execute(sa.text("UPDATE organization SET name = 'Kept on first read' WHERE id = :id"),
                                   {"id": org_id})
            db.session.execute(sa.text("SELECT 2"))
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        return jsonify(states=states)

    app.register_blueprint(bp)
    app.test_client_class = CsrfClient
    return app


@needs_postgres
def test_a_write_in_a_get_is_refused_by_the_database_and_nothing_is_written(app, views):
    org_id = _org(app, "Read Only Traders")
    r = views.test_client().get(f"/test/write-on-get/{org_id}")
    assert r.status_code == 500
    assert _org_name(views, org_id) == "Read Only Traders"


def test_an_object_changed_in_memory_during_a_get_is_not_written(app, views):
    org_id = _org(app, "Memory Traders")
    r = views.test_client().get(f"/test/change-in-memory/{org_id}")
    assert r.status_code == 200
    assert _org_name(views, org_id) == "Memory Traders"


@needs_postgres
def test_what_a_page_keeps_on_first_read_is_committed_and_the_request_reads_on_read_only(app, views):
    org_id = _org(app, "Keeping Traders")
    r = views.test_client().get(f"/test/keep-on-first-read/{org_id}")
    assert r.status_code == 200
    # SELECT 1 read-only; the UPDATE in a read-write transaction of its own; SELECT 2 read-only again.
    assert r.get_json()["states"] == [True, None, True]
    assert _org_name(views, org_id) == "Kept on first read"


@needs_postgres
def test_gets_run_read_only_end_with_commit_and_keep_prepared_statements(app, client):
    with app.app_context():
        create_org("Prepared Traders", email="prepared@example.com")
    login(client, "prepared@example.com")
    seen, ended = [], []
    with app.app_context():
        engine = db.engine

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append((conn.connection.dbapi_connection, conn.connection.dbapi_connection.read_only))

    def committed(conn):
        ended.append("commit")

    def rolled_back(conn):
        ended.append("rollback")
    event.listen(engine, "before_cursor_execute", note)
    event.listen(engine, "commit", committed)
    event.listen(engine, "rollback", rolled_back)
    try:
        for _ in range(8):          # psycopg prepares a statement on its fifth execution
            assert client.get("/healthz").status_code == 200
        assert {state for _, state in seen} == {True}
        assert ended == ["commit"] * 8
        used = {id(c): c for c, _ in seen}
        assert len(used) == 1, "one pooled connection served the requests in turn"
        (dbapi_connection,) = used.values()
        prepared = dbapi_connection.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%JOIN user_session%'").fetchone()[0]
        dbapi_connection.rollback()
        assert prepared == 1, "the sign-in look-up stayed prepared from one GET to the next"

        # A POST still begins a plain (read-write) transaction and writes.
        seen.clear()
        r = client.post("/sales/new/invoice")
        assert r.status_code in (302, 303)
        assert seen and {state for _, state in seen} == {None}
    finally:
        event.remove(engine, "before_cursor_execute", note)
        event.remove(engine, "commit", committed)
        event.remove(engine, "rollback", rolled_back)


def test_sqlite_and_code_outside_a_reading_request_end_as_before(app, ctx):
    session = db.session()
    session.execute(sa.text("SELECT 1"))
    assert readonly.ends_by_commit(session) is False          # not a reading request
    token = readonly.set_reading(True)                          # as in a GET
    try:
        assert readonly.ends_by_commit(session) is is_postgres()
        from webapp.orgs.models import Organization
        session.add(Organization(name="Pending"))
        assert readonly.ends_by_commit(session) is False      # something pending: ROLLBACK
        session.expunge_all()
    finally:
        readonly.reset_reading(token)
