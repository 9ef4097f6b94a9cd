"""Test fixtures: an app on SQLite (default) or PostgreSQL + Redis.

`TEST_DATABASE_URL` switches the suite to PostgreSQL, `REDIS_URL` makes jobs
go through RQ (drained by a burst worker) and rate limits through Redis.
The schema is built once per session by running the migrations (so they are
tested too) and emptied after every test.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from webapp import create_app
from webapp.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("REDIS_URL")
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def is_postgres() -> bool:
    return bool(TEST_DATABASE_URL)


needs_postgres = pytest.mark.skipif(not TEST_DATABASE_URL,
                                    reason="needs PostgreSQL: set TEST_DATABASE_URL")


class CsrfClient(FlaskClient):
    """A test client that signs a CSRF token into every non-GET request,
    as the browser does through the form field or the htmx header.
    Pass `csrf=False` to send a request without one."""

    def open(self, *args, csrf: bool = True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self.csrf_token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def csrf_token(self) -> str:
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if not raw:
                raw = hashlib.sha1(os.urandom(64)).hexdigest()
                sess["csrf_token"] = raw
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)


def _sqlite_path(app) -> Path | None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _reset_schema(app) -> None:
    from flask_migrate import upgrade
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
            upgrade()
        else:
            path = _sqlite_path(app)
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            upgrade()
            engine.dispose()
            # Append-only tables refuse DELETE (triggers), so each test starts
            # from a copy of the freshly migrated file instead.
            shutil.copyfile(path, f"{path}.pristine")


def _empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        if db.engine.dialect.name == "postgresql":
            tables = [t.name for t in reversed(db.metadata.sorted_tables)]
            with db.engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE")
        else:
            path = _sqlite_path(app)
            db.engine.dispose()
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(f"{path}.pristine", path)


def make_app(tmp_dir, **overrides):
    url = TEST_DATABASE_URL or f"sqlite:///{tmp_dir / 'test.db'}"
    config = {
        "TESTING": True,
        "APP_ENV": "testing",
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": url,
        "REDIS_URL": REDIS_URL,
        "JOBS_SYNC": True,
        "RQ_QUEUE": "smepulse-test",
        "SERVER_NAME": None,
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("db"))
    _reset_schema(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(request, app):
    yield
    _empty_tables(app)
    from webapp.extensions import limiter
    with app.app_context():
        limiter.reset()
        if app.config.get("REDIS_URL"):
            from webapp.core.jobs import queue
            queue(app).empty()


@pytest.fixture
def ctx(app):
    """An app context for calling services directly."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


@pytest.fixture
def client(app):
    app.test_client_class = CsrfClient
    return app.test_client()


@pytest.fixture
def make_client(app):
    def _make():
        app.test_client_class = CsrfClient
        return app.test_client()
    return _make


def drain_jobs(app, timeout: float = 20) -> None:
    """Run queued RQ jobs (with Redis); with in-process jobs they already ran.

    A `flask worker` started for the browser tests may be taking jobs from the
    same queue, so wait until nothing is queued or running either.
    """
    if not app.config.get("REDIS_URL"):
        return
    import time
    from rq import SimpleWorker
    from rq.registry import StartedJobRegistry
    from webapp.core.jobs import queue, redis_connection
    with app.app_context():
        q = queue(app)
        SimpleWorker([q], connection=redis_connection(app)).work(burst=True, with_scheduler=False)
        started = StartedJobRegistry(queue=q)
        deadline = time.monotonic() + timeout
        while (q.count or started.count) and time.monotonic() < deadline:
            time.sleep(0.05)


def form_values(html: str) -> dict:
    """Hidden input values of a page, by name (for tests that post forms)."""
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))


def backfill_round_trip(path, *, before: str, table: str, seed, check, orgs: int = 2) -> None:
    """A migration's backfill, on an app of its own on a new SQLite file: migrate to the head, give
    `orgs` organizations data (`seed(n)` inside each one, committed), go back to revision `before`
    (`table` is gone), up again, and `check(n)` inside each organization (rolled back after)."""
    from flask_migrate import downgrade, upgrade

    import sqlalchemy as sa
    from tests.factories import create_org
    from webapp.core.tenancy import tenant
    app = app_on_sqlite_file(path)
    with app.app_context():
        upgrade()
        ids = []
        for n in range(orgs):
            org_id, _ = create_org(f"Mig {n}", email=f"mig{n}@example.com")
            with tenant(org_id):
                seed(n)
                db.session.commit()
            ids.append(org_id)
        db.session.remove()
        downgrade(revision=before)
        assert table not in sa.inspect(db.engine).get_table_names()
        upgrade()
        for n, org_id in enumerate(ids):
            with tenant(org_id):
                check(n)
                db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def app_on_sqlite_file(path):
    """An app of its own on a new SQLite file (a migration test up- and downgrades it; the session's
    database stays as it is)."""
    from webapp import create_app
    return create_app({"APP_ENV": "testing", "TESTING": True, "SECRET_KEY": SECRET, "REDIS_URL": None,
                       "JOBS_SYNC": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
