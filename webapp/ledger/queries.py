"""Reads of the ledger: balances, trial balance, P&L, balance sheet, general ledger.

Figures come from `AccountDayBalance` (one row per account per day with
postings), summed in SQL with the date range in the WHERE clause; nothing
here loops over journal lines in Python. The general ledger reads lines one
page at a time with a keyset cursor and gets the page's opening balance from
an aggregate.

Sign convention inside this module: a balance is debit minus credit. Reports
show each figure on its account's normal side.

Income and expense accounts start each fiscal year at zero: what they held
at the end of earlier years is shown as retained earnings (no closing
entries are needed, and none are posted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from webapp.core.money import ZERO
from webapp.core.numbering import fiscal_year_start
from webapp.extensions import db
from webapp.ledger.models import (BALANCE_SHEET_TYPES, DEBIT_NORMAL, EQUITY, EXPENSE, INCOME,
                                  PROFIT_AND_LOSS_TYPES, Account, AccountDayBalance, JournalEntry,
                                  JournalLine, ManualJournal)
from webapp.orgs.queries import current_organization

GL_PAGE = 50


def fiscal_year_of(on: date) -> tuple[date, date]:
    start = fiscal_year_start(on, current_organization().fiscal_year_start_month)
    end = start.replace(year=start.year + 1) - timedelta(days=1)
    return start, end


def accounts() -> list[Account]:
    return list(db.session.scalars(sa.select(Account).order_by(Account.code)))


def postable_accounts(q: str = "", limit: int = 20) -> list[Account]:
    stmt = sa.select(Account).where(Account.active.is_(True), Account.is_group.is_(False))
    q = (q or "").strip()
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(sa.or_(Account.code.ilike(like), Account.name.ilike(like)))
    return list(db.session.scalars(stmt.order_by(Account.code).limit(limit)))


def _sums(date_from: date | None, date_to: date | None, account_id: int | None = None
          ) -> dict[int, tuple[Decimal, Decimal]]:
    """Debits and credits per account between two days, inclusive (None = open end)."""
    t = AccountDayBalance
    stmt = sa.select(t.account_id, sa.func.sum(t.debit), sa.func.sum(t.credit)).group_by(t.account_id)
    if account_id is not None:
        stmt = stmt.where(t.account_id == account_id)
    if date_from is not None:
        stmt = stmt.where(t.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(t.date <= date_to)
    return {a: (d or ZERO, c or ZERO) for a, d, c in db.session.execute(stmt)}


def _net(sums: dict, account_id: int) -> Decimal:
    d, c = sums.get(account_id, (ZERO, ZERO))
    return d - c


def balance_of_role(role: str, as_of: date) -> Decimal:
    """Debit − credit of a control account at the end of a day (one statement: the account by its
    role, and the sums of its days)."""
    t = AccountDayBalance
    acc = sa.select(Account.id).where(Account.role == role).scalar_subquery()
    debit, credit = db.session.execute(sa.select(sa.func.sum(t.debit), sa.func.sum(t.credit))
                                       .where(t.account_id == acc, t.date <= as_of)).one()
    return (debit or ZERO) - (credit or ZERO)


@dataclass
class Row:
    account: Account
    depth: int = 0
    opening: Decimal = ZERO     # debit − credit
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def closing(self) -> Decimal:
        return self.opening + self.debit - self.credit

    @staticmethod
    def split(amount: Decimal) -> tuple[Decimal, Decimal]:
        return (amount, ZERO) if amount >= 0 else (ZERO, -amount)


@dataclass
class TrialBalance:
    date_from: date
    date_to: date
    rows: list[Row]
    opening_debit: Decimal = ZERO
    opening_credit: Decimal = ZERO
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    closing_debit: Decimal = ZERO
    closing_credit: Decimal = ZERO

    @property
    def balanced(self) -> bool:
        return self.closing_debit == self.closing_credit and self.debit == self.credit


def _prior_years_profit(before: date) -> Decimal:
    """Net profit (credit − debit) of income and expense accounts before `before`."""
    t = AccountDayBalance
    value = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(t.credit), 0) - sa.func.coalesce(sa.func.sum(t.debit), 0))
        .join(Account, Account.id == t.account_id)
        .where(t.date < before, Account.type.in_(PROFIT_AND_LOSS_TYPES))).scalar()
    return Decimal(value or 0)


def trial_balance(date_from: date, date_to: date, *, include_zero: bool = False) -> TrialBalance:
    fy_start, _ = fiscal_year_of(date_from)
    before_fy = _sums(None, fy_start - timedelta(days=1))
    fy_to_start = _sums(fy_start, date_from - timedelta(days=1)) if date_from > fy_start else {}
    period = _sums(date_from, date_to)
    retained = db.session.scalars(sa.select(Account).where(Account.role == "retained_earnings")).first()
    prior_profit = sum((-_net(before_fy, a.id) for a in accounts() if a.type in PROFIT_AND_LOSS_TYPES), ZERO)
    tb = TrialBalance(date_from, date_to, [])
    for acc in accounts():
        if acc.is_group:
            continue
        if acc.type in BALANCE_SHEET_TYPES:
            opening = _net(before_fy, acc.id) + _net(fy_to_start, acc.id)
        else:
            opening = _net(fy_to_start, acc.id)
        if retained is not None and acc.id == retained.id:
            opening -= prior_profit  # earlier years' profit is a credit to retained earnings
        d, c = period.get(acc.id, (ZERO, ZERO))
        row = Row(acc, 0, opening, d, c)
        if not include_zero and opening == 0 and d == 0 and c == 0:
            continue
        tb.rows.append(row)
        od, oc = Row.split(row.opening)
        cd, cc = Row.split(row.closing)
        tb.opening_debit += od
        tb.opening_credit += oc
        tb.debit += d
        tb.credit += c
        tb.closing_debit += cd
        tb.closing_credit += cc
    return tb


@dataclass
class Section:
    title: str
    lines: list[tuple[Account, int, Decimal, bool]] = field(default_factory=list)  # account, depth, amount, is_group
    total: Decimal = ZERO


def _tree_section(title: str, types: tuple, sums_by_account: dict[int, Decimal], *,
                  include_zero: bool = False) -> Section:
    """Accounts of `types` as an indented tree with group subtotals (normal-side amounts)."""
    accs = [a for a in accounts() if a.type in types]
    children: dict[int | None, list[Account]] = {}
    for a in accs:
        children.setdefault(a.parent_id if a.parent_id in {x.id for x in accs} else None, []).append(a)
    section = Section(title)

    def walk(acc: Account, depth: int) -> Decimal:
        if not acc.is_group:
            amount = sums_by_account.get(acc.id, ZERO)
            if amount or include_zero:
                section.lines.append((acc, depth, amount, False))
            return amount
        position = len(section.lines)
        section.lines.append((acc, depth, ZERO, True))
        subtotal = sum((walk(child, depth + 1) for child in children.get(acc.id, [])), ZERO)
        if subtotal == 0 and not include_zero and len(section.lines) == position + 1:
            section.lines.pop()
        else:
            section.lines[position] = (acc, depth, subtotal, True)
        return subtotal

    section.total = sum((walk(a, 0) for a in children.get(None, [])), ZERO)
    return section


def _normal(acc: Account, net: Decimal) -> Decimal:
    return net if acc.type in DEBIT_NORMAL else -net


@dataclass
class ProfitAndLoss:
    date_from: date
    date_to: date
    income: Section
    expenses: Section

    @property
    def net_profit(self) -> Decimal:
        return self.income.total - self.expenses.total


def profit_and_loss(date_from: date, date_to: date) -> ProfitAndLoss:
    sums = _sums(date_from, date_to)
    by_acc = {a.id: _normal(a, _net(sums, a.id)) for a in accounts() if a.type in PROFIT_AND_LOSS_TYPES}
    return ProfitAndLoss(date_from, date_to, _tree_section("Income", (INCOME,), by_acc),
                         _tree_section("Expenses", (EXPENSE,), by_acc))


@dataclass
class BalanceSheet:
    as_of: date
    fiscal_year_start: date
    assets: Section
    liabilities: Section
    equity: Section
    retained_from_earlier_years: Decimal
    current_year_earnings: Decimal

    @property
    def total_equity(self) -> Decimal:
        return self.equity.total + self.retained_from_earlier_years + self.current_year_earnings

    @property
    def total_liabilities_and_equity(self) -> Decimal:
        return self.liabilities.total + self.total_equity

    @property
    def balanced(self) -> bool:
        return self.assets.total == self.total_liabilities_and_equity


def balance_sheet(as_of: date) -> BalanceSheet:
    fy_start, _ = fiscal_year_of(as_of)
    sums = _sums(None, as_of)
    by_acc = {a.id: _normal(a, _net(sums, a.id)) for a in accounts() if a.type in BALANCE_SHEET_TYPES}
    from webapp.ledger.models import ASSET, LIABILITY
    return BalanceSheet(
        as_of, fy_start,
        _tree_section("Assets", (ASSET,), by_acc),
        _tree_section("Liabilities", (LIABILITY,), by_acc),
        _tree_section("Equity", (EQUITY,), by_acc),
        retained_from_earlier_years=_prior_years_profit(fy_start),
        current_year_earnings=_prior_years_profit(as_of + timedelta(days=1)) - _prior_years_profit(fy_start),
    )


def chart_with_balances(as_of: date) -> list[tuple[Account, int, Decimal]]:
    """The whole chart as an indented tree; balances on the normal side,
    income and expenses for the fiscal year to `as_of`."""
    fy_start, _ = fiscal_year_of(as_of)
    all_time, this_year = _sums(None, as_of), _sums(fy_start, as_of)
    by_acc = {}
    for a in accounts():
        sums = this_year if a.type in PROFIT_AND_LOSS_TYPES else all_time
        by_acc[a.id] = _normal(a, _net(sums, a.id))
    out = []
    for title, types in (("Assets", ("asset",)), ("Liabilities", ("liability",)), ("Equity", ("equity",)),
                         ("Income", ("income",)), ("Expenses", ("expense",))):
        out.extend(_tree_section(title, types, by_acc, include_zero=True).lines)
    return out


@dataclass
class LedgerPage:
    account: Account
    date_from: date
    date_to: date
    opening: Decimal            # debit − credit before date_from (P&L: from the fiscal year start)
    page_opening: Decimal       # balance before the first line of this page
    rows: list[tuple[JournalLine, JournalEntry, Decimal]]   # line, entry, running balance after it
    closing: Decimal
    period_debit: Decimal
    period_credit: Decimal
    next_cursor: str | None


def _opening_for(acc: Account, date_from: date) -> Decimal:
    if acc.type in PROFIT_AND_LOSS_TYPES:
        start = fiscal_year_of(date_from)[0]
        sums = _sums(start, date_from - timedelta(days=1), acc.id) if date_from > start else {}
    else:
        sums = _sums(None, date_from - timedelta(days=1), acc.id)
    return _net(sums, acc.id)


def general_ledger(acc: Account, date_from: date, date_to: date, cursor: str | None = None,
                   limit: int = GL_PAGE) -> LedgerPage:
    """One page of an account's lines with a running balance."""
    opening = _opening_for(acc, date_from)
    period = _sums(date_from, date_to, acc.id)
    pd, pc = period.get(acc.id, (ZERO, ZERO))
    base = sa.select(JournalLine).where(JournalLine.account_id == acc.id, JournalLine.date >= date_from,
                                        JournalLine.date <= date_to)
    page_opening = opening
    after = None
    if cursor:
        try:
            cdate, cid = cursor.split("_", 1)
            after = (date.fromisoformat(cdate), int(cid))
        except ValueError:
            after = None
    if after:
        # Balance before the cursor: whole days from the day table, then the
        # cursor's own day line by line (a handful of rows, never the history).
        cursor_day, cursor_id = after
        days = _sums(date_from, cursor_day - timedelta(days=1), acc.id) if cursor_day > date_from else {}
        t = JournalLine
        same_day = db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(t.debit), 0), sa.func.coalesce(sa.func.sum(t.credit), 0))
            .where(t.account_id == acc.id, t.date == cursor_day, t.id <= cursor_id)).one()
        page_opening = opening + _net(days, acc.id) + Decimal(same_day[0]) - Decimal(same_day[1])
        base = base.where(sa.or_(JournalLine.date > cursor_day,
                                 sa.and_(JournalLine.date == cursor_day, JournalLine.id > cursor_id)))
    lines = db.session.execute(
        base.add_columns(JournalEntry).join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .options(sa.orm.lazyload(JournalLine.account), sa.orm.lazyload(JournalLine.entry))
        .order_by(JournalLine.date, JournalLine.id).limit(limit + 1)).all()
    more = len(lines) > limit
    lines = lines[:limit]
    rows, running = [], page_opening
    for line, entry in lines:
        running += line.debit - line.credit
        rows.append((line, entry, running))
    next_cursor = f"{lines[-1][0].date.isoformat()}_{lines[-1][0].id}" if more and lines else None
    return LedgerPage(acc, date_from, date_to, opening, page_opening, rows, opening + pd - pc, pd, pc,
                      next_cursor)


def entries(*, date_from: date | None = None, date_to: date | None = None, q: str = "",
            before_id: int | None = None, limit: int = 50):
    stmt = sa.select(JournalEntry).order_by(JournalEntry.id.desc()).limit(limit + 1)
    if date_from:
        stmt = stmt.where(JournalEntry.date >= date_from)
    if date_to:
        stmt = stmt.where(JournalEntry.date <= date_to)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(sa.or_(JournalEntry.number.ilike(like), JournalEntry.memo.ilike(like),
                                 JournalEntry.source_number.ilike(like)))
    if before_id:
        stmt = stmt.where(JournalEntry.id < before_id)
    rows = list(db.session.scalars(stmt.options(sa.orm.selectinload(JournalEntry.lines))))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def manual_journals(status: str | None = None, limit: int = 100) -> list[ManualJournal]:
    stmt = sa.select(ManualJournal).order_by(ManualJournal.date.desc(), ManualJournal.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(ManualJournal.status == status)
    return list(db.session.scalars(stmt))
