"""Shared benchmark plumbing: an app on PostgreSQL, a fresh schema, timing.

Benchmarks run on PostgreSQL only (the target deployment). The database comes
from BENCH_DATABASE_URL; it is emptied and migrated unless --keep is given.
Timings are in-process: the function (or the Flask test client request) is
called repeatedly in one warm process, the way a gunicorn worker serves it.
"""
from __future__ import annotations

import gc
import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def bench_app(fresh: bool = True):
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url or not url.startswith(("postgresql", "postgres")):
        raise SystemExit("Set BENCH_DATABASE_URL to a PostgreSQL database the benchmark may wipe "
                         "(an ordinary role, as in production).")
    from webapp import create_app
    app = create_app({"APP_ENV": "testing", "SECRET_KEY": "bench-" + "x1y2z3" * 8, "SQLALCHEMY_DATABASE_URI": url,
                      "REDIS_URL": None, "JOBS_SYNC": True, "TESTING": True, "PROPAGATE_TEST_ERRORS": True,
                      # As in production: the navigation's counts are reused for a minute, and the live objects
                      # are frozen after the 10th, 100th, 1,000th and 10,000th request (tests turn both off).
                      "NAV_COUNT_TTL": 60, "GC_FREEZE_AFTER": (10, 100, 1_000, 10_000)})
    from flask_migrate import upgrade
    with app.app_context():
        if fresh:
            from webapp.extensions import db
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE")
                conn.exec_driver_sql("CREATE SCHEMA public")
        upgrade()       # reused data: brought to the code's schema first (nothing to do when it is)
    # As wsgi.py does once the app is loaded: its long-lived objects out of the garbage collector's
    # generations (docs/performance.md, "Inventory").
    gc.collect()
    gc.freeze()
    return app


@contextmanager
def raw_connection(app, org_id: int):
    """A psycopg connection with the tenant set, for COPY-speed data generation."""
    from webapp.extensions import db
    with app.app_context():
        conn = db.engine.raw_connection()
        # One transaction for the whole load: the app's connections are in psycopg's autocommit
        # mode (webapp.core.begin sends their BEGIN), this one begins as psycopg does.
        conn.driver_connection.autocommit = False
        try:
            cur = conn.cursor()
            cur.execute("SELECT set_config('app.org_id', %s, false)", (str(org_id),))
            yield conn
            conn.commit()
        finally:
            conn.rollback()
            conn.driver_connection.autocommit = True
            conn.close()


def timed(fn, *, runs: int = 30, warmup: int = 6, setup=None) -> dict:
    """Time `fn()`; with `setup`, time `fn(setup())` and leave the setup out of the figure.

    Six runs first: psycopg prepares a statement on the server on its fifth execution, once per
    connection; a warm worker has done that long before (with three, it fell inside the timings)."""
    call = (lambda: fn()) if setup is None else (lambda: fn(setup()))
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(runs):
        arg = setup() if setup is not None else None
        t0 = time.perf_counter()
        fn() if setup is None else fn(arg)
        samples.append((time.perf_counter() - t0) * 1000)
    return stats(samples)


def stats(samples: list[float], digits: int = 2) -> dict:
    """p50, p99, fastest and slowest of timings in milliseconds."""
    samples = sorted(samples)
    return {"runs": len(samples), "p50_ms": round(statistics.median(samples), digits),
            "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], digits),
            "min_ms": round(samples[0], digits), "max_ms": round(samples[-1], digits)}


def timed_together(fns: dict, *, runs: int = 30, warmup: int = 6) -> dict[str, dict]:
    """Time several calls in turn, round after round (one run of each per round), so that a drift
    of the machine's speed during the measurement touches them all alike and their figures can be
    compared with one another; `timed`'s figures for each."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - t0) * 1000)
    return {name: stats(got) for name, got in samples.items()}


class SqlCount:
    """Statements and round trips of the calls made inside `sql_count` (pipelines included)."""

    def __init__(self):
        self.statements = self.round_trips = 0

    def __str__(self) -> str:
        return f"{self.statements} statements, {self.round_trips} round trips"


@contextmanager
def sql_count(engine):
    """Count the SQL sent while the block runs: each statement through the session is a round trip;
    a pipeline (core.pipeline) is one round trip for all its statements. BEGIN and COMMIT are not
    counted."""
    import sqlalchemy as sa
    from webapp.core import pipeline
    found = SqlCount()

    def before(conn, cursor, statement, parameters, context, executemany):
        found.statements += 1
        found.round_trips += 1

    def piped(statements):
        found.statements += len(statements)
        found.round_trips += 1
    sa.event.listen(engine, "before_cursor_execute", before)
    pipeline.SENT.append(piped)
    try:
        yield found
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        pipeline.SENT.remove(piped)


def machine_speed() -> str:
    """How fast this machine is right now, so that figures from different machines (or hours: a
    virtual machine's speed moves with its neighbours) can be compared: a fixed piece of pure
    Python (a 2,000,000-step loop, best of five) and a PostgreSQL round trip (`SELECT 1`, p50 of
    500) on BENCH_DATABASE_URL."""
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    trip = ""
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url.startswith(("postgresql", "postgres")):
        import psycopg
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            samples = []
            for _ in range(500):
                t0 = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                samples.append(time.perf_counter() - t0)
        trip = f", PostgreSQL round trip {statistics.median(samples) * 1e6:.0f} µs"
    return f"Python loop of 2,000,000 steps {best * 1000:.0f} ms{trip}"


#: machine_speed() when the benchmark started (bench.run sets it).
SPEED_AT_START: list[str] = []


def report(title: str, rows: list[tuple[str, dict, str]]) -> str:
    # The fastest run too: on a busy virtual machine it shows the code's own cost when p50 moves with
    # the neighbours.
    lines = [f"### {title}", "", "| measurement | p50 ms | p99 ms | min ms | target |",
             "| --- | ---: | ---: | ---: | --- |"]
    for name, t, target in rows:
        lines.append(f"| {name} | {t['p50_ms']} | {t['p99_ms']} | {t.get('min_ms', '—')} | {target} |")
    speed = machine_speed()
    lines += ["", f"Machine: at the start {SPEED_AT_START[0]}; at the end {speed}." if SPEED_AT_START
              else f"Machine: {speed}."]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{title.split()[0].strip(':').lower()}.md").write_text(text)
    return text


def logged_in_client(app, email: str):
    """A test client signed in as `email`. A browser sends the CSRF token its page was rendered
    with; this client signs one token after signing in and sends it with every request (the test
    suite's client re-reads its cookie session and signs a new one for each request, client time
    that would otherwise be counted in every POST measured here)."""
    from tests.conftest import CsrfClient
    from tests.factories import PASSWORD

    class BenchClient(CsrfClient):
        token = None

        def csrf_token(self) -> str:
            if self.token is None:
                self.token = super().csrf_token()
            return self.token

    app.test_client_class = BenchClient
    client = app.test_client()
    r = client.post("/login", data={"email": email, "password": PASSWORD})
    assert r.status_code == 303, f"bench login failed: {r.status_code}"
    client.token = None      # signing in starts a new session: the page after it carries a new token
    return client


def page(client, url, **query):
    """GET a page and insist that it really rendered (not a redirect or an error)."""
    def call():
        r = client.get(url, query_string=query)
        assert r.status_code == 200, f"{url} gave {r.status_code}"
        return r
    return call


#: Checks shared by the data sets: SQL counting the rows that break the rule (each must give 0).
LEDGER_CHECKS = {
    "day balances equal the journal lines": """
        WITH l AS (SELECT account_id, date, sum(debit) AS d, sum(credit) AS c FROM journal_line
                   GROUP BY account_id, date)
        SELECT count(*) FROM l FULL JOIN account_day_balance b ON b.account_id = l.account_id AND b.date = l.date
        WHERE coalesce(l.d, 0) <> coalesce(b.debit, 0) OR coalesce(l.c, 0) <> coalesce(b.credit, 0)""",
    "party balances equal the journal lines": """
        WITH l AS (SELECT account_id, party_id, sum(debit) AS d, sum(credit) AS c FROM journal_line
                   WHERE party_id IS NOT NULL GROUP BY account_id, party_id)
        SELECT count(*) FROM l FULL JOIN party_balance b ON b.account_id = l.account_id AND b.party_id = l.party_id
        WHERE coalesce(l.d, 0) <> coalesce(b.debit, 0) OR coalesce(l.c, 0) <> coalesce(b.credit, 0)""",
}

STOCK_CHECKS = {
    "on hand per product, batch and location equals the moves": """
        WITH m AS (
            SELECT product_id, batch_id, to_location_id AS loc, quantity AS q FROM stock_move
            WHERE to_location_id IS NOT NULL
            UNION ALL
            SELECT product_id, batch_id, from_location_id, -quantity FROM stock_move
            WHERE from_location_id IS NOT NULL),
        s AS (SELECT product_id, batch_id, loc, sum(q) AS q FROM m GROUP BY product_id, batch_id, loc)
        SELECT count(*) FROM s FULL JOIN stock_balance b
            ON b.product_id = s.product_id AND b.location_id = s.loc
           AND coalesce(b.batch_id, 0) = coalesce(s.batch_id, 0)
        WHERE coalesce(s.q, 0) <> coalesce(b.quantity, 0)""",
    "on hand is never negative": "SELECT count(*) FROM stock_balance WHERE quantity < 0",
    "FIFO/LIFO layers hold exactly the pool": """
        WITH l AS (SELECT product_id, sum(remaining_quantity) AS q, sum(remaining_value) AS v
                   FROM cost_layer GROUP BY product_id)
        SELECT count(*) FROM product_stock ps JOIN product p ON p.id = ps.product_id
        LEFT JOIN l ON l.product_id = ps.product_id
        WHERE p.costing_method IN ('fifo', 'lifo')
          AND (coalesce(l.q, 0) <> ps.pool_quantity OR coalesce(l.v, 0) <> ps.pool_value)""",
    "FIFO products consume their oldest layers first": """
        SELECT count(*) FROM cost_layer a
        JOIN cost_layer b ON b.product_id = a.product_id AND b.id > a.id
        JOIN product p ON p.id = a.product_id
        WHERE p.costing_method = 'fifo' AND a.remaining_quantity > 0 AND b.remaining_quantity < b.quantity""",
}
