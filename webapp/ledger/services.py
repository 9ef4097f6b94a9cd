"""Every write to the ledger. `post_entry` is the only way journal lines are made.

Other modules describe what to post (`Line`s, by account or by role) and call
`post_entry` inside their own transaction; it checks, numbers, writes the
entry, its lines and the day balances, and flushes. A refusal is a
`DomainError` and nothing is written.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from webapp.core import audit, numbering
from webapp.core.clock import now
from webapp.core.errors import DomainError, StaleData
from webapp.core.money import MAX_AMOUNT, ZERO, currency, format_amount
from webapp.core.tx import atomic
from webapp.extensions import db, on_postgres
from webapp.ledger.chart import template_for
from webapp.ledger.models import (ACCOUNT_TYPES, DRAFT, MANUAL, OPENING, POSTED, REVERSED, Account,
                                  AccountDayBalance, JournalEntry, JournalLine, ManualJournal,
                                  ManualJournalLine)
from webapp.orgs.models import Organization
from webapp.orgs.queries import current_organization
from webapp.orgs.services import DOCUMENT_CHECKS, org_setup_step


class LedgerImmutable(RuntimeError):
    """Code tried to change or delete a posted journal entry or line."""


@dataclass(frozen=True)
class Line:
    """One line to post: an Account, an account id, or a role name."""
    account: Account | int | str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    memo: str | None = None
    party_id: int | None = None


# ---------------------------------------------------------------- chart

@org_setup_step
def install_chart(org: Organization) -> None:
    """Create the organization's chart of accounts from its regime's template."""
    by_code: dict[str, Account] = {}
    for code, name, type_, parent, role, is_group in template_for(org.tax_regime):
        acc = Account(code=code, name=name, type=type_, role=role, is_group=is_group,
                      parent=by_code.get(parent) if parent else None)
        db.session.add(acc)
        by_code[code] = acc
    db.session.flush()


def account_for(role: str) -> Account:
    acc = db.session.scalars(sa.select(Account).where(Account.role == role)).first()
    if acc is None:
        raise DomainError(f"The chart of accounts has no {role.replace('_', ' ')} account.")
    return acc


def _check_account_fields(code: str, name: str, type_: str, parent: Account | None, account: Account | None = None):
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise DomainError("Enter a code.", field="code")
    if len(code) > 20 or not all(c.isalnum() or c in "-./" for c in code):
        raise DomainError("Use up to 20 letters, digits, dots, dashes or slashes.", field="code")
    if not name:
        raise DomainError("Enter a name.", field="name")
    if type_ not in ACCOUNT_TYPES:
        raise DomainError("Choose a type.", field="type")
    clash = db.session.scalars(sa.select(Account).where(Account.code == code)).first()
    if clash is not None and clash is not account:
        raise DomainError(f"Code {code} is already used by {clash.name}.", field="code")
    if parent is not None:
        if not parent.is_group:
            raise DomainError(f"{parent.label} is not a group account.", field="parent_id")
        if parent.type != type_:
            raise DomainError(f"A {ACCOUNT_TYPES[type_].lower()} account cannot sit under "
                              f"{ACCOUNT_TYPES[parent.type].lower()} group {parent.name}.", field="parent_id")
        node = parent
        while node is not None:
            if account is not None and node.id == account.id:
                raise DomainError("An account cannot sit under itself.", field="parent_id")
            node = node.parent
    return code, name


def add_account(*, code: str, name: str, type: str, parent: Account | None = None,
                is_group: bool = False, description: str | None = None) -> Account:
    code, name = _check_account_fields(code, name, type, parent)
    acc = Account(code=code, name=name, type=type, parent=parent, is_group=is_group,
                  description=(description or "").strip() or None)
    db.session.add(acc)
    db.session.flush()
    return acc


def has_entries(account: Account) -> bool:
    return db.session.scalar(sa.select(sa.exists().where(JournalLine.account_id == account.id))) or \
        db.session.scalar(sa.select(sa.exists().where(ManualJournalLine.account_id == account.id)))


def update_account(account: Account, *, code: str, name: str, parent: Account | None,
                   description: str | None = None) -> None:
    code, name = _check_account_fields(code, name, account.type, parent, account)
    if code != account.code and has_entries(account):
        raise DomainError("The code of an account with entries cannot change; rename it instead.", field="code")
    account.code, account.name, account.parent = code, name, parent
    account.description = (description or "").strip() or None
    db.session.flush()


def set_account_active(account: Account, active: bool) -> None:
    if not active:
        if account.role:
            raise DomainError(f"{account.name} is a control account used by SME Pulse; it stays active.")
        if account.is_group and db.session.scalar(sa.select(sa.exists().where(
                Account.parent_id == account.id, Account.active.is_(True)))):
            raise DomainError("Deactivate the accounts inside this group first.")
        balance = db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(AccountDayBalance.debit), 0),
                                               sa.func.coalesce(sa.func.sum(AccountDayBalance.credit), 0))
                                     .where(AccountDayBalance.account_id == account.id)).one()
        if balance[0] != balance[1]:
            raise DomainError(f"{account.name} still has a balance; move it to another account first.")
    account.active = active
    db.session.flush()


# ---------------------------------------------------------------- lock date

def check_open(d: date, what: str = "post") -> None:
    """Refuse anything dated on or before the organization's lock date."""
    lock = current_organization().lock_date
    if lock is not None and d <= lock:
        raise DomainError(f"The books are locked up to {lock:%d %b %Y}; you cannot {what} anything dated "
                          f"{d:%d %b %Y}. An owner or accountant can move the lock date.", field="date")


def set_lock_date(org: Organization, lock: date | None) -> None:
    if lock is not None and lock > date.today().replace(year=date.today().year + 1):
        raise DomainError("A lock date more than a year ahead is almost certainly a typing mistake.",
                          field="lock_date")
    with audit.action("ledger.lock_date"):
        org.lock_date = lock
        db.session.flush()


# ---------------------------------------------------------------- posting

@dataclass(frozen=True)
class AccountRow:
    """What posting needs to know of an account (read with a document's other reads)."""
    id: int
    org_id: int
    role: str | None
    code: str
    name: str
    active: bool
    is_group: bool

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"


_ACCOUNTS_BY_ROLE = sa.text(
    "SELECT id, org_id, role, code, name, active, is_group FROM account WHERE org_id = :org_id AND role = ANY(:roles)")


def queue_accounts(pipe, roles) -> object:
    """Read the accounts of these roles in a pipeline (PostgreSQL); `accounts_from(handle)` after it runs."""
    return pipe.add(_ACCOUNTS_BY_ROLE, {"org_id": current_organization().id, "roles": sorted(set(roles))})


def accounts_from(handle) -> dict[str, AccountRow]:
    return {r[2]: AccountRow(*r) for r in handle.rows}


def _resolve_accounts(lines: list[Line], known: dict | None = None) -> dict:
    """Each line's account by what the line names it by (role, id or Account); `known`: accounts
    already read, by role."""
    known = known or {}
    roles = {l.account for l in lines if isinstance(l.account, str) and l.account not in known}
    ids = {l.account for l in lines if isinstance(l.account, int) and not isinstance(l.account, bool)}
    objs = {l.account.id: l.account for l in lines if isinstance(l.account, Account)}
    if any(acc.org_id != current_organization().id for acc in objs.values()):
        raise DomainError("An account on this entry was not found.", field="lines")
    found: dict = dict(known)
    if ids:
        for acc in db.session.scalars(sa.select(Account).where(Account.id.in_(ids))):
            found[acc.id] = acc
        missing = ids - found.keys()
        if missing:
            raise DomainError("An account on this entry was not found.", field="lines")
    if roles:
        for acc in db.session.scalars(sa.select(Account).where(Account.role.in_(roles))):
            found[acc.role] = acc
    for role in {l.account for l in lines if isinstance(l.account, str)} - found.keys():
        raise DomainError(f"The chart of accounts has no {role.replace('_', ' ')} account.")
    found.update(objs)
    return found


@dataclass
class EntryPlan:
    """A checked, balanced entry, ready to write: the values of its row, its lines and what they
    add to each account's day."""
    values: dict
    rows: list[dict]
    day: dict
    entry_id: int | None = None

    def entry(self) -> JournalEntry:
        """The written entry as an object of the session (no statement: every column is known)."""
        entry = JournalEntry(id=self.entry_id, **self.values)
        sa.orm.make_transient_to_detached(entry)
        db.session.add(entry)
        db.session.expire(entry, ["lines", "reversal_of"])
        return entry


def plan_entry(*, date: date, memo: str, lines: list[Line], source_type: str, source_id: int | None = None,
               source_number: str | None = None, reversal_of: JournalEntry | None = None,
               accounts: dict | None = None) -> EntryPlan:
    """Check an entry (to the minor unit, balanced, open period, postable accounts) without writing
    it. `accounts`: accounts already read, by role (`queue_accounts`); the others are read now."""
    org = current_organization()
    code = org.base_currency
    if not lines:
        raise DomainError("An entry needs at least two lines.", field="lines")
    check_open(date)
    accounts = _resolve_accounts(lines, accounts)
    minor = currency(code).minor_unit
    total_debit = total_credit = ZERO
    rows, day = [], defaultdict(lambda: [ZERO, ZERO])
    for n, line in enumerate(lines, 1):
        debit, credit = line.debit or ZERO, line.credit or ZERO
        if not isinstance(debit, Decimal) or not isinstance(credit, Decimal):
            raise TypeError("Ledger amounts must be Decimal.")
        if debit < 0 or credit < 0:
            raise DomainError(f"Line {n}: amounts cannot be negative; use the other column.", field="lines")
        if debit > 0 and credit > 0:
            raise DomainError(f"Line {n} has both a debit and a credit; use two lines.", field="lines")
        if debit == 0 and credit == 0:
            raise DomainError(f"Line {n} has no amount.", field="lines")
        for amount in (debit, credit):
            if amount != amount.quantize(minor):
                raise DomainError(f"Line {n}: {amount} has more decimal places than {code} allows.",
                                  field="lines")
            if amount > MAX_AMOUNT:
                raise DomainError(f"Line {n}: the amount is too large.", field="lines")
        acc = accounts[line.account.id if isinstance(line.account, Account) else line.account]
        if not acc.active:
            raise DomainError(f"{acc.label} is deactivated; choose another account.", field="lines")
        if acc.is_group:
            raise DomainError(f"{acc.label} is a group; post to an account inside it.", field="lines")
        total_debit += debit
        total_credit += credit
        rows.append({"org_id": org.id, "line_no": n, "account_id": acc.id, "date": date, "debit": debit,
                     "credit": credit, "memo": (line.memo or None) and line.memo[:300], "party_id": line.party_id})
        totals = day[acc.id]
        totals[0] += debit
        totals[1] += credit
    if total_debit != total_credit:
        raise DomainError(f"Debits ({format_amount(total_debit, code)}) and credits "
                          f"({format_amount(total_credit, code)}) differ by "
                          f"{format_amount(abs(total_debit - total_credit), code)}.", field="lines")
    values = {"org_id": org.id, "date": date, "memo": (memo or "")[:300], "source_type": source_type,
              "source_id": source_id, "source_number": source_number,
              "reversal_of_id": reversal_of.id if reversal_of else None, "posted_at": now(),
              "posted_by_id": audit.current_actor().user_id}
    return EntryPlan(values, rows, day)


#: An entry, its lines and what they add to their accounts' day balances, in one statement
#: (PostgreSQL): the lines from arrays, then the day balances in account order (concurrent postings
#: lock the rows in the same order, so they never deadlock).
_ENTRY_PG = sa.text("""
WITH e AS (
  INSERT INTO journal_entry (id, org_id, number, date, memo, source_type, source_id, source_number, reversal_of_id,
                             posted_at, posted_by_id)
  VALUES (coalesce(:id, nextval('journal_entry_id_seq')), :org_id, :number, :date, :memo, :source_type, :source_id,
          :source_number, :reversal_of_id, :posted_at, :posted_by_id)
  RETURNING id
), lines AS (
  INSERT INTO journal_line (org_id, entry_id, line_no, account_id, date, debit, credit, memo, party_id)
  SELECT :org_id, e.id, l.line_no, l.account_id, :date, l.debit, l.credit, l.memo, l.party_id
  FROM e, unnest(CAST(:line_nos AS integer[]), CAST(:account_ids AS bigint[]), CAST(:debits AS numeric[]),
                 CAST(:credits AS numeric[]), CAST(:memos AS text[]), CAST(:party_ids AS bigint[]))
       AS l(line_no, account_id, debit, credit, memo, party_id)
), days AS (
  INSERT INTO account_day_balance (org_id, account_id, date, debit, credit)
  SELECT :org_id, d.account_id, :date, d.debit, d.credit
  FROM unnest(CAST(:day_accounts AS bigint[]), CAST(:day_debits AS numeric[]), CAST(:day_credits AS numeric[]))
       AS d(account_id, debit, credit)
  ORDER BY d.account_id
  ON CONFLICT (org_id, account_id, date) DO UPDATE
  SET debit = account_day_balance.debit + excluded.debit, credit = account_day_balance.credit + excluded.credit
)
SELECT id FROM e
""")


_ENTRY_ID_PG = sa.text("SELECT nextval('journal_entry_id_seq')")


def reserve_entry_id(pipe):
    """An id for an entry about to be planned, taken with a posting's reads (PostgreSQL): the
    document that points at the entry is then written with it, in the same pipeline."""
    return pipe.add(_ENTRY_ID_PG)


def queue_entry(pipe, plan: EntryPlan, number) -> None:
    """Write a planned entry in a pipeline (PostgreSQL); `plan.entry_id` is set once it has run.
    `number`: the entry's number, already taken (a statement of a pipeline cannot use another's
    answer, so it is taken with the reads that come before)."""
    rows, day = plan.rows, plan.day
    accounts = sorted(day)
    params = {**plan.values, "line_nos": [r["line_no"] for r in rows],
              "account_ids": [r["account_id"] for r in rows], "debits": [r["debit"] for r in rows],
              "credits": [r["credit"] for r in rows], "memos": [r["memo"] for r in rows],
              "party_ids": [r["party_id"] for r in rows], "day_accounts": accounts,
              "day_debits": [day[a][0] for a in accounts], "day_credits": [day[a][1] for a in accounts]}
    plan.values["number"] = params["number"] = str(number)
    params["id"] = plan.entry_id
    handle = pipe.add(_ENTRY_PG, params)
    pipe.then(lambda: setattr(plan, "entry_id", handle.scalar()))


def write_entry(plan: EntryPlan, number: str) -> JournalEntry:
    """Write a planned entry now (SQLite, or a caller with nothing else to send)."""
    plan.values["number"] = number
    if on_postgres():
        from webapp.core.pipeline import Pipeline
        pipe = Pipeline()
        queue_entry(pipe, plan, number)
        pipe.run()
        return plan.entry()
    entry = JournalEntry(**plan.values)
    db.session.add(entry)
    db.session.flush()
    plan.entry_id = entry.id
    # Core, not the ORM's bulk insert: that splits the rows into one statement per set of
    # None-valued keys (with/without memo, party); this is one executemany.
    db.session.execute(sa.insert(JournalLine.__table__), [{**r, "entry_id": entry.id} for r in plan.rows])
    _add_to_day_balances(plan.values["org_id"], plan.values["date"], plan.day)
    db.session.expire(entry, ["lines"])
    return entry


def post_entry(*, date: date, memo: str, lines: list[Line], source_type: str,
               source_id: int | None = None, source_number: str | None = None,
               reversal_of: JournalEntry | None = None) -> JournalEntry:
    """Post one balanced entry: checked to the minor unit, numbered, immutable."""
    plan = plan_entry(date=date, memo=memo, lines=lines, source_type=source_type, source_id=source_id,
                      source_number=source_number, reversal_of=reversal_of)
    number = numbering.next_number("journal", date, current_organization().fiscal_year_start_month)
    return write_entry(plan, number)


_DAY_UPSERTS: dict[str, sa.Insert] = {}


def _day_upsert(dialect: str) -> sa.Insert:
    """Add to one account's day (insert, or add to the row there): built once per dialect."""
    stmt = _DAY_UPSERTS.get(dialect)
    if stmt is None:
        table = AccountDayBalance.__table__
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        stmt = _DAY_UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=["org_id", "account_id", "date"],
            set_={"debit": table.c.debit + stmt.excluded.debit, "credit": table.c.credit + stmt.excluded.credit})
    return stmt


def _add_to_day_balances(org_id: int, d: date, day: dict) -> None:
    # One statement for all the entry's accounts (executemany), in account order, so concurrent
    # postings lock rows in the same order (no deadlocks).
    db.session.execute(_day_upsert(db.session.get_bind().dialect.name),
                       [{"org_id": org_id, "account_id": account_id, "date": d, "debit": debit, "credit": credit}
                        for account_id, (debit, credit) in sorted(day.items())])


def reversal_of(entry: JournalEntry) -> JournalEntry | None:
    return db.session.scalars(sa.select(JournalEntry).where(JournalEntry.reversal_of_id == entry.id)).first()


def reverse_entry(entry: JournalEntry, *, date: date, memo: str | None = None,
                  source_type: str | None = None, source_id: int | None = None) -> JournalEntry:
    """Post the mirror image of `entry`, linked to it. An entry is reversed once."""
    if entry.reversal_of_id is not None:
        raise DomainError("This entry is itself a reversal; post a new entry instead.")
    if reversal_of(entry) is not None:
        raise DomainError(f"{entry.number} has already been reversed.")
    check_open(entry.date, "reverse")
    if date < entry.date:
        raise DomainError("A reversal cannot be dated before the entry it reverses.", field="date")
    lines = [Line(l.account_id, debit=l.credit, credit=l.debit, memo=l.memo, party_id=l.party_id)
             for l in entry.lines]
    return post_entry(date=date, memo=memo or f"Reversal of {entry.number}", lines=lines,
                      source_type=source_type or entry.source_type, source_id=source_id or entry.source_id,
                      source_number=entry.source_number, reversal_of=entry)


def _refuse_changes_to_posted_entries(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, (JournalEntry, JournalLine)) and (obj in session.deleted or session.is_modified(obj)):
            raise LedgerImmutable("Posted journal entries are never changed or deleted; reverse them.")


event.listen(Session, "before_flush", _refuse_changes_to_posted_entries)


# ---------------------------------------------------------------- manual journals

def _bump(journal: ManualJournal, version: int | None) -> None:
    if journal.status != DRAFT:
        raise DomainError("This journal is posted; it can no longer be edited. Reverse it instead.")
    if version is not None and int(version) != journal.version:
        raise StaleData("Someone else changed this journal since you opened it. Reload the page to see "
                        "their changes.")
    journal.version += 1


@atomic()
def create_manual_journal(*, date: date, memo: str = "", kind: str = MANUAL) -> ManualJournal:
    if kind not in (MANUAL, OPENING):
        raise DomainError("Unknown journal kind.")
    journal = ManualJournal(date=date, memo=(memo or "").strip()[:300], kind=kind,
                            created_by_id=audit.current_actor().user_id)
    journal.lines = [ManualJournalLine(position=1), ManualJournalLine(position=2)]
    db.session.add(journal)
    db.session.flush()
    return journal


@atomic()
def update_journal_header(journal: ManualJournal, *, date: date, memo: str, version: int | None) -> None:
    _bump(journal, version)
    journal.date, journal.memo = date, (memo or "").strip()[:300]
    db.session.flush()


@atomic()
def add_journal_line(journal: ManualJournal, version: int | None) -> ManualJournalLine:
    _bump(journal, version)
    if len(journal.lines) >= 500:
        raise DomainError("A journal can have at most 500 lines.")
    line = ManualJournalLine(position=max((l.position for l in journal.lines), default=0) + 1)
    journal.lines.append(line)
    db.session.flush()
    return line


@atomic()
def update_journal_line(journal: ManualJournal, line: ManualJournalLine, *, account: Account | None,
                        debit: Decimal | None, credit: Decimal | None, memo: str | None,
                        version: int | None) -> None:
    if line.journal_id != journal.id:
        raise DomainError("That line is not on this journal.")
    debit, credit = debit or ZERO, credit or ZERO
    if debit < 0 or credit < 0:
        raise DomainError("Amounts cannot be negative; use the other column.", field="debit")
    if debit > 0 and credit > 0:
        raise DomainError("A line has a debit or a credit, not both.", field="credit")
    code = current_organization().base_currency
    for name, amount in (("debit", debit), ("credit", credit)):
        if amount != amount.quantize(currency(code).minor_unit):
            raise DomainError(f"{code} has {currency(code).precision} decimal places.", field=name)
        if amount > MAX_AMOUNT:
            raise DomainError("That amount is too large.", field=name)
    if account is not None and (account.is_group or not account.active):
        raise DomainError(f"{account.label} cannot be posted to.", field="account_id")
    _bump(journal, version)
    line.account, line.debit, line.credit = account, debit, credit
    line.memo = (memo or "").strip()[:300] or None
    db.session.flush()


@atomic()
def remove_journal_line(journal: ManualJournal, line: ManualJournalLine, version: int | None) -> None:
    if line.journal_id != journal.id:
        raise DomainError("That line is not on this journal.")
    _bump(journal, version)
    journal.lines.remove(line)
    db.session.flush()


def journal_totals(journal: ManualJournal) -> tuple[Decimal, Decimal]:
    return (sum((l.debit for l in journal.lines), ZERO), sum((l.credit for l in journal.lines), ZERO))


def lock_journal(journal_id: int) -> ManualJournal:
    """Re-read a journal with its row locked (two posts of one journal queue up)."""
    return db.session.scalars(sa.select(ManualJournal).where(ManualJournal.id == journal_id)
                              .with_for_update(of=ManualJournal).execution_options(populate_existing=True)).one()


@atomic()
def post_manual_journal(journal: ManualJournal, version: int | None = None) -> JournalEntry:
    journal = lock_journal(journal.id)
    if journal.status != DRAFT:
        raise DomainError(f"This journal was already posted as {journal.number}.")
    if version is not None and int(version) != journal.version:
        raise StaleData("Someone changed this journal after you opened it. Review it and post again.")
    check_open(journal.date)
    lines = [l for l in journal.lines if l.account_id or l.debit or l.credit]
    if not lines:
        raise DomainError("Add at least two lines with an account and an amount.", field="lines")
    for n, l in enumerate(lines, 1):
        if l.account_id is None:
            raise DomainError(f"Line {n} has an amount but no account.", field="lines")
    memo = journal.memo or ("Opening balances" if journal.kind == OPENING else "Manual journal")
    entry = post_entry(date=journal.date, memo=memo, source_type="manual_journal", source_id=journal.id,
                       lines=[Line(l.account_id, l.debit, l.credit, l.memo) for l in lines])
    with audit.action("manual_journal.post"):
        journal.status, journal.entry_id = POSTED, entry.id
        journal.version += 1
        db.session.flush()
    return entry


@atomic()
def reverse_manual_journal(journal: ManualJournal, *, date: date, memo: str | None = None) -> JournalEntry:
    journal = lock_journal(journal.id)
    if journal.status != POSTED:
        raise DomainError("Only a posted journal can be reversed." if journal.status == DRAFT
                          else "This journal has already been reversed.")
    entry = reverse_entry(journal.entry, date=date, memo=memo or f"Reversal of {journal.entry.number}",
                          source_type="manual_journal", source_id=journal.id)
    with audit.action("manual_journal.reverse"):
        journal.status, journal.reversal_entry_id = REVERSED, entry.id
        journal.version += 1
        db.session.flush()
    return entry


@atomic()
def delete_draft_journal(journal: ManualJournal) -> None:
    journal = lock_journal(journal.id)
    if journal.status != DRAFT:
        raise DomainError("A posted journal is never deleted; reverse it instead.")
    db.session.delete(journal)
    db.session.flush()


DOCUMENT_CHECKS.append(lambda org: db.session.scalar(
    sa.select(sa.exists().where(JournalEntry.org_id == org.id))))
