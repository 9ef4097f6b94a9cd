"""Payments benchmark: 100,000 open invoices in one organization.

Targets (the payments issue), on PostgreSQL, in-process: aged receivables
<= 50 ms; the allocation preview for a customer with 1,000 open invoices
<= 20 ms; recording a payment allocated to 10 invoices <= 15 ms.

The data set is generated with COPY (bench.generate_payments.receivables) and
then checked with SQL: the ledger balances, every invoice's amount paid is its
active allocations, every payment's allocated amount is its allocations, each
customer's receivables lines equal their open invoices less their credits, and
the aged report (today and 90 days ago) equals the receivables account, and the
aged sums kept for today and for 90 days ago equal adding up. A failed check
stops the benchmark; measuring inconsistent data proves nothing.
"""
from __future__ import annotations

import itertools
import random
import time
import uuid
import dataclasses
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from bench.common import LEDGER_CHECKS, SqlCount, bench_app, logged_in_client, report, sql_count, timed
from bench.generate import make_org
from bench.generate_payments import receivables

ORG = "Bench Payments"
EMAIL = "bench.payments@example.com"

#: name: SQL counting the rows that break the rule (each must give 0).
CHECKS = {
    **LEDGER_CHECKS,
    "journal entries balance": """
        SELECT count(*) FROM (SELECT entry_id FROM journal_line GROUP BY entry_id
                              HAVING sum(debit) <> sum(credit)) x""",
    "the trial balance is zero": """
        SELECT count(*) FROM (SELECT sum(debit) - sum(credit) AS d FROM journal_line) x WHERE d <> 0""",
    "each invoice's amount paid equals its active allocations": """
        WITH a AS (SELECT invoice_id, sum(amount) AS s FROM allocation
                   WHERE invoice_id IS NOT NULL AND unallocated_at IS NULL GROUP BY invoice_id)
        SELECT count(*) FROM sales_document d LEFT JOIN a ON a.invoice_id = d.id
        WHERE d.doc_type = 'invoice' AND d.amount_paid <> coalesce(a.s, 0)""",
    "each invoice's payment status follows its amount paid": """
        SELECT count(*) FROM sales_document WHERE doc_type = 'invoice' AND payment_status <>
            CASE WHEN amount_paid <= 0 THEN 'unpaid' WHEN amount_paid >= grand_total THEN 'paid'
                 ELSE 'partly_paid' END""",
    "each payment's allocated amount equals its active allocations": """
        WITH a AS (SELECT payment_id, sum(amount) AS s FROM allocation WHERE unallocated_at IS NULL
                   GROUP BY payment_id)
        SELECT count(*) FROM payment p LEFT JOIN a ON a.payment_id = p.id WHERE p.allocated_amount <> coalesce(a.s, 0)""",
    "each payment's refunded amount equals its refunds not cancelled": """
        WITH r AS (SELECT refund_of_id, sum(amount) AS s FROM payment WHERE refund_of_id IS NOT NULL
                   AND status = 'posted' GROUP BY refund_of_id)
        SELECT count(*) FROM payment p LEFT JOIN r ON r.refund_of_id = p.id WHERE p.refunded_amount <> coalesce(r.s, 0)""",
    "allocations settle the payer's own posted invoices, dated on or after both": """
        SELECT count(*) FROM allocation a JOIN payment p ON p.id = a.payment_id
        JOIN sales_document d ON d.id = a.invoice_id
        WHERE d.customer_id <> p.party_id OR d.status <> 'posted' OR d.doc_type <> 'invoice' OR p.direction <> 'in'
           OR a.date < p.date OR a.date < d.date OR p.status <> 'posted' OR p.refund_of_id IS NOT NULL""",
    "each posted invoice's entry debits receivables with its total, for its customer": """
        SELECT count(*) FROM sales_document d
        LEFT JOIN journal_line l ON l.entry_id = d.entry_id
             AND l.account_id = (SELECT id FROM account WHERE role = 'receivables')
        WHERE d.doc_type = 'invoice' AND d.status = 'posted'
          AND (l.id IS NULL OR l.debit <> d.grand_total OR l.party_id IS DISTINCT FROM d.customer_id)""",
    "each payment's entry moves receivables by its amount, for its party": """
        SELECT count(*) FROM payment p
        LEFT JOIN journal_line l ON l.entry_id = p.entry_id
             AND l.account_id = (SELECT id FROM account WHERE role = 'receivables')
        WHERE l.id IS NULL OR l.debit + l.credit <> p.amount OR l.party_id <> p.party_id""",
    "invoice totals equal their lines plus rounding": """
        WITH s AS (SELECT document_id, sum(taxable) AS t, sum(tax_amount) AS x, sum(total) AS g FROM sales_line
                   GROUP BY document_id)
        SELECT count(*) FROM sales_document d LEFT JOIN s ON s.document_id = d.id
        WHERE d.taxable_total <> coalesce(s.t, 0) OR d.tax_total <> coalesce(s.x, 0)
           OR d.grand_total <> coalesce(s.g, 0) + d.rounding""",
    "each customer's receivables lines equal their open invoices less their credits": """
        WITH l AS (SELECT party_id, sum(debit) - sum(credit) AS b FROM journal_line
                   WHERE account_id = (SELECT id FROM account WHERE role = 'receivables') GROUP BY party_id),
             o AS (SELECT customer_id AS party_id, sum(grand_total - amount_paid) AS s FROM sales_document
                   WHERE doc_type = 'invoice' AND status = 'posted' GROUP BY customer_id),
             c AS (SELECT party_id, sum(amount - allocated_amount - refunded_amount) AS s FROM payment
                   WHERE direction = 'in' AND status = 'posted' AND refund_of_id IS NULL GROUP BY party_id)
        SELECT count(*) FROM l FULL JOIN o USING (party_id) FULL JOIN c USING (party_id)
        WHERE party_id IS NULL OR coalesce(l.b, 0) <> coalesce(o.s, 0) - coalesce(c.s, 0)""",
}


def check(on) -> dict:
    """Run the consistency checks in the current tenant; SystemExit on the first failure."""
    from webapp.extensions import db
    from webapp.ledger.queries import balance_of_role
    from webapp.payments import aging, queries
    failures = []
    for name, sql in CHECKS.items():
        bad = db.session.execute(sa.text(sql)).scalar()
        if bad:
            failures.append(f"{name}: {bad} rows")
    open_amount, n_open = db.session.execute(sa.text(
        "SELECT coalesce(sum(grand_total - amount_paid), 0), count(*) FROM sales_document "
        "WHERE doc_type = 'invoice' AND status = 'posted' AND payment_status <> 'paid'")).one()
    credits = db.session.execute(sa.text(
        "SELECT coalesce(sum(amount - allocated_amount - refunded_amount), 0) FROM payment "
        "WHERE direction = 'in' AND status = 'posted' AND refund_of_id IS NULL")).scalar()
    control = balance_of_role("receivables", on)
    aged = queries.aged("customer", on).totals.total
    if not (Decimal(open_amount) - Decimal(credits) == control == aged):
        failures.append(f"receivables differ: open invoices {open_amount} less credits {credits}, receivables "
                        f"account {control}, aged report {aged}")
    # Today's sums kept per customer (brought to today here if need be) equal adding up the invoices.
    aging.ready("customer", on)
    kept, added = queries.aged("customer", on, kept=True), queries.aged("customer", on)
    if [dataclasses.astuple(r) for r in kept.rows] != [dataclasses.astuple(r) for r in added.rows] or \
            kept.totals.total != added.totals.total:
        failures.append("today's aged sums kept per customer differ from adding up the open invoices")
    past = on - timedelta(days=90)
    control_past, aged_past = balance_of_role("receivables", past), queries.aged("customer", past).totals.total
    if control_past != aged_past:
        failures.append(f"90 days ago the receivables account is {control_past} and the aged report {aged_past}")
    # The snapshot of 90 days ago (built here if need be, as the first report of that day does),
    # kept by the triggers since, equals adding up the invoices and allocations of then.
    aging.ready("customer", past)
    kept, added = queries.aged("customer", past, kept=True), queries.aged("customer", past)
    if [dataclasses.astuple(r) for r in kept.rows] != [dataclasses.astuple(r) for r in added.rows] or \
            kept.totals.total != added.totals.total:
        failures.append("the aged sums kept for 90 days ago differ from adding up the invoices and allocations")
    if failures:
        raise SystemExit("The payments data is inconsistent:\n  " + "\n  ".join(failures))
    return {"receivables": control, "open": n_open, "credits": Decimal(credits)}


class _Rows(list):
    """Measurements, printed as they come (with the SQL statements one call makes)."""

    def append(self, row):
        print(f"  {row[0]}: p50 {row[1]['p50_ms']} ms, p99 {row[1]['p99_ms']} ms", flush=True)
        super().append(row)


def _aged_statement_direct(kind, day):
    """Page 1 of the aged report of a past day adding up every document and allocation of then (as
    before migration 0013; SQLite still does)."""
    from webapp.payments import queries
    return queries._aged_statement(queries.sums_added_up(kind, day, direct=True)).limit(100)


def _statements(engine, fn, arg=None) -> SqlCount:
    with sql_count(engine) as seen:
        fn() if arg is None else fn(arg)
    return seen


def run(open_invoices: int = 100_000, fresh: bool = True) -> str:
    app = bench_app(fresh)
    org_id, user_id = make_org(app, ORG)
    if fresh:
        t0 = time.perf_counter()
        made = receivables(app, org_id, user_id, customers=max(100, open_invoices // 20), open_invoices=open_invoices,
                           paid_invoices=open_invoices // 2, big=min(1_000, open_invoices // 10))
        print(f"generated {made['customers']:,} customers, {made['invoices']:,} invoices ({made['open']:,} open, "
              f"{made['lines']:,} lines), {made['payments']:,} payments, {made['allocations']:,} allocations, "
              f"{made['entries']:,} journal entries with {made['journal_lines']:,} lines ({made['start']} to "
              f"{made['end']}) in {time.perf_counter() - t0:.0f} s")
    from webapp.core import audit
    from webapp.core.clock import today
    from webapp.core.tenancy import tenant
    from webapp.extensions import db
    from webapp.ledger.services import account_for
    from webapp.orgs.queries import current_organization
    from webapp.parties.models import Party
    from webapp.payments import aging, queries, services
    on = today()
    past = on - timedelta(days=90)
    rows = _Rows()
    with app.app_context(), tenant(org_id), audit.acting_as(user_id):
        engine = db.engine
        t0 = time.perf_counter()
        state = check(on)
        print(f"consistent: receivables {state['receivables']:,} = {state['open']:,} open invoices less "
              f"{state['credits']:,} of credits = aged report, today and 90 days ago "
              f"({time.perf_counter() - t0:.1f} s to check)")
        # The customer with 1,000 open invoices, and customers with at least 10 to pay in the runs below.
        whale_id, whale_open = db.session.execute(sa.text(
            "SELECT customer_id, count(*) FROM sales_document WHERE doc_type = 'invoice' AND status = 'posted' "
            "AND payment_status <> 'paid' GROUP BY customer_id ORDER BY count(*) DESC, customer_id LIMIT 1")).one()
        big = min(1_000, open_invoices // 10)
        assert whale_open == big, f"the largest customer has {whale_open} open invoices, not {big}"
        payers = list(db.session.scalars(sa.text(
            "SELECT customer_id FROM sales_document WHERE doc_type = 'invoice' AND status = 'posted' "
            "AND payment_status <> 'paid' AND customer_id <> :w GROUP BY customer_id HAVING count(*) >= 12 "
            "ORDER BY customer_id"), {"w": whale_id}))
        db.session.rollback()

        # The generated state must be usable by the real services: record a payment through
        # services.record_payment, allocated to three of a customer's invoices, commit, check again.
        party = db.session.get(Party, payers[-1])
        items = queries.open_items(party, "in")[:3]
        docs = queries.documents_by_id("in", [i.id for i in items])
        amount = sum((i.outstanding for i in items), Decimal(0)) + Decimal("500.00")
        p = services.record_payment(direction="in", party=party, amount=amount, account=account_for("bank"),
                                    method="upi", on=on, reference="UPI proof", idempotency_key=uuid.uuid4().hex,
                                    allocations=[(docs[i.id], i.outstanding) for i in items])
        db.session.commit()
        assert p.allocated_amount == amount - Decimal("500.00") and p.unallocated == Decimal("500.00")
        state = check(on)
        print(f"recorded {p.number} through the service (3 invoices, ₹500 on account): still consistent")
        db.session.rollback()

        whale = db.session.get(Party, whale_id)
        # What the report page reads: its first 100 customers (most overdue first) with the totals and
        # count of all; and the whole report, as the CSV/XLSX downloads (jobs) read it.
        # Today's report reads the sums kept per customer (payments/aging.py); other days add up the
        # invoices, as today's did before (measured too, for comparison).
        assert aging.ready("customer", on)
        rows.append(("aged receivables today, page 1 of 100 customers + totals of all (query, kept sums)",
                     timed(lambda: queries.aged("customer", on, page=1, kept=True)), "≤ 50 ms"))
        rows.append(("aged receivables today, page 20 (query, kept sums)",
                     timed(lambda: queries.aged("customer", on, page=20, kept=True)), "≤ 50 ms"))
        rows.append(("aged receivables today, every customer (query, kept sums; the downloads)",
                     timed(lambda: queries.aged("customer", on, kept=True)), "—"))
        rows.append(("aged receivables today, page 1, adding up the 100,000 open invoices (query)",
                     timed(lambda: queries.aged("customer", on, page=1)), "—"))
        # A past day reads its snapshot (built by the first report of that day, kept by triggers).
        assert aging.ready("customer", past)
        rows.append(("aged receivables 90 days ago, page 1 (query, kept snapshot)",
                     timed(lambda: queries.aged("customer", past, page=1, kept=True)), "≤ 50 ms"))
        rows.append(("aged receivables 90 days ago, every customer (query, kept snapshot; the downloads)",
                     timed(lambda: queries.aged("customer", past, kept=True)), "—"))
        rows.append(("aged receivables 90 days ago, page 1, adding up: what is open now + what changed since (query)",
                     timed(lambda: queries.aged("customer", past, page=1), runs=10), "—"))
        direct = _aged_statement_direct("customer", past)
        rows.append(("aged receivables 90 days ago, page 1, adding up every invoice and allocation of then (query)",
                     timed(lambda: queries._aged_rows(direct), runs=10), "—"))
        yesterday = on - timedelta(days=1)
        rows.append(("aged receivables yesterday, page 1, adding up: what is open now + what changed since (query)",
                     timed(lambda: queries.aged("customer", yesterday, page=1), runs=10), "—"))
        direct_yesterday = _aged_statement_direct("customer", yesterday)
        rows.append(("aged receivables yesterday, page 1, adding up every invoice and allocation of then (query)",
                     timed(lambda: queries._aged_rows(direct_yesterday), runs=10), "—"))

        def rebuild():
            aging.refresh("customer", on, force=True)
            db.session.rollback()
        rows.append(("rebuild of today's kept sums (the first report of a day, or the morning job)",
                     timed(rebuild, runs=10, warmup=2), "—"))

        def build():
            aging.snapshot("customer", past, force=True)
            db.session.rollback()
        rows.append(("snapshot of a past day (its first report)", timed(build, runs=10, warmup=2), "—"))
        # The builds rolled back leave dead rows behind, which autovacuum would clear before long.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE aged_snapshot")
        items = queries.open_items(whale, "in")
        fifo_amount = Decimal("500000.00")
        rows.append((f"open_items + plan (FIFO), {len(items):,} open invoices",
                     timed(lambda: services.plan(fifo_amount, queries.open_items(whale, "in"), "fifo", {},
                                                 code="INR")), "—"))
        rows.append(("plan alone (FIFO)", timed(lambda: services.plan(fifo_amount, items, "fifo", {}, code="INR")),
                     "—"))
        db.session.rollback()

        # Recording a payment allocated to 10 invoices: the service and the commit. As in a request, the
        # organization, party, account and the 10 invoices are loaded before (the view does that); a new
        # customer each time, its 10 oldest open invoices paid in full, with a one-time key.
        org = current_organization()
        bank = account_for("bank")
        queue = iter(payers[:-1])
        db.session.commit()

        def prepare():
            org.lock_date  # noqa: B018  (reloaded after the last commit, as at the start of a request)
            bank.org_id  # noqa: B018
            party = db.session.get(Party, next(queue))
            items = queries.open_items(party, "in")[:10]
            docs = queries.documents_by_id("in", [i.id for i in items])
            return party, sum((i.outstanding for i in items), Decimal(0)), [(docs[i.id], i.outstanding) for i in items]

        def record(prepared):
            party, amount, parts = prepared
            services.record_payment(direction="in", party=party, amount=amount, account=bank, method="bank_transfer",
                                    on=on, reference="NEFT 55120", idempotency_key=uuid.uuid4().hex,
                                    allocations=parts)
            db.session.commit()

        n_sql = _statements(engine, record, prepare())
        rows.append((f"record_payment, 10 allocations + commit ({n_sql})", timed(record, setup=prepare),
                     "≤ 15 ms"))

        # The same dated before the snapshot of 90 days ago: the triggers bring it up to date.
        def record_back_dated(prepared):
            party, amount, parts = prepared
            services.record_payment(direction="in", party=party, amount=amount, account=bank, method="bank_transfer",
                                    on=past - timedelta(days=10), reference="NEFT 55121",
                                    idempotency_key=uuid.uuid4().hex, allocations=parts)
            db.session.commit()
        rows.append(("record_payment, 10 allocations + commit, dated before a kept snapshot",
                     timed(record_back_dated, setup=prepare, runs=20), "—"))
        n_sql = _statements(engine, lambda: queries.aged("customer", on, kept=True))
        print(f"  (aged today: {n_sql})")
        db.session.rollback()
        check(on)     # what the real services added keeps everything consistent
        db.session.rollback()
        bank_id = bank.id
        small_payers = payers[len(payers) // 2:]

    client = logged_in_client(app, EMAIL)
    token = client.csrf_token()
    hx = {"X-CSRFToken": token, "HX-Request": "true"}

    def get(url, **query):
        def call():
            r = client.get(url, query_string=query)
            assert r.status_code == 200, f"{url} gave {r.status_code}"
            return r
        return call

    def preview(data, trigger, expect_rows):
        def call():
            r = client.post("/payments/new/in/preview", data=data, headers=dict(hx, **{"HX-Trigger": trigger}))
            assert r.status_code == 200, f"preview gave {r.status_code}"
            return r
        body = call().get_data(as_text=True)
        shown = body.count('class="num-input alloc-input"')
        assert "<html" not in body and shown == expect_rows, f"preview shows {shown} rows, expected {expect_rows}"
        return call

    form = {"party_id": str(whale_id), "amount": "5,00,000.00", "date": on.isoformat(), "account_id": str(bank_id),
            "method": "bank_transfer", "reference": "", "policy": "fifo", "typed": "", "key": uuid.uuid4().hex}
    with app.app_context(), tenant(org_id):
        whale = db.session.get(Party, whale_id)
        plan = services.plan(fifo_amount, queries.open_items(whale, "in"), "fifo", {}, code="INR")
        getting = sum(1 for r in plan.rows if r.amount)
        middle = plan.rows[len(plan.rows) // 2].item
        db.session.rollback()
    manual = dict(form, policy="manual", **{f"alloc-{middle.id}": f"{middle.outstanding}"})
    rows.append(("GET /payments/aged/customer (whole page)", timed(get("/payments/aged/customer")), "≤ 50 ms"))
    rows.append(("GET /payments/aged/customer?as_of=90 days ago (whole page)",
                 timed(get("/payments/aged/customer", as_of=past.isoformat())), "≤ 50 ms"))
    rows.append((f"POST preview, {whale_open:,} open invoices, FIFO ₹5,00,000 ({getting} get an amount)",
                 timed(preview(form, "amount", max(100, getting))), "≤ 20 ms"))
    rows.append((f"POST preview, {whale_open:,} open invoices, manual, one typed amount",
                 timed(preview(manual, f"alloc-{middle.id}", 100)), "≤ 20 ms"))

    # The whole form post, 303 to the payment: a customer's 10 oldest invoices paid in full; for the
    # customer with 1,000 open invoices, ₹1 on each of 10 of them (so that they stay open, and the
    # customer keeps its 1,000 open invoices for the next run).
    def form_post(whose, token_amounts=False):
        queue = itertools.cycle(whose)
        pick = random.Random(5)

        def prepare():
            party_id = next(queue)
            with app.app_context(), tenant(org_id):
                items = queries.open_items(db.session.get(Party, party_id), "in")
                db.session.rollback()
            if token_amounts:
                items = pick.sample([i for i in items if i.outstanding > 1], 10)
                amounts = {i.id: Decimal("1.00") for i in items}
            else:
                amounts = {i.id: i.outstanding for i in items[:10]}
            return dict(form, party_id=str(party_id), policy="manual", key=uuid.uuid4().hex,
                        amount=str(sum(amounts.values(), Decimal(0))),
                        **{f"alloc-{i}": str(a) for i, a in amounts.items()})

        def post(data):
            r = client.post("/payments/new/in", data=data, headers={"X-CSRFToken": token})
            assert r.status_code == 303, f"POST /payments/new/in gave {r.status_code}"
        return post, prepare

    post, prep = form_post(small_payers)
    rows.append(("POST /payments/new/in, 10 allocations (whole request)", timed(post, setup=prep), "—"))
    post, prep = form_post([whale_id], token_amounts=True)
    rows.append((f"POST /payments/new/in, 10 allocations, customer with {whale_open:,} open (whole request)",
                 timed(post, setup=prep, runs=20), "—"))
    with app.app_context(), tenant(org_id):
        check(on)
        n_open = db.session.scalar(sa.text("SELECT count(*) FROM sales_document WHERE doc_type = 'invoice' "
                                           "AND status = 'posted' AND payment_status <> 'paid'"))
    return report(f"Payments: {n_open:,} open invoices in one organization", rows)
