"""Today's aged balances kept per party (payments/aging.py): on PostgreSQL the triggers keep them equal
to adding up the documents after every kind of change, a new day rebuilds them, and a rebuild racing
with postings loses none of them. On SQLite nothing is kept and the report adds up the documents."""
import threading
from datetime import timedelta
from decimal import Decimal as D

import sqlalchemy as sa

from tests.conftest import is_postgres, needs_postgres
from tests.factories import create_org, login
from tests.payments.helpers import bank, bill, customer, pay, receive, sale, supplier, today_date
from webapp.core.tenancy import tenant
from webapp.extensions import db
from webapp.ledger.queries import balance_of_role
from webapp.parties.models import Party
from webapp.payments import aging, queries, services
from webapp.payments.models import AgedDay, AgedPartySum
from webapp.sales import services as sales
from webapp.sales.models import SalesDocument


def _thread(app, org_id, errors: list, fn, *args, finally_set: threading.Event | None = None) -> threading.Thread:
    """A thread running fn(*args) in its own session of the organization; an exception goes into
    `errors` (the test asserts it is empty); `finally_set` is set however it ends."""
    def run():
        try:
            with app.app_context(), tenant(org_id):
                fn(*args)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001  (reported through `errors`)
            errors.append(repr(exc))
        finally:
            if finally_set is not None:
                finally_set.set()
    return threading.Thread(target=run)


def _rows(report):
    return [(r.party_id, r.current, r.d1_30, r.d31_60, r.d61_90, r.over_90, r.credit) for r in report.rows]


def same_as_added_up(kind: str, day=None) -> queries.Aged:
    """The report from the kept sums equals the report that adds up the documents: every party's
    buckets, the totals, the count; and the total equals the control account."""
    day = day or today_date()
    # Of that day already: comparing must not rebuild them (that would hide what the triggers did).
    assert db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == kind)) == day
    kept, added = queries.aged(kind, day, kept=True), queries.aged(kind, day)
    assert _rows(kept) == _rows(added)
    assert (kept.totals.total, kept.count) == (added.totals.total, added.count)
    role, sign = ("receivables", 1) if kind == "customer" else ("payables", -1)
    assert kept.totals.total == sign * balance_of_role(role, day)
    return kept


@needs_postgres
def test_every_change_of_a_document_reaches_the_kept_sums(app):
    day = today_date()
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            a, b = customer(name="Anand Stores"), customer(name="Bharat Medicals")
            s = supplier()
            # Built the first time a report needs them: nothing kept before.
            assert db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == "customer")) is None
            old = sale(a, 1000, day - timedelta(days=120), due=day - timedelta(days=95))    # over 90
            assert aging.ready("customer", day)
            assert db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == "customer")) == day
            report = same_as_added_up("customer")
            assert [(r.name, r.over_90, r.total) for r in report.rows] == [("Anand Stores", D(1000), D(1000))]

            # Posted from now on: each kind of change, checked against the documents every time.
            inv_31 = sale(a, 500, day - timedelta(days=40), due=day - timedelta(days=31))   # 31-60
            inv_due = sale(b, 300, day - timedelta(days=5), due=day)                        # not yet due (due today)
            inv_1 = sale(b, 250, day - timedelta(days=10), due=day - timedelta(days=1))     # 1-30
            report = same_as_added_up("customer")
            assert {r.name: (r.current, r.d1_30, r.d31_60, r.over_90) for r in report.rows} == {
                "Anand Stores": (0, 0, D(500), D(1000)), "Bharat Medicals": (D(300), D(250), 0, 0)}
            p = receive(a, 700, day, [(old, 600)])                                          # part paid, 100 credit
            report = same_as_added_up("customer")
            assert [(r.name, r.over_90, r.credit, r.total) for r in report.rows][0] == \
                ("Anand Stores", D(400), D(-100), D(800))
            services.allocate_many(p, [(inv_31, D(100))], on=day)                           # the credit used
            same_as_added_up("customer")
            receive(b, 300, day, [(inv_due, 300)])                                          # paid in full
            same_as_added_up("customer")
            (alloc,) = [x for x in p.allocations if x.invoice_id == old.id]
            services.unallocate(alloc, on=day)                                              # undone
            same_as_added_up("customer")
            sales.cancel_invoice(inv_1, reason="wrong customer", on=day)                    # cancelled
            report = same_as_added_up("customer")
            assert "Bharat Medicals" not in [r.name for r in report.rows]
            future = sale(b, 900, day + timedelta(days=3))                                  # dated after today
            report = same_as_added_up("customer")
            assert "Bharat Medicals" not in [r.name for r in report.rows]
            # A document's row changed with plain SQL is counted too (triggers, not the ORM).
            db.session.execute(sa.update(SalesDocument).where(SalesDocument.id == inv_31.id)
                               .values(due_date=day + timedelta(days=10)))
            report = same_as_added_up("customer")
            assert report.rows[0].current == D(400)

            # Bills and supplier payments: the payables side.
            b1 = bill(s, 2000, day - timedelta(days=70), due=day - timedelta(days=65))
            assert aging.ready("supplier", day)
            b2 = bill(s, 800, day - timedelta(days=3), due=day + timedelta(days=27))
            same_as_added_up("supplier")
            pay(s, 1000, day, [(b1, 1000)])
            report = same_as_added_up("supplier")
            assert [(r.d61_90, r.current, r.total) for r in report.rows] == [(D(1000), D(800), D(1800))]
            services.cancel_payment(pay(s, 50, day), reason="duplicate", on=day)
            same_as_added_up("supplier")
            assert b2.id and future.id
            db.session.rollback()


@needs_postgres
def test_a_new_day_rebuilds_the_sums_and_documents_move_between_buckets(app):
    day = today_date()
    yesterday = day - timedelta(days=1)
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer(name="Chandra Agencies")
            inv = sale(c, 400, day - timedelta(days=40), due=day - timedelta(days=30))   # 1-30 yesterday: 29 days
            late = sale(c, 100, day, due=day)                                           # dated today
            assert aging.refresh("customer", yesterday)
            # Kept for yesterday: a document dated today is not in them, the other is 29 days past due.
            kept = {r.party_id: r for r in db.session.scalars(sa.select(AgedPartySum))}
            assert (kept[c.id].d1_30, kept[c.id].current) == (D(400), 0)
            # A payment made while the sums are of yesterday is counted at yesterday's age.
            receive(c, 50, day, [(inv, 50)])
            db.session.expire_all()
            assert db.session.get(AgedPartySum, (org_id, "customer", c.id)).d1_30 == D(350)
            assert aging.refresh("customer", yesterday) is False        # already of that day
            # Today's report brings them to today: 30 days past due is still 1-30; today's invoice counts.
            # Until then, a report of today reading them gets nothing of yesterday: it adds up the documents.
            assert _rows(queries.aged("customer", day, kept=True)) == _rows(queries.aged("customer", day))
            assert aging.ready("customer", day)
            report = same_as_added_up("customer")
            assert [(r.d1_30, r.current, r.total) for r in report.rows] == [(D(350), D(100), D(450))]
            # And the day after, the invoice is 31 days past due.
            tomorrow = day + timedelta(days=1)
            assert aging.refresh("customer", tomorrow)
            kept = db.session.get(AgedPartySum, (org_id, "customer", c.id))
            db.session.refresh(kept)
            assert (kept.d31_60, kept.d1_30, kept.current) == (D(350), D(100), 0)
            assert late.id
            db.session.rollback()


@needs_postgres
def test_the_page_reads_the_kept_sums_and_the_first_report_of_a_day_commits_them(app, client):
    day = today_date()
    with app.app_context():
        org_id, _ = create_org(email="aged.owner@example.com")
        with tenant(org_id):
            c = customer(name="Devi Textiles")
            sale(c, 1234, day - timedelta(days=50), due=day - timedelta(days=45))
            db.session.commit()
    login(client, "aged.owner@example.com")
    body = client.get("/payments/aged/customer").get_data(as_text=True)
    assert "Devi Textiles" in body and "1,234.00" in body
    with app.app_context(), tenant(org_id):
        # The GET rolled back its own transaction, but the day's sums were committed first.
        assert db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == "customer")) == day
        assert db.session.scalar(sa.select(AgedPartySum.d31_60)) == D(1234)


@needs_postgres
def test_a_rebuild_racing_with_payments_loses_none_of_them(app):
    """Ten threads record payments on their own invoices while another rebuilds the sums over and
    over, for yesterday and today in turn (some invoices are 90 days past due yesterday and 91
    today, so a payment counted at the wrong day's age would show): at the end the kept sums equal
    the documents at the day they are of."""
    yesterday = today_date() - timedelta(days=1)
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            parties = [customer(name=f"Race {n}") for n in range(10)]
            invoices = {p.id: [sale(p, 100, yesterday - timedelta(days=k * 7), due=yesterday - timedelta(days=k * 7)).id
                               for k in range(15)] for p in parties}
            aging.refresh("customer", yesterday)
            db.session.commit()
    errors, stop, made = [], threading.Event(), []

    def payer(party_id, invoice_ids):
        for n, doc_id in enumerate(invoice_ids):
            services.record_payment(direction="in", party=db.session.get(Party, party_id), amount=D(40),
                                    account=bank(), method="upi", on=yesterday,
                                    allocations=[(db.session.get(SalesDocument, doc_id), D(40 - n))])
            db.session.commit()
            made.append(doc_id)
            if len(made) >= 75:      # half of them: the rebuilds stop, the payments go on
                stop.set()

    def rebuilder():
        for n in range(10**6):
            if stop.is_set():
                break
            aging.refresh("customer", yesterday + timedelta(days=n % 2))
            db.session.commit()

    threads = [_thread(app, org_id, errors, payer, p, ids) for p, ids in invoices.items()]
    rebuild = _thread(app, org_id, errors, rebuilder)
    rebuild.start()
    [t.start() for t in threads]
    [t.join() for t in threads]
    stop.set()           # (already, unless a payer failed)
    rebuild.join()
    assert errors == [] and len(made) == 150
    with app.app_context(), tenant(org_id):
        day = db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == "customer"))
        kept, added = queries.aged("customer", day, kept=True), queries.aged("customer", day)
        assert _rows(kept) == _rows(added) and kept.count == 10
        assert kept.totals.total == balance_of_role("receivables", day)


@needs_postgres
def test_a_payment_made_while_the_day_changes_is_counted_at_the_new_day(app):
    """The rebuild for today has added up the documents but not committed; a payment comes: its
    trigger waits for the rebuild (the day's row is locked) and counts the payment at today's age,
    not at yesterday's (the invoice is 90 days past due yesterday, 91 today)."""
    today = today_date()
    yesterday = today - timedelta(days=1)
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer(name="Eshwar Pharma")
            inv = sale(c, 100, yesterday - timedelta(days=100), due=yesterday - timedelta(days=90))
            aging.refresh("customer", yesterday)
            db.session.commit()
            party_id, invoice_id = c.id, inv.id
    rebuilt, go, errors = threading.Event(), threading.Event(), []

    def rebuild():
        aging.refresh("customer", today)
        rebuilt.set()
        go.wait(10)
        db.session.commit()

    def payment():
        services.record_payment(direction="in", party=db.session.get(Party, party_id), amount=D(40),
                                account=bank(), method="cash", on=yesterday,
                                allocations=[(db.session.get(SalesDocument, invoice_id), D(40))])
        db.session.commit()

    r = _thread(app, org_id, errors, rebuild, finally_set=rebuilt)
    r.start()
    assert rebuilt.wait(10)
    p = _thread(app, org_id, errors, payment)
    p.start()
    p.join(1.5)          # it waits for the rebuild (without the lock it would wait on the party's row)
    assert p.is_alive()
    go.set()
    r.join()
    p.join()
    assert errors == []
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == "customer")) == today
        report = same_as_added_up("customer")
        assert [(r.d61_90, r.over_90) for r in report.rows] == [(0, D(60))]


@needs_postgres
def test_the_first_report_of_a_day_does_not_wait_long_for_postings_in_flight(app, monkeypatch):
    """A posting holds the day (its trigger's lock) and does not finish: the report gives up
    waiting after aging.WAIT, adds up the documents, and writes nothing."""
    today = today_date()
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer(name="Farooq Traders")
            sale(c, 500, today - timedelta(days=3))
            aging.refresh("customer", today - timedelta(days=1))
            db.session.commit()
            customer_id = c.id
    holding, done, errors = threading.Event(), threading.Event(), []

    def slow_posting():
        sale(db.session.get(Party, customer_id), 70, today)
        holding.set()
        done.wait(10)
        db.session.commit()

    t = _thread(app, org_id, errors, slow_posting, finally_set=holding)
    t.start()
    assert holding.wait(10)
    monkeypatch.setattr(aging, "WAIT", "200ms")
    try:
        with app.app_context(), tenant(org_id):
            assert aging.ready("customer", today) is False
            report = queries.aged("customer", today, kept=False)
            assert report.totals.total == D(500)       # the posting in flight is not committed
            db.session.rollback()
    finally:
        done.set()
        t.join()
    assert errors == []
    with app.app_context(), tenant(org_id):
        assert db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == "customer")) == \
            today - timedelta(days=1)
        assert aging.ready("customer", today)
        assert same_as_added_up("customer").totals.total == D(570)


@needs_postgres
def test_the_morning_job_brings_both_kinds_to_the_day_and_commits(app):
    from tests.conftest import drain_jobs
    from webapp.payments.jobs import enqueue_overdue_check
    today = today_date()
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            sale(customer(), 100, today - timedelta(days=40))
            bill(supplier(), 60, today - timedelta(days=10))
            enqueue_overdue_check(today)
            db.session.commit()
            from webapp.core import jobs
            jobs.dispatch_pending()
    drain_jobs(app)
    with app.app_context(), tenant(org_id):
        days = dict(db.session.execute(sa.select(AgedDay.kind, AgedDay.as_of)).all())
        assert days == {"customer": today, "supplier": today}
        same_as_added_up("customer")
        same_as_added_up("supplier")


def test_on_sqlite_nothing_is_kept_and_the_report_adds_up_the_documents(app):
    if is_postgres():
        return
    day = today_date()
    with app.app_context():
        org_id, _ = create_org()
        with tenant(org_id):
            c = customer()
            sale(c, 10, day)
            assert aging.ready("customer", day) is False
            assert aging.refresh("customer", day) is False
            assert db.session.scalar(sa.select(sa.func.count()).select_from(AgedPartySum)) == 0
            assert queries.aged("customer", day).totals.total == D(10)
            db.session.rollback()
