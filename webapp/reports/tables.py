"""Each report as rows for CSV/XLSX, from the same queries the pages use."""
from __future__ import annotations

from datetime import date

from webapp.ledger import queries
from webapp.ledger.models import Account


def _section_rows(section):
    rows = [[section.title, "", None]]
    for acc, depth, amount, is_group in section.lines:
        rows.append([acc.code, ("  " * depth) + acc.name, amount])
    rows.append([f"Total {section.title.lower()}", "", section.total])
    return rows


def trial_balance(date_from: date, date_to: date):
    tb = queries.trial_balance(date_from, date_to)
    headers = ["Code", "Account", "Type", "Opening debit", "Opening credit", "Debit", "Credit",
               "Closing debit", "Closing credit"]
    rows = []
    for r in tb.rows:
        od, oc = r.split(r.opening)
        cd, cc = r.split(r.closing)
        rows.append([r.account.code, r.account.name, r.account.type, od, oc, r.debit, r.credit, cd, cc])
    rows.append(["", "Total", "", tb.opening_debit, tb.opening_credit, tb.debit, tb.credit,
                 tb.closing_debit, tb.closing_credit])
    return f"Trial balance {date_from} to {date_to}", headers, rows, range(3, 9)


def profit_and_loss(date_from: date, date_to: date):
    pl = queries.profit_and_loss(date_from, date_to)
    rows = _section_rows(pl.income) + [["", "", None]] + _section_rows(pl.expenses)
    rows += [["", "", None], ["Net profit", "", pl.net_profit]]
    return f"Profit and loss {date_from} to {date_to}", ["Code", "Account", "Amount"], rows, [2]


def balance_sheet(as_of: date):
    bs = queries.balance_sheet(as_of)
    rows = _section_rows(bs.assets) + [["", "", None]] + _section_rows(bs.liabilities) + [["", "", None]]
    rows += _section_rows(bs.equity)
    rows += [["", "Retained earnings from earlier years", bs.retained_from_earlier_years],
             ["", "Current year earnings", bs.current_year_earnings],
             ["Total equity", "", bs.total_equity],
             ["Total liabilities and equity", "", bs.total_liabilities_and_equity]]
    return f"Balance sheet as of {as_of}", ["Code", "Account", "Amount"], rows, [2]


def general_ledger(account: Account, date_from: date, date_to: date):
    headers = ["Date", "Entry", "Source", "Memo", "Debit", "Credit", "Balance"]
    page = queries.general_ledger(account, date_from, date_to, limit=10**7)
    rows = [[date_from, "", "", "Opening balance", None, None, page.opening]]
    for line, entry, running in page.rows:
        rows.append([line.date, entry.number, entry.source_number or entry.source_type,
                     line.memo or entry.memo, line.debit or None, line.credit or None, running])
    rows.append([date_to, "", "", "Closing balance", page.period_debit, page.period_credit, page.closing])
    return f"General ledger {account.label} {date_from} to {date_to}", headers, rows, [4, 5, 6]
