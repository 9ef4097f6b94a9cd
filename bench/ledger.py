"""Ledger benchmark: 1,000,000 journal lines in one organization.

Targets (issue 3): trial balance, P&L and balance sheet for a year < 200 ms
in-process; the general ledger page for one account < 20 ms.
"""
from __future__ import annotations

import time
from datetime import date

import sqlalchemy as sa

from bench.common import bench_app, logged_in_client, page, report, timed
from bench.generate import journal_lines, make_org


def run(lines: int = 1_000_000, fresh: bool = True) -> str:
    app = bench_app(fresh)
    org_id, user_id = make_org(app)
    if fresh:
        t0 = time.perf_counter()
        journal_lines(app, org_id, lines)
        print(f"generated {lines:,} lines in {time.perf_counter() - t0:.0f} s")
    from webapp.core.tenancy import tenant
    from webapp.extensions import db
    from webapp.ledger import queries
    from webapp.ledger.models import Account, JournalLine
    fy = (date(2025, 4, 1), date(2026, 3, 31))
    with app.app_context(), tenant(org_id):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(JournalLine))
        receivables = db.session.scalars(sa.select(Account).where(Account.role == "receivables")).one()
        page1 = queries.general_ledger(receivables, *fy)
        deep = page1
        for _ in range(20):
            deep = queries.general_ledger(receivables, *fy, cursor=deep.next_cursor)
        rows = [
            ("trial balance, one fiscal year (query)", timed(lambda: queries.trial_balance(*fy)), "< 200 ms"),
            ("profit and loss, one fiscal year (query)", timed(lambda: queries.profit_and_loss(*fy)), "< 200 ms"),
            ("balance sheet at year end (query)", timed(lambda: queries.balance_sheet(fy[1])), "< 200 ms"),
            ("general ledger, receivables, first page", timed(lambda: queries.general_ledger(receivables, *fy)), "< 20 ms"),
            ("general ledger, receivables, page 21", timed(lambda: queries.general_ledger(receivables, *fy, cursor=deep.next_cursor)), "< 20 ms"),
        ]
    client = logged_in_client(app, "bench.traders@example.com")
    q = {"date_from": "2025-04-01", "date_to": "2026-03-31"}
    rows += [
        ("GET /reports/trial-balance (whole page)", timed(page(client, "/reports/trial-balance", **q)), "< 200 ms"),
        ("GET /reports/profit-and-loss (whole page)", timed(page(client, "/reports/profit-and-loss", **q)), "< 200 ms"),
        ("GET /reports/balance-sheet (whole page)", timed(page(client, "/reports/balance-sheet", **q)), "< 200 ms"),
        ("GET /reports/general-ledger, one account (whole page)",
         timed(page(client, "/reports/general-ledger", account_id=receivables.id, **q)), "< 20 ms"),
    ]
    return report(f"Ledger: {count:,} journal lines in one organization", rows)
