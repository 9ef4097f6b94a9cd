"""The sales hot paths made faster (docs/performance.md, "Sales"): they show and write exactly
what the slower code did.

* the invoice list reads plain rows (a Core statement built once per shape, the page's ids
  first) and prefilters a search with a cheap LIKE;
* the htmx line editor loads the document with its lines in one statement and renders only
  the line, the totals and the version;
* posting issues the stock without a flush per line, and the ledger writes an entry's lines
  and day balances in one statement each;
* job workers load WeasyPrint and the invoice stylesheets before the first job; a forking
  worker's work-horses never use the parent's database connections.
"""
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import create_org, login
from tests.inventory.helpers import product, receive
from tests.sales.helpers import customer, invoice
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.models import AccountDayBalance, JournalEntry, JournalLine
from webapp.parties.models import Party
from webapp.sales import queries, services as sales
from webapp.sales.models import SalesDocument

HX = {"HX-Request": "true"}
TODAY = date.today()


# ---------------------------------------------------------------- the list

def _old_documents(f: queries.DocFilter, today: date) -> list[int]:
    """The list as it was read before (whole documents through the ORM): the reference."""
    d = SalesDocument
    stmt = sa.select(d.id).where(d.doc_type == f.doc_type, *queries._status_clause(f, today, d))
    if f.customer_id:
        stmt = stmt.where(d.customer_id == f.customer_id)
    if f.date_from:
        stmt = stmt.where(d.date >= f.date_from)
    if f.date_to:
        stmt = stmt.where(d.date <= f.date_to)
    if f.q:
        like = "%" + f.q.strip()[:60].replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(sa.or_(d.number.ilike(like), d.reference.ilike(like),
                                 d.customer_id.in_(sa.select(Party.id).where(Party.name.ilike(like)))))
    sort = {"date": (d.date.desc(), d.id.desc()), "date_asc": (d.date, d.id), "number": (d.number.desc(), d.id.desc()),
            "total": (d.grand_total.desc(), d.id.desc()), "due": (d.due_date, d.id)}
    page = max(1, min(f.page, 10_000))
    return list(db.session.scalars(stmt.order_by(*sort.get(f.sort, sort["date"])).offset((page - 1) * queries.PAGE)
                                   .limit(queries.PAGE + 1)))


@pytest.fixture
def books(app, ctx):
    """Invoices in every state, customers whose names need care, references with digits."""
    org_id, _ = create_org("Lotus Pharmacy", fiscal_year_start_month=4)
    with tenant(org_id):
        dolo = product("Dolo 650", costing="fifo", sale_price="32.00", tax_rate="12")
        receive(dolo, 500, "21.50", on=TODAY - timedelta(days=400))
        names = ["Metro Clinic", "Café Ünïcode 12", "Sri Ganesh Medicals, Jayanagar", "50% Off Stores",
                 "Under_score Traders", "Back\\slash & Co", "KELVIN K-12 Labs"]
        custs = [customer(n, payment_terms_days=t) for n, t in zip(names, (0, 7, 15, 30, 45, 0, 30))]
        docs = []
        for i in range(70):
            c = custs[i % len(custs)]
            doc = invoice(c, (dolo, 1 + i % 3), on=TODAY - timedelta(days=(i * 37) % 380))
            doc.reference = [None, f"PO-{4500 + i}/A", "Café order", "ref 12-34"][i % 4]
            if i % 9 != 8:     # most are posted, some stay drafts
                sales.post_invoice(doc)
            docs.append(doc)
        from webapp.ledger.services import account_for
        from webapp.payments import services as payments
        for doc in docs[1::5]:
            if doc.status == "posted":
                part = doc.grand_total if doc.id % 2 else (doc.grand_total / 2).quantize(D("0.01"))
                payments.record_payment(direction="in", party=doc.customer, amount=part, account=account_for("bank"),
                                        method="bank_transfer", on=max(doc.date, TODAY - timedelta(days=1)),
                                        allocations=[(doc, part)])
        sales.cancel_invoice(docs[3], reason="test")
        ids = {"org": org_id, "docs": [d.id for d in docs], "customers": [c.id for c in custs]}
        # Committed after the ids are read: reading them after the commit would open a read
        # transaction that, on SQLite, blocks a test's writes from another session.
        db.session.commit()
        yield ids


SEARCHES = ["", "metro", "METRO", "café", "CAFÉ", "ünïcode", "12", "ref 12", "12-34", "po-45", "PO-4510/A",
            "INV-2026", "inv-", "-00001", "00004", "50", "50% off", "under_score", "Under_score", "back\\slash",
            "\\", "k-12", "kelvin", ", Jay", " ", "zzz", "Sri Ganesh Medicals, Jayanagar"]


def test_list_rows_are_the_documents_rows(books):
    with tenant(books["org"]):
        for status in ["", *queries.INVOICE_STATUSES]:
            for sort in ("date", "date_asc", "number", "total", "due"):
                f = queries.DocFilter(status=status, sort=sort)
                rows, more = queries.documents(f, TODAY)
                assert [r.id for r in rows] == _old_documents(f, TODAY)[:queries.PAGE], (status, sort)
                assert more == (len(_old_documents(f, TODAY)) > queries.PAGE)
                for row in rows:
                    doc = db.session.get(SalesDocument, row.id)
                    assert (row.number, row.date, row.due_date, row.grand_total, row.amount_due, row.badge(TODAY),
                            row.customer_name) == (doc.number, doc.date, doc.due_date, doc.grand_total,
                                                   doc.amount_due, doc.badge(TODAY), doc.customer.name)
        f = queries.DocFilter(page=2)
        assert [r.id for r in queries.documents(f, TODAY)[0]] == _old_documents(f, TODAY)[:queries.PAGE]
        f = queries.DocFilter(customer_id=books["customers"][1], date_from=TODAY - timedelta(days=200),
                              date_to=TODAY - timedelta(days=10))
        assert [r.id for r in queries.documents(f, TODAY)[0]] == _old_documents(f, TODAY)[:queries.PAGE]


@pytest.mark.parametrize("q", SEARCHES)
def test_search_finds_what_ilike_finds(books, q):
    with tenant(books["org"]):
        for status in ("", "unpaid", "paid"):
            f = queries.DocFilter(q=q, status=status)
            assert [r.id for r in queries.documents(f, TODAY)[0]] == _old_documents(f, TODAY)[:queries.PAGE], (q, status)


@pytest.mark.parametrize("sort", ["date", "date_asc", "number", "total", "due"])
def test_search_in_every_sort_and_page_finds_what_ilike_finds(books, sort):
    """Every sort, a second page and a customer filter, through the search rows on PostgreSQL
    (numbers, references and customers' names together) and ILIKE on SQLite."""
    with tenant(books["org"]):
        for q in ("inv-", "12-34", "metro", "po-45", "Café", "k-12"):
            for status, page in (("", 1), ("", 2), ("overdue", 1), ("paid", 1)):
                f = queries.DocFilter(q=q, status=status, sort=sort, page=page)
                rows, more = queries.documents(f, TODAY)
                expected = _old_documents(f, TODAY)
                assert [r.id for r in rows] == expected[:queries.PAGE], (q, status, page)
                assert more == (len(expected) > queries.PAGE)
            f = queries.DocFilter(q=q, sort=sort, customer_id=books["customers"][2])
            assert [r.id for r in queries.documents(f, TODAY)[0]] == _old_documents(f, TODAY)[:queries.PAGE]


def test_literal_run_is_a_piece_every_match_contains():
    run = queries._literal_run
    assert run("INV-2026-27-00042") == "-2026-27-00042"
    assert run("Hanuman Mart") == " "
    assert run("PO-4510/A") == "-4510/"
    assert run("metro") is None and run("") is None
    assert run("Café 12") == " 12"          # a non-ASCII letter ends a piece too
    assert run("a\\b 12") is None            # LIKE's escape character: no prefilter


def test_list_shows_only_this_organizations_invoices(app, client, books):
    with app.app_context():
        other, _ = create_org("Other Shop", email="other@example.com")
        with tenant(other):
            pills = product("Pills", sale_price="10")
            receive(pills, 10, "5")
            mine = customer("Metro Clinic Twin")
            invoice(mine, (pills, 1), post=True)
            db.session.commit()
    login(client, "other@example.com")
    page = client.get("/sales/invoices").get_data(as_text=True)
    assert page.count("/sales/documents/") == 1 and "Metro Clinic Twin" in page
    for q in ("Metro", "INV", "12", "Café"):
        body = client.get("/sales/invoices", query_string={"q": q}, headers=HX).get_data(as_text=True)
        assert "Lotus" not in body and "Café Ünïcode" not in body and body.count("/sales/documents/") <= 1


def test_list_page_links_and_badges(app, client, books):
    with app.app_context(), tenant(books["org"]):
        email = db.session.scalar(sa.text("SELECT email FROM user_account ORDER BY id LIMIT 1"))
    login(client, email)
    body = client.get("/sales/invoices", query_string={"status": "overdue"}).get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'href="/sales/documents/(\d+)"', body)]
    with app.app_context(), tenant(books["org"]):
        assert ids and all(db.session.get(SalesDocument, i).badge(TODAY) == "overdue" for i in ids)
    assert body.count('class="badge badge-overdue">Overdue</span>') == len(ids)


# ---------------------------------------------------------------- the line editor

@pytest.fixture
def editor(app, client):
    with app.app_context():
        org_id, _ = create_org("Lotus Pharmacy", email="lotus@example.com")
        with tenant(org_id):
            dolo = product("Dolo 650 tablets", sku="DOLO", sale_price="32", tax_rate="12")
            syrup = product("Cough syrup", sku="SYR", sale_price="85", tax_rate="12", batches=True)
            from webapp.inventory.services import batch_for
            receive(dolo, 50, "21.50", on=TODAY)
            receive(syrup, 5, "60", on=TODAY, batch=batch_for(syrup, "B-OLD", TODAY + timedelta(days=30)))
            receive(syrup, 7, "61", on=TODAY, batch=batch_for(syrup, "B-NEW", TODAY + timedelta(days=300)))
            metro = customer("Metro Clinic")
            doc = invoice(metro, (dolo, 2), (syrup, 1), on=TODAY)
            other = invoice(metro, (dolo, 1), on=TODAY)
            db.session.commit()
            ids = dict(org=org_id, doc=doc.id, lines=[l.id for l in doc.lines], version=doc.version,
                       other_line=other.lines[0].id, dolo=dolo.id, syrup=syrup.id)
    login(client, "lotus@example.com")
    return ids


def _update(client, e, line, version, **fields):
    data = dict(product_id=str(e["dolo"]), description="", quantity="3", unit_price="32", discount="",
                tax_rate="12", batch_id="", version=str(version))
    data.update(fields)
    return client.post(f"/sales/documents/{e['doc']}/lines/{line}", headers=HX, data=data)


def test_line_update_returns_the_line_the_totals_and_the_version(app, client, editor):
    r = _update(client, editor, editor["lines"][0], editor["version"], quantity="3")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'id="line-{editor["lines"][0]}"' in body and f'id="line-{editor["lines"][1]}"' not in body
    assert 'id="doc-totals"' in body and 'hx-swap-oob="true"' in body
    assert f'id="doc-version" name="version" value="{editor["version"] + 1}"' in body
    # The batch line shows its batches (first to expire first), only when it is the line sent.
    r = _update(client, editor, editor["lines"][1], editor["version"] + 1, product_id=str(editor["syrup"]),
                quantity="2", unit_price="85")
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and body.index("B-OLD") < body.index("B-NEW")
    with app.app_context(), tenant(editor["org"]):
        doc = db.session.get(SalesDocument, editor["doc"])
        assert [l.quantity for l in doc.lines] == [D("3"), D("2")] and doc.version == editor["version"] + 2


def test_line_update_of_another_documents_line_or_product_is_not_found(app, client, editor):
    assert _update(client, editor, editor["other_line"], editor["version"]).status_code == 404
    assert client.post(f"/sales/documents/{editor['doc']}/lines/{editor['other_line']}/remove", headers=HX,
                       data={"version": editor["version"]}).status_code == 404
    assert _update(client, editor, editor["lines"][0], editor["version"], product_id="999999").status_code == 404
    assert _update(client, editor, "99999999999999999999", editor["version"]).status_code == 404


def test_choosing_another_product_fills_in_its_price(app, client, editor):
    r = _update(client, editor, editor["lines"][0], editor["version"], product_id=str(editor["syrup"]),
                unit_price="32", quantity="1")
    assert r.status_code == 200
    with app.app_context(), tenant(editor["org"]):
        line = db.session.get(SalesDocument, editor["doc"]).lines[0]
        assert (line.product_id, line.unit_price, line.description) == (editor["syrup"], D("85"), "Cough syrup")


def test_a_stale_line_update_changes_nothing(app, client, editor):
    r = _update(client, editor, editor["lines"][0], editor["version"] - 1, quantity="9")
    assert r.status_code == 409 and "Someone else changed this document" in r.get_data(as_text=True)
    with app.app_context(), tenant(editor["org"]):
        assert db.session.get(SalesDocument, editor["doc"]).lines[0].quantity == D("2")


# ---------------------------------------------------------------- posting

def test_posting_the_same_fifo_product_twice_and_batches_costs_as_by_hand(app, ctx):
    """Dolo FIFO layers 3 @ 10.00 then 10 @ 12.00; an invoice sells 2 and then 3 (two lines):
    2 × 10.00, then 1 × 10.00 + 2 × 12.00 = 34.00. Syrup (average, batches B1 expiring first
    with 2, B2 with 5): 4 sold, 2 from B1 and 2 from B2, at 4 × 7.00 = 28.00."""
    from webapp.inventory.models import StockMove
    from webapp.inventory.services import batch_for
    from webapp.ledger.queries import balance_of_role
    org_id, _ = create_org("Lotus Pharmacy", fiscal_year_start_month=4)
    on = date(2026, 6, 1)
    with tenant(org_id):
        dolo = product("Dolo", costing="fifo", sale_price="20.00", tax_rate="12")
        syrup = product("Syrup", costing="average", sale_price="15.00", tax_rate="12", batches=True)
        receive(dolo, 3, "10.00", on=on)
        receive(dolo, 10, "12.00", on=on)
        receive(syrup, 2, "7.00", on=on, batch=batch_for(syrup, "B1", date(2026, 9, 1)))
        receive(syrup, 5, "7.00", on=on, batch=batch_for(syrup, "B2", date(2027, 9, 1)))
        doc = invoice(customer("Metro"), (dolo, 2), (dolo, 3), (syrup, 4), on=on, post=True)
        db.session.commit()
        assert [l.cost for l in doc.lines] == [D("20.00"), D("34.00"), D("28.00")] and doc.cost_total == D("82.00")
        moves = db.session.execute(sa.select(StockMove.product_id, StockMove.batch_id, StockMove.quantity,
                                             StockMove.value_change)
                                   .where(StockMove.source_id == doc.id, StockMove.source_type == "invoice")
                                   .order_by(StockMove.id)).all()
        b1, b2 = (batch_for(syrup, n) for n in ("B1", "B2"))
        assert moves == [(dolo.id, None, D("2"), D("-20.00")), (dolo.id, None, D("3"), D("-34.00")),
                         (syrup.id, b1.id, D("2"), D("-14.00")), (syrup.id, b2.id, D("2"), D("-14.00"))]
        assert balance_of_role("inventory", on) == D("30.00") + D("120.00") + D("49.00") - D("82.00")


def test_an_entrys_lines_and_day_balances(app, ctx):
    """One executemany writes lines with and without memo and party; the day balances add up."""
    org_id, _ = create_org("Lotus Pharmacy", fiscal_year_start_month=4)
    on = date(2026, 6, 1)
    with tenant(org_id):
        dolo = product("Dolo", sale_price="32.05", tax_rate="12")
        receive(dolo, 10, "21.50", on=on)
        metro = customer("Metro")
        first = invoice(metro, (dolo, 1), on=on, post=True)
        second = invoice(metro, (dolo, 3), on=on, post=True)
        db.session.commit()
        entry = db.session.get(JournalEntry, second.entry_id)
        rows = [(l.line_no, l.account.role, l.debit, l.credit, l.memo, l.party_id) for l in entry.lines]
        n = second.number
        assert rows == [(1, "receivables", D("108.00"), D("0"), n, metro.id),
                        (2, "cogs", D("64.50"), D("0"), n, None), (3, "inventory", D("0"), D("64.50"), n, None),
                        (4, "sales", D("0"), D("96.15"), n, None),
                        (5, "output_cgst", D("0"), D("5.77"), f"{n} CGST", None),
                        (6, "output_sgst", D("0"), D("5.77"), f"{n} SGST", None),
                        (7, "rounding", D("0"), D("0.31"), None, None)]
        assert first.grand_total == D("36.00")
        sums = dict(db.session.execute(sa.select(JournalLine.account_id, sa.func.sum(JournalLine.debit)
                                                 - sa.func.sum(JournalLine.credit))
                                       .where(JournalLine.date == on).group_by(JournalLine.account_id)).all())
        days = dict(db.session.execute(sa.select(AccountDayBalance.account_id,
                                                 AccountDayBalance.debit - AccountDayBalance.credit)
                                       .where(AccountDayBalance.date == on)).all())
        assert sums == days


# ---------------------------------------------------------------- job workers

def test_worker_warm_up_loads_the_invoice_stylesheets(app):
    from webapp.core import jobs, pdf
    from webapp.sales.jobs import STYLESHEETS, _load_pdf_styles
    assert _load_pdf_styles in jobs.WORKER_WARM_UPS
    pdf.clear_cache()
    jobs.warm_up_worker()
    urls = tuple(pdf._stylesheet_url(s) for s in STYLESHEETS)
    assert any(tuple(u for u, *_ in key) == urls for key in pdf._cache)


def test_a_failed_warm_up_does_not_stop_the_worker(app, monkeypatch, caplog):
    from webapp.core import jobs
    called = []
    monkeypatch.setattr(jobs, "WORKER_WARM_UPS", [lambda: 1 / 0, lambda: called.append(True)])
    jobs.warm_up_worker()
    assert called == [True] and "Worker warm-up" in caplog.text


@pytest.mark.parametrize("args,expected", [([], "SimpleWorker"), (["--no-fork"], "SimpleWorker"),
                                           (["--fork"], "Worker")])
def test_flask_worker_warms_up_then_runs_a_simple_worker_by_default(app, monkeypatch, args, expected):
    import rq
    import webapp.cli
    from webapp.core import jobs
    events = []

    class Fake:
        def __init__(self, queues, connection=None):
            events.append(("class", type(self).__name__))

        def work(self, burst=False, with_scheduler=False):
            events.append(("work", burst))

    monkeypatch.setattr(rq, "SimpleWorker", type("SimpleWorker", (Fake,), {}))
    monkeypatch.setattr(rq, "Worker", type("Worker", (Fake,), {}))
    monkeypatch.setattr(jobs, "queue", lambda app=None: "q")
    monkeypatch.setattr(jobs, "redis_connection", lambda app=None: "conn")
    monkeypatch.setattr(jobs, "warm_up_worker", lambda: events.append(("warm", None)))
    monkeypatch.setattr(webapp.cli.gc, "freeze", lambda: events.append(("freeze", None)))
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    result = app.test_cli_runner().invoke(args=["worker", "--burst", *args])
    assert result.exit_code == 0, result.output
    assert events == [("warm", None), ("freeze", None), ("class", expected), ("work", True)]


def test_a_work_horse_never_uses_its_parents_connections(app, monkeypatch):
    from webapp.core import jobs
    disposed = []
    with app.app_context():
        monkeypatch.setattr(db.engine, "dispose", lambda close=True: disposed.append(close))
        monkeypatch.setattr(jobs, "_engine_pid", os.getpid())
        jobs._fresh_connections_after_fork()                 # the worker itself: its own pool
        assert disposed == []
        monkeypatch.setattr(jobs.os, "getpid", lambda: -5)   # a horse forked from it
        jobs._fresh_connections_after_fork()
        assert disposed == [False]                           # a new pool, the parent's sockets left alone
        jobs._fresh_connections_after_fork()                 # its next job: the horse's own pool
        assert disposed == [False]


@pytest.mark.skipif(not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("REDIS_URL")),
                    reason="needs PostgreSQL and Redis: a real forking `flask worker` process")
@pytest.mark.parametrize("fork", ["--fork", "--no-fork"])
def test_both_workers_make_the_pdf(app, client, monkeypatch, fork):
    from webapp.core import jobs
    from webapp.core.jobs import Job
    from webapp.sales.printing import enqueue_pdf
    with app.app_context():
        org_id, user_id = create_org("Lotus Pharmacy", email="lotus@example.com")
        with tenant(org_id):
            dolo = product("Dolo 650", sale_price="32")
            receive(dolo, 10, "21.50", on=TODAY)
            docs = [invoice(customer(f"Clinic {i}"), (dolo, 1), on=TODAY, post=True) for i in range(3)]
            doc_ids = [d.id for d in docs]
            db.session.commit()
    queue_name = f"smepulse-test-fork-{os.getpid()}"
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue_name)
    monkeypatch.setitem(app.config, "JOBS_SYNC", False)
    from webapp.core import audit
    with app.app_context(), tenant(org_id), audit.acting_as(user_id):
        ids = [enqueue_pdf(db.session.get(SalesDocument, i)).id for i in doc_ids]
        db.session.commit()
        jobs.dispatch_pending()
    env = dict(os.environ, APP_ENV="testing", SECRET_KEY=app.config["SECRET_KEY"],
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               RQ_QUEUE=queue_name)
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst", fork], env=env,
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with app.app_context(), tenant(org_id):
        done = db.session.scalars(sa.select(Job).options(sa.orm.undefer(Job.result)).where(Job.id.in_(ids))).all()
        assert len(done) == 3 and all(j.status == "done" and j.result.startswith(b"%PDF") for j in done), \
            [(j.status, j.error) for j in done]
