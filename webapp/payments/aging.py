"""Aged balances kept per party, so that the aged report does not add up every open document.

The aged report of a day puts each party's open invoices (or bills) into five buckets by days past
due. Adding them up reads every open document (~50 ms for 100,000); for a past day it also reads
every allocation, refund and cancellation dated up to that day (~0.3 s). On PostgreSQL two kinds of
sums are kept instead:

**Today's** — `aged_party_sum` holds the five sums per party at the end of one day, the
organization's `aged_day`:

- *kept by the database*: triggers on sales_document and purchase_document (migration 0011) add
  every change of a posted document (posting, a payment or its undoing, a cancellation) to its
  party's row, in the same transaction, whatever code made the change;
- *rebuilt when the day changes*: the first report of a new day (or the daily overdue job) adds up
  the documents once for the new day (`refresh`), since documents move between buckets as days pass.

**Past days'** — `aged_snapshot` holds, for each day of `aged_snapshot_day`, each party's five
sums and its unallocated credit at the end of that day, exactly as the report adds them up:

- *built once*: the first report of a past day adds it up and keeps it (`snapshot`); the morning
  job builds the last month-end's. Month-ends stay; of the other days the `KEEP_DAYS` latest do;
- *kept true by the database*: triggers on the documents, allocations and payments (migration
  0013) add to every snapshot day on or after its date whatever changes later with an earlier
  date: a back-dated invoice, payment, refund or allocation, an allocation undone, a cancellation.

Locks keep the writers and the builders apart: every trigger holds the day (`FOR KEY SHARE` on the
`aged_day` row) until its transaction ends; `refresh` and `snapshot` take the row `FOR UPDATE`, so
they wait for every change in flight and the changes after them wait for them, and each sees the
other's work.

The sums are read only on PostgreSQL, for today or a past day; later days, and SQLite, add up the
documents (payments.queries). The tests compare the two after every operation.
"""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from psycopg.errors import LockNotAvailable
from sqlalchemy.exc import OperationalError

from webapp.core import readonly
from webapp.core.clock import today
from webapp.core.tenancy import current_org_id
from webapp.core.tx import atomic
from webapp.extensions import db, on_postgres
from webapp.payments.models import AgedDay, AgedPartySum, AgedSnapshot, AgedSnapshotDay

KINDS = ("customer", "supplier")


#: How long the first report of a day waits for the postings in flight before it adds up the
#: documents itself instead (they wait for the rebuild in turn, so it must not wait long).
WAIT = "2s"

#: Snapshots of days that are not month-ends kept per organization and kind: the latest ones.
KEEP_DAYS = 31


def ready(kind: str, as_of: date) -> bool:
    """Whether the aged report of `as_of` may read kept sums: on PostgreSQL, for today (after
    bringing today's sums to today if they are of another day) or a past day (after building its
    snapshot if there is none). A rebuild or a build is committed at once, in its own short
    transaction (a GET request reads in a read-only one, a reading job would roll it back:
    `core.readonly.writing`): call this before anything else is written."""
    if not on_postgres():
        return False
    current = today()
    if as_of > current:
        return False
    if as_of == current:
        day = db.session.scalar(sa.select(AgedDay.as_of).where(AgedDay.kind == kind))
        if day == as_of:
            return True
        build = refresh
    else:
        if db.session.scalar(sa.select(AgedSnapshotDay.day).where(AgedSnapshotDay.kind == kind,
                                                                  AgedSnapshotDay.day == as_of)):
            return True
        build = snapshot
    try:
        with readonly.writing():        # committed here (in a GET, its own read-write transaction)
            build(kind, as_of, wait=WAIT)
    except OperationalError as exc:
        if not isinstance(exc.orig, LockNotAvailable):
            raise
        return False          # postings in flight for too long: this report adds up the documents
    return True


def _hold(conn, org_id: int, kind: str, wait: str | None) -> date | None:
    """Lock the kind's aged day FOR UPDATE (made if missing): wait for the changes in flight (their
    triggers hold the row FOR KEY SHARE), then hold back new ones until this transaction ends.
    `wait`: give up after that long (a PostgreSQL interval such as "2s"). Returns its `as_of`."""
    conn.execute(sa.text("INSERT INTO aged_day (org_id, kind, as_of) VALUES (:org, :kind, NULL) "
                         "ON CONFLICT DO NOTHING"), {"org": org_id, "kind": kind})
    if wait:
        before = conn.execute(sa.text("SELECT current_setting('lock_timeout')")).scalar()
        conn.execute(sa.text("SELECT set_config('lock_timeout', :wait, true)"), {"wait": wait})
    held = conn.execute(sa.text("SELECT as_of FROM aged_day WHERE org_id = :org AND kind = :kind FOR UPDATE"),
                        {"org": org_id, "kind": kind}).scalar()
    if wait:
        conn.execute(sa.text("SELECT set_config('lock_timeout', :before, true)"), {"before": before})
    return held


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
    held = _hold(conn, org_id, kind, wait)
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


# ---------------------------------------------------------------- past days

def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def last_month_end(day: date) -> date:
    """The last day of the month before `day`'s."""
    return day.replace(day=1) - timedelta(days=1)


@atomic()
def snapshot(kind: str, day: date, *, wait: str | None = None, force: bool = False) -> bool:
    """Keep the kind's aged balances at the end of `day`, a past day, adding up the documents and
    payments of then (PostgreSQL only); from then on the triggers of migration 0013 keep them true.
    Returns whether it built them: not when they are kept already (unless `force`, which adds them
    up again). Drops the oldest snapshot beyond `KEEP_DAYS` days that are not month-ends. `wait`:
    as for `refresh`."""
    from webapp.payments.queries import BUCKETS, sums_added_up
    if kind not in KINDS:
        raise ValueError(kind)
    if not on_postgres():
        return False
    if day >= today():
        raise ValueError(f"{day} is not a past day: today's sums are kept by refresh")
    org_id = current_org_id()
    conn = db.session.connection()
    _hold(conn, org_id, kind, wait)
    days_t, snap_t = AgedSnapshotDay.__table__, AgedSnapshot.__table__
    kept = set(conn.execute(sa.select(days_t.c.day).where(days_t.c.org_id == org_id, days_t.c.kind == kind))
               .scalars())
    if day in kept and not force:
        return False
    # The latest days that are not month-ends stay, this one among them.
    others = sorted((d for d in kept if d != day and not is_month_end(d)), reverse=True)
    drop = others[KEEP_DAYS - (0 if is_month_end(day) else 1):] + ([day] if day in kept else [])
    if drop:
        conn.execute(sa.delete(snap_t).where(snap_t.c.org_id == org_id, snap_t.c.kind == kind,
                                             snap_t.c.day.in_(drop)))
        conn.execute(sa.delete(days_t).where(days_t.c.org_id == org_id, days_t.c.kind == kind,
                                             days_t.c.day.in_(drop)))
    s = sums_added_up(kind, day).subquery()
    amounts = [s.c[b] for b in (*BUCKETS, "unallocated")]
    written = conn.execute(snap_t.insert().from_select(
        ["org_id", "kind", "day", "party_id", *BUCKETS, "unallocated"],
        sa.select(sa.literal(org_id, sa.BigInteger), sa.literal(kind), sa.literal(day, sa.Date), s.c.party_id,
                  *amounts)
        .where(s.c.party_id.is_not(None), sa.or_(*(a != 0 for a in amounts))))).rowcount
    conn.execute(days_t.insert().values(org_id=org_id, kind=kind, day=day))
    # Statistics for the planner now, while the table's are of fewer rows than a day has (the first
    # snapshots): a day's report joins its thousands of rows to the parties, and with none
    # PostgreSQL expects one row and loops. Later, autovacuum keeps them.
    if conn.exec_driver_sql("SELECT reltuples FROM pg_class WHERE oid = 'aged_snapshot'::regclass").scalar() \
            < written:
        conn.exec_driver_sql("ANALYZE aged_snapshot")
    return True


def snapshot_sums(kind: str, as_of: date):
    """A past day's kept sums per party (buckets and unallocated credit), as the report's statement
    reads them: none unless the day is kept when the statement runs."""
    org_id = current_org_id()
    s, d = AgedSnapshot, AgedSnapshotDay
    # Asked once (an uncorrelated EXISTS), not joined to each of the day's rows.
    kept = sa.exists().where(d.org_id == org_id, d.kind == kind, d.day == as_of)
    return (sa.select(s.party_id, s.current, s.d1_30, s.d31_60, s.d61_90, s.over_90, s.unallocated)
            .where(s.org_id == org_id, s.kind == kind, s.day == as_of, kept))
