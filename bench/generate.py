"""Realistic volumes for benchmarks, written with COPY (and kept consistent:
the day balances are derived from the generated lines exactly as the posting
service would have kept them)."""
from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import date, timedelta

import sqlalchemy as sa

from bench.common import raw_connection


@contextmanager
def bulk_load(conn, *tables):
    """COPY is refused under row-level security; the table owner lifts FORCE
    for the load (inside the same transaction) and puts it back."""
    cur = conn.cursor()
    for t in tables:
        cur.execute(f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")
    yield
    for t in tables:
        cur.execute(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY")


def make_org(app, name="Bench Traders", **details):
    """The benchmark organization: created, or found again when the data is reused."""
    from tests.factories import create_org
    from webapp.auth.services import user_by_email
    from webapp.orgs.models import Membership
    from webapp.extensions import db
    email = f"{name.lower().replace(' ', '.')}@example.com"
    with app.app_context():
        user = user_by_email(email)
        if user is not None:
            m = db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).first()
            return m.org_id, user.id
        return create_org(name, email=email, fiscal_year_start_month=4, **details)


def journal_lines(app, org_id: int, n_lines: int, *, start=date(2025, 4, 1), days=730, seed=7) -> None:
    """About `n_lines` journal lines in entries of 2–6 lines over `days` days."""
    from webapp.extensions import db
    from webapp.core.tenancy import tenant
    from webapp.ledger.models import Account
    with app.app_context(), tenant(org_id):
        accounts = {a.role or a.code: a.id for a in db.session.scalars(
            sa.select(Account).where(Account.is_group.is_(False)))}
    busy = [accounts[k] for k in ("receivables", "sales", "output_cgst", "output_sgst", "cash", "bank",
                                  "inventory", "cogs", "payables", "input_cgst", "input_sgst")]
    quiet = [v for v in accounts.values() if v not in busy]
    def generated(first_entry: int, first_line: int):
        """The same entries and lines on every pass (same seed): one COPY at a time."""
        r = random.Random(seed)
        entry_id, line_id, made = first_entry, first_line, 0
        while made < n_lines:
            entry_id += 1
            d = start + timedelta(days=r.randrange(days))
            k = r.choice((2, 2, 3, 4, 4, 6))
            debits = [round(r.uniform(1, 50000), 2) for _ in range(k - 1)]
            total = round(sum(debits), 2)
            pool = busy if r.random() < 0.85 else quiet
            lines = []
            for i, amount in enumerate(debits + [None], 1):
                line_id += 1
                acc = r.choice(pool)
                debit, credit = (f"{amount:.2f}", "0") if amount is not None else ("0", f"{total:.2f}")
                lines.append((line_id, org_id, entry_id, i, acc, d, debit, credit))
            made += k
            yield (entry_id, org_id, f"BENCH-{entry_id:08d}", d, "generated", "bench", f"{d} 12:00:00+00"), lines

    with raw_connection(app, org_id) as conn, bulk_load(conn, "journal_entry", "journal_line"):
        cur = conn.cursor()
        cur.execute("SELECT coalesce(max(id), 0) FROM journal_entry")
        first_entry = cur.fetchone()[0]
        cur.execute("SELECT coalesce(max(id), 0) FROM journal_line")
        first_line = cur.fetchone()[0]
        with cur.copy("COPY journal_entry (id, org_id, number, date, memo, source_type, posted_at) FROM STDIN") as copy:
            for entry, _ in generated(first_entry, first_line):
                copy.write_row(entry)
        with cur.copy("COPY journal_line (id, org_id, entry_id, line_no, account_id, date, debit, credit) "
                      "FROM STDIN") as copy:
            for _, lines in generated(first_entry, first_line):
                for line in lines:
                    copy.write_row(line)
        cur.execute("""INSERT INTO account_day_balance (org_id, account_id, date, debit, credit)
                       SELECT org_id, account_id, date, sum(debit), sum(credit) FROM journal_line
                       WHERE org_id = %s AND entry_id IN (SELECT id FROM journal_entry WHERE source_type = 'bench')
                       GROUP BY org_id, account_id, date
                       ON CONFLICT (org_id, account_id, date) DO UPDATE
                       SET debit = account_day_balance.debit + excluded.debit,
                           credit = account_day_balance.credit + excluded.credit""", (org_id,))
        for table in ("journal_entry", "journal_line", "account_day_balance"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cur.execute("ANALYZE journal_entry; ANALYZE journal_line; ANALYZE account_day_balance")
