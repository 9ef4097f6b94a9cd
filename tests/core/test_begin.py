"""PostgreSQL: a transaction's BEGIN goes with its first statement (webapp.core.begin), and every
transaction is still one transaction: what it wrote goes with its ROLLBACK, its settings last to
its end, and psycopg never sends a BEGIN of its own."""
import psycopg
import pytest
import sqlalchemy as sa

from tests.conftest import is_postgres
from tests.factories import create_org
from webapp.core import pipeline
from webapp.core.begin import start_command
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.orgs.models import Organization

pytestmark = pytest.mark.skipif(not is_postgres(), reason="needs PostgreSQL: set TEST_DATABASE_URL")


@pytest.fixture
def commands(monkeypatch):
    """The commands psycopg sends on its own (BEGIN, COMMIT, ROLLBACK)."""
    seen = []
    original = psycopg.Connection._exec_command

    def spy(self, command, *args, **kwargs):
        seen.append(bytes(command).decode() if isinstance(command, (bytes, bytearray, memoryview)) else str(command))
        return original(self, command, *args, **kwargs)
    monkeypatch.setattr(psycopg.Connection, "_exec_command", spy)
    return seen


def _raw():
    return db.session.connection().connection.driver_connection


def _name_seen_by_another_connection(org_id: int) -> str:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT name FROM organization WHERE id = :id"), {"id": org_id}).scalar()


def test_the_first_statement_begins_the_transaction_and_psycopg_sends_no_begin(app, ctx, commands):
    db.session.execute(sa.text("SELECT set_config('smepulse.test', 'kept', true)"))
    raw = _raw()
    assert raw.autocommit is True
    assert raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    # A transaction-local setting lasts to the transaction's end: both statements are in one.
    assert db.session.execute(sa.text("SELECT current_setting('smepulse.test')")).scalar() == "kept"
    db.session.rollback()
    assert db.session.execute(sa.text("SELECT current_setting('smepulse.test', true)")).scalar() in ("", None)
    db.session.rollback()
    assert not any(c.startswith("BEGIN") for c in commands), commands
    assert commands.count("ROLLBACK") == 2


def test_what_a_transaction_wrote_goes_with_its_rollback(app, ctx):
    org_id, _ = create_org("Committed Traders")
    db.session.commit()
    db.session.get(Organization, org_id).name = "Renamed, then rolled back"
    db.session.flush()
    assert _name_seen_by_another_connection(org_id) == "Committed Traders"
    db.session.rollback()
    assert db.session.get(Organization, org_id).name == "Committed Traders"
    db.session.rollback()
    assert _name_seen_by_another_connection(org_id) == "Committed Traders"


def test_a_pipeline_that_begins_the_transaction_is_rolled_back_with_it(app, ctx):
    org_id, _ = create_org("Pipeline Traders")
    db.session.commit()
    with tenant(org_id):
        db.session.rollback()               # a new transaction: nothing sent yet
        pipe = pipeline.Pipeline()
        pipe.add(sa.text("UPDATE organization SET name = :name WHERE id = :id"),
                 {"name": "Written in a pipeline", "id": org_id}, returns=False)
        seen = pipe.add(sa.text("SELECT name FROM organization WHERE id = :id"), {"id": org_id})
        pipe.run()
        assert seen.scalar() == "Written in a pipeline"
        assert _raw().info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        db.session.rollback()
        assert db.session.get(Organization, org_id).name == "Pipeline Traders"
        db.session.rollback()


def test_a_failed_first_statement_leaves_a_transaction_that_rolls_back(app, ctx):
    with pytest.raises(sa.exc.DBAPIError):
        db.session.execute(sa.text("SELECT 1 / 0"))
    db.session.rollback()
    assert db.session.execute(sa.text("SELECT 2")).scalar() == 2
    db.session.rollback()


def test_the_begin_carries_the_connections_settings(app, ctx):
    raw = _raw()
    db.session.rollback()
    before = raw.read_only, raw.isolation_level, raw.deferrable
    try:
        assert start_command(raw) == "BEGIN"
        raw.read_only = True
        assert start_command(raw) == "BEGIN READ ONLY"
        raw.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        raw.deferrable = False
        assert start_command(raw) == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY NOT DEFERRABLE"
    finally:
        raw.read_only, raw.isolation_level, raw.deferrable = before


def _backend_pid() -> int:
    return db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()


def test_a_connection_lost_in_a_transaction_is_rolled_back_and_replaced(app, ctx):
    pid = _backend_pid()
    with db.engine.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
    with pytest.raises(sa.exc.OperationalError) as lost:
        db.session.execute(sa.text("SELECT 1"))
    assert lost.value.connection_invalidated
    db.session.rollback()           # not PendingRollbackError: the lost connection is let go
    assert _backend_pid() != pid
    db.session.rollback()


def test_an_autocommit_connection_gets_no_begin(app, ctx):
    org_id, _ = create_org("Autocommit Traders")
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE organization")     # refused inside a transaction block
        conn.execute(sa.text("UPDATE organization SET name = 'Committed as it ran' WHERE id = :id"), {"id": org_id})
    assert _name_seen_by_another_connection(org_id) == "Committed as it ran"
    # Back in the pool, the connection begins with the app's BEGIN again, not psycopg's.
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw.autocommit is True and raw.isolation_level is None
        conn.execute(sa.text("SELECT 1"))
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()


def test_first_statements_a_pipeline_cannot_carry_begin_on_their_own(app, ctx, commands):
    org_id, _ = create_org("Streamed Traders")
    db.session.commit()
    # A server-side cursor (stream_results) as the transaction's first statement.
    with db.engine.connect() as conn:
        result = conn.execution_options(stream_results=True).execute(
            sa.text("SELECT name FROM organization WHERE id = :id"), {"id": org_id})
        assert result.scalars().all() == ["Streamed Traders"]
        assert conn.connection.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()
    # Several statements without parameters (the simple query protocol), first in their transaction.
    with db.engine.connect() as conn:
        conn.exec_driver_sql(f"UPDATE organization SET name = 'Two statements' WHERE id = {org_id}; SELECT 1")
        assert conn.connection.driver_connection.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.rollback()
    assert _name_seen_by_another_connection(org_id) == "Streamed Traders"
    assert not any(c.startswith("BEGIN") for c in commands), commands
