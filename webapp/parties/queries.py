"""Reads of customers and suppliers, and their balances from the sub-ledger."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from webapp.catalog.search import fold_chars, range_of
from webapp.core.money import ZERO
from webapp.extensions import db
from webapp.ledger.models import Account, PartyBalance
from webapp.parties.models import Party

PAGE = 50


#: PostgreSQL only (migration 0017, kept by a trigger on party): every suffix of three characters or more
#: of each party's lower-cased name, indexed by (org_id, token, party_id), collation "C".
PARTY_SEARCH = sa.table("party_search", sa.column("org_id", sa.BigInteger), sa.column("party_id", sa.BigInteger),
                        sa.column("token", sa.String))


def name_range(text: str) -> tuple[str, str | None]:
    """What `ids_named` is given for a search text: the text lower-cased as the trigger's lower()
    lower-cases the names (character by character: `catalog.search.fold_chars`), and the end of
    the range of tokens that start with it."""
    return range_of(fold_chars(text))


def ids_named(org_id, prefix, upper) -> sa.Select:
    """The ids of the parties whose name holds a text of three characters or more (PostgreSQL): those
    with a name suffix that starts with the lower-cased text, `prefix`, read as one range of the index
    up to `upper` (`name_range`). `>=`, `<` and `starts_with` are leakproof, so row-level security
    lets the index be used; the same parties as `name ILIKE '%text%'`, which compares lower() of
    both."""
    t = PARTY_SEARCH.c
    return sa.select(t.party_id).where(t.org_id == org_id, t.token >= prefix, t.token < upper,
                                       sa.func.starts_with(t.token, prefix))


def _like(q: str) -> str:
    return "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"


@dataclass
class PartyFilter:
    q: str = ""
    kind: str = "customer"      # customer | supplier
    status: str = "active"
    page: int = 1


def parties(f: PartyFilter) -> tuple[list[Party], bool]:
    stmt = sa.select(Party).where(Party.is_supplier.is_(True) if f.kind == "supplier" else Party.is_customer.is_(True))
    if f.q:
        like = _like(f.q.strip()[:60])
        stmt = stmt.where(sa.or_(Party.name.ilike(like), Party.code.ilike(like), Party.tax_id.ilike(like),
                                 Party.phone.ilike(like)))
    if f.status == "active":
        stmt = stmt.where(Party.active.is_(True))
    elif f.status == "inactive":
        stmt = stmt.where(Party.active.is_(False))
    page = max(1, min(f.page, 10_000))
    rows = list(db.session.scalars(stmt.order_by(Party.name, Party.id).offset((page - 1) * PAGE).limit(PAGE + 1)))
    return rows[:PAGE], len(rows) > PAGE


def search(q: str, *, kind: str = "customer", limit: int = 12) -> list[Party]:
    stmt = sa.select(Party).where(Party.active.is_(True),
                                  Party.is_supplier.is_(True) if kind == "supplier" else Party.is_customer.is_(True))
    q = (q or "").strip()[:60]
    if q:
        like = _like(q)
        stmt = stmt.where(sa.or_(Party.name.ilike(like), Party.code.ilike(like), Party.phone.ilike(like)))
    return list(db.session.scalars(stmt.order_by(Party.is_walk_in.desc(), Party.name).limit(limit)))


def balances(party_ids: list[int], role: str = "receivables") -> dict[int, Decimal]:
    """What each party owes (receivables, debit − credit) or is owed (payables, credit − debit)."""
    if not party_ids:
        return {}
    # The control account in the same statement (a posting asks this on its way: one round trip);
    # the sums of the party's lines kept as they are posted (ledger.models.PartyBalance).
    acc = sa.select(Account.id).where(Account.role == role).scalar_subquery()
    rows = db.session.execute(
        sa.select(PartyBalance.party_id, PartyBalance.debit, PartyBalance.credit)
        .where(PartyBalance.account_id == acc, PartyBalance.party_id.in_(party_ids))).all()
    out = {pid: ZERO for pid in party_ids}
    for pid, d, c in rows:
        out[pid] = (d - c) if role == "receivables" else (c - d)
    return out


def balance(party: Party, role: str = "receivables") -> Decimal:
    return balances([party.id], role)[party.id]
