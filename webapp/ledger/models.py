"""The double-entry ledger.

- `Account`: the chart of accounts, a tree per organization. Control accounts
  other modules post to carry a `role` (receivables, inventory, output_cgst…).
- `JournalEntry` and `JournalLine`: posted entries only. They are written by
  `ledger.services.post_entry` and never changed: the ORM refuses updates and
  deletes, and database triggers refuse them too. A reversal is a new entry
  pointing at the one it reverses.
- `AccountDayBalance`: debits and credits per account per day, kept by the
  same posting service in the same transaction, so that reports for any date
  range add up days instead of lines.
- `ManualJournal`: a document (draft → posted → reversed) whose draft lines
  are edited freely and which, when posted, becomes one journal entry.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.core.clock import now
from webapp.core.money import Money
from webapp.core.tenancy import TenantScoped
from webapp.extensions import db

ASSET, LIABILITY, EQUITY, INCOME, EXPENSE = "asset", "liability", "equity", "income", "expense"
ACCOUNT_TYPES = {ASSET: "Asset", LIABILITY: "Liability", EQUITY: "Equity", INCOME: "Income", EXPENSE: "Expense"}
#: Types whose balance is normally on the debit side.
DEBIT_NORMAL = {ASSET, EXPENSE}
BALANCE_SHEET_TYPES = (ASSET, LIABILITY, EQUITY)
PROFIT_AND_LOSS_TYPES = (INCOME, EXPENSE)


class Account(TenantScoped, db.Model):
    __tablename__ = "account"
    __org_index__ = False
    __audited__ = True
    __table_args__ = (
        sa.UniqueConstraint("org_id", "code"),
        sa.Index("uq_account_org_role", "org_id", "role", unique=True,
                 sqlite_where=sa.text("role IS NOT NULL"), postgresql_where=sa.text("role IS NOT NULL")),
        sa.CheckConstraint("type IN ('asset', 'liability', 'equity', 'income', 'expense')", name="type"),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(120))
    type: Mapped[str] = mapped_column(sa.String(10))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"), index=True)
    #: A control account other modules find by role ("receivables", "output_igst", …).
    role: Mapped[str | None] = mapped_column(sa.String(40))
    #: Group accounts only hold other accounts; nothing is posted to them.
    is_group: Mapped[bool] = mapped_column(default=False)
    #: Money is received into and paid from this account (a till, a bank account).
    is_payment_account: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=now)

    parent = relationship("Account", remote_side=[id])

    @property
    def debit_normal(self) -> bool:
        return self.type in DEBIT_NORMAL

    @property
    def label(self) -> str:
        return f"{self.code} · {self.name}"


class JournalEntry(TenantScoped, db.Model):
    """One posted, balanced entry. Immutable."""

    __tablename__ = "journal_entry"
    __org_index__ = False
    __table_args__ = (
        sa.UniqueConstraint("org_id", "number"),
        sa.Index("ix_journal_entry_org_date", "org_id", "date", "id"),
        sa.Index("ix_journal_entry_source", "org_id", "source_type", "source_id"),
        # At most one reversal per entry.
        sa.Index("uq_journal_entry_reversal_of", "reversal_of_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(40))
    date: Mapped[date]
    memo: Mapped[str] = mapped_column(sa.String(300), default="")
    #: What caused the entry: "manual_journal", "invoice", "bill", "payment", "stock_move", …
    source_type: Mapped[str] = mapped_column(sa.String(40))
    source_id: Mapped[int | None]
    #: The source document's own number, for display ("INV-2026-00042").
    source_number: Mapped[str | None] = mapped_column(sa.String(60))
    reversal_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    posted_at: Mapped[datetime] = mapped_column(default=now)
    posted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    lines = relationship("JournalLine", back_populates="entry", order_by="JournalLine.line_no")
    reversal_of = relationship("JournalEntry", remote_side=[id])


class JournalLine(TenantScoped, db.Model):
    """One side of a posted entry. Immutable; `date` is copied for fast reports."""

    __tablename__ = "journal_line"
    __org_index__ = False
    __table_args__ = (
        sa.Index("ix_journal_line_account_date", "org_id", "account_id", "date", "id"),
        sa.CheckConstraint("debit >= 0 AND credit >= 0", name="not_negative"),
        sa.CheckConstraint("(debit > 0 AND credit = 0) OR (credit > 0 AND debit = 0)", name="one_side"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("journal_entry.id"), index=True)
    line_no: Mapped[int]
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"))
    date: Mapped[date]
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    memo: Mapped[str | None] = mapped_column(sa.String(300))
    #: The customer or supplier a receivable/payable line belongs to (sub-ledgers).
    party_id: Mapped[int | None] = mapped_column(index=True)

    entry = relationship(JournalEntry, back_populates="lines")
    account = relationship(Account, lazy="joined")


class AccountDayBalance(TenantScoped, db.Model):
    """Debits and credits posted to one account on one day (a report cache kept
    in the posting transaction; `test_ledger_invariants` proves it equals the lines)."""

    __tablename__ = "account_day_balance"
    __org_index__ = False
    __table_args__ = (
        sa.UniqueConstraint("org_id", "account_id", "date"),
        sa.Index("ix_account_day_balance_org_date", "org_id", "date", "account_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"))
    date: Mapped[date]
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


class PartyBalance(TenantScoped, db.Model):
    """Debits and credits posted to one account for one party, all dates: what a customer owes
    (the credit check of every posting, the customer list and page) without adding up the
    party's whole history of lines. Kept by database triggers on journal_line (migration 0012),
    in the inserting statement; `test_party_balances` proves it equals the lines."""

    __tablename__ = "party_balance"
    __org_index__ = False
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "account_id", "party_id"),
    )

    account_id: Mapped[int] = mapped_column(sa.ForeignKey("account.id"))
    party_id: Mapped[int]              # as journal_line.party_id
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))


DRAFT, POSTED, REVERSED = "draft", "posted", "reversed"
MANUAL, OPENING = "manual", "opening"


class ManualJournal(TenantScoped, db.Model):
    """A manual journal or an opening-balances entry: a document."""

    __tablename__ = "manual_journal"
    __audited__ = True
    __table_args__ = (
        sa.CheckConstraint("status IN ('draft', 'posted', 'reversed')", name="status"),
        sa.CheckConstraint("kind IN ('manual', 'opening')", name="kind"),
        sa.Index("ix_manual_journal_org_status_date", "org_id", "status", "date"),
    )

    #: Allowed state transitions.
    TRANSITIONS = {DRAFT: {POSTED}, POSTED: {REVERSED}, REVERSED: set()}

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default=MANUAL)
    status: Mapped[str] = mapped_column(sa.String(10), default=DRAFT)
    date: Mapped[date]
    memo: Mapped[str] = mapped_column(sa.String(300), default="")
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    reversal_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journal_entry.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now)
    #: Bumped on every change of the draft; a form carrying an older value is stale.
    version: Mapped[int] = mapped_column(default=1)

    lines = relationship("ManualJournalLine", back_populates="journal", order_by="ManualJournalLine.position",
                         cascade="all, delete-orphan", lazy="selectin")
    entry = relationship(JournalEntry, foreign_keys=[entry_id])
    reversal_entry = relationship(JournalEntry, foreign_keys=[reversal_entry_id])

    @property
    def number(self) -> str | None:
        return self.entry.number if self.entry_id else None


class ManualJournalLine(TenantScoped, db.Model):
    __tablename__ = "manual_journal_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("manual_journal.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    memo: Mapped[str | None] = mapped_column(sa.String(300))

    journal = relationship(ManualJournal, back_populates="lines")
    account = relationship(Account, lazy="joined")
