"""Today's aged balances kept per party, so that the aged report does not add up every open document.

The aged report of a day puts each party's open invoices (or bills) into five buckets by days past
due. Adding them up reads every open document (~50 ms for 100,000). On PostgreSQL, `aged_party_sum`
holds those five sums per party at the end of one day, the organization's `aged_day`:

- **kept by the database**: triggers on sales_document and purchase_document (migration 0011) add
  every change of a posted document (posting, a payment or its undoing, a cancellation) to its
  party's row, in the same transaction, whatever code made the change;
- **rebuilt when the day changes**: the first report of a new day (or the daily overdue job) adds up
  the documents once for the new day (`refresh`), since documents move between buckets as days pass.

Locks keep the two apart: a trigger holds the day (`FOR KEY SHARE` on the `aged_day` row) until its
transaction ends; `refresh` takes the row `FOR UPDATE`, so it waits for every posting in flight and
the postings after it wait for it, and each sees the other's work.

The sums are read only for today's report on PostgreSQL; another day, and SQLite, add up the
documents (payments.queries). The tests compare the two after every operation.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from psycopg.errors import LockNotAvailable
from sqlalchemy.exc import OperationalError

from webapp.core.clock import today
from webapp.core.tenancy import current_org_id
from webapp.core.tx import atomic
from webapp.extensions import db, on_postgres
from webapp.payments.models import AgedDay, AgedPartySum

KINDS = ("customer", "supplier")


#: How long the first report of a day waits for the postings in flight before it adds up the
#: documents itself instead (they wait for the rebuild in turn, so it must not wait long).
WAIT = "2s"


def ready(kind: str, as_of: date) -> bool:
    """Whether the aged report of `as_of` may read the kept sums: on PostgreSQL, for today, after
    bringing them to today if they are of another day. A rebuild is committed at once, in its own
    short transaction (a GET request or a reading job would roll it back): call this before
    anything else is written."""
    if as_of != today() or not on_postgres():
        return False
    day = db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == kind))
    if day == as_of:
        return True
    try:
        refresh(kind, as_of, wait=WAIT)
    except OperationalError as exc:
        if not isinstance(exc.orig, LockNotAvailable):
            raise
        return False          # postings in flight for too long: this report adds up the documents
    db.session.commit()
    return True


@atomic()
def refresh(kind: str, day: date, *, force: bool = False, wait: str | None = None) -> bool:
    """Rebuild the kind's sums for the end of `day` from the documents (PostgreSQL only). Returns
    whether it did: not when they already are of that day (unless `force`). `wait`: give up after
    that long (a PostgreSQL interval such as "2s") waiting for the postings in flight."""
    from webapp.payments.queries import BUCKETS, bucket_sums_stored
    if kind not in KINDS:
        raise ValueError(kind)
    if not on_postgres():
        return False
    org_id = current_org_id()
    conn = db.session.connection()
    conn.execute(sa.text("INSERT INTO aged_day (org_id, kind, as_of) VALUES (:org, :kind, NULL) "
                         "ON CONFLICT DO NOTHING"), {"org": org_id, "kind": kind})
    # Waits for the postings in flight (their triggers hold the row FOR KEY SHARE), then holds
    # back new ones until this transaction ends.
    if wait:
        before = conn.execute(sa.text("SELECT current_setting('lock_timeout')")).scalar()
        conn.execute(sa.text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": wait})
    held = conn.execute(sa.text("SELECT as_of FROM aged_day WHERE org_id = :org AND kind = :kind FOR UPDATE"),
                        {"org": org_id, "kind": kind}).scalar()
    if wait:
        conn.execute(sa.text("SELECT set_config('lock_timeout', :before, true)"), {"before": before})
    if held == day and not force:
        return False
    sums = AgedPartySum.__table__
    conn.execute(sa.delete(sums).where(sums.c.org_id == org_id, sums.c.kind == kind))
    s = bucket_sums_stored(kind, day).subquery()
    buckets = [s.c[b] for b in BUCKETS]
    conn.execute(sums.insert().from_select(
        ["org_id", "kind", "party_id", *BUCKETS],
        sa.select(sa.literal(org_id, sa.BigInteger), sa.literal(kind), s.c.party_id, *buckets)
        .where(s.c.party_id.is_not(None), sa.or_(*(b != 0 for b in buckets)))))
    conn.execute(sa.update(AgedDay.__table__).where(AgedDay.org_id == org_id, AgedDay.kind == kind)
                 .values(as_of=day))
    return True


def sums(kind: str, as_of: date):
    """The kept sums per party, as the report's statement reads them: none unless they are of
    `as_of` when the statement runs (a rebuild for the next day may have come in between, at
    midnight; the report then adds up the documents)."""
    org_id = current_org_id()
    return (sa.select(AgedPartySum.party_id, AgedPartySum.current, AgedPartySum.d1_30, AgedPartySum.d31_60,
                      AgedPartySum.d61_90, AgedPartySum.over_90)
            .join(AgedDay, sa.and_(AgedDay.org_id == AgedPartySum.org_id, AgedDay.kind == AgedPartySum.kind))
            .where(AgedPartySum.org_id == org_id, AgedPartySum.kind == kind, AgedDay.as_of == as_of))
