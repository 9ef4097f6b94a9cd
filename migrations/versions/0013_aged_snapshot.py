"""payments: aged_snapshot_day and aged_snapshot, the aged balances of past days kept by triggers

Revision ID: 0013_aged_snapshot
Revises: 0012_party_balance
Create Date: 2026-11-23 10:00:00

The aged report of a past day added up every document open that day and the allocations dated up
to it (~0.3 s for 100,000 open invoices). On PostgreSQL, `aged_snapshot` holds, for the days in
`aged_snapshot_day`, each party's five buckets and its unallocated credit at the end of that day,
exactly as the report adds them up (payments/aging.py builds a day the first time a report asks for
it). Triggers keep every snapshot day true when something dated on or before it changes later: a
back-dated invoice, bill, payment, refund, allocation, undone allocation or cancellation.

Each trigger adds the change of its row's contribution to each snapshot day from that row's date
on: the contribution after the change less the one before, worked out with the same rules as
payments.queries (a document counts from its date until the day of its cancellation, for its total
less the allocations dated by then and not undone by then, in the bucket of its due date; a payment
counts from its date until its reversal, for its amount less what was allocated and refunded by
then). Before touching the sums a trigger holds the organization's `aged_day` row FOR KEY SHARE
until its transaction ends; building a snapshot day takes it FOR UPDATE (as 0011's rebuild does),
so a build never misses a change in flight and a change never misses a day being built.

Also a partial index on payment(refund_of_id): a payment's refunds (its page; the triggers).
On SQLite the tables exist but stay empty (the report adds up the documents).
"""
from alembic import op
import sqlalchemy as sa

from webapp.core import rls
from webapp.core.money import ScaledDecimal


# revision identifiers, used by Alembic.
revision = '0013_aged_snapshot'
down_revision = '0012_party_balance'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
BUCKETS = ('current', 'd1_30', 'd31_60', 'd61_90', 'over_90')
#: (table, kind, document type, party column, allocation column)
SOURCES = (('sales_document', 'customer', 'invoice', 'customer_id', 'invoice_id'),
           ('purchase_document', 'supplier', 'bill', 'supplier_id', 'bill_id'))

# Hold the organization's aged day of a kind until the transaction ends (created if missing), as
# 0011's triggers do: building a snapshot day waits for the changes in flight, later ones for it.
HOLD = """
    PERFORM 1 FROM aged_day WHERE org_id = {org} AND kind = {kind} FOR KEY SHARE;
    IF NOT FOUND THEN
        INSERT INTO aged_day (org_id, kind, as_of) VALUES ({org}, {kind}, NULL) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM aged_day WHERE org_id = {org} AND kind = {kind} FOR KEY SHARE;
    END IF;"""

# Add the rows of x (kind, day, party_id, amount at an age of `age` days past due, unallocated
# credit) to the snapshot days' sums.
UPSERT = """
    INSERT INTO aged_snapshot AS s (org_id, kind, day, party_id, current, d1_30, d31_60, d61_90, over_90,
                                    unallocated)
    SELECT {org}, x.kind, x.day, x.party_id,
           coalesce(sum(x.amount) FILTER (WHERE x.age <= 0), 0),
           coalesce(sum(x.amount) FILTER (WHERE x.age BETWEEN 1 AND 30), 0),
           coalesce(sum(x.amount) FILTER (WHERE x.age BETWEEN 31 AND 60), 0),
           coalesce(sum(x.amount) FILTER (WHERE x.age BETWEEN 61 AND 90), 0),
           coalesce(sum(x.amount) FILTER (WHERE x.age > 90), 0),
           coalesce(sum(x.credit), 0)
    FROM ({rows}) AS x
    GROUP BY x.kind, x.day, x.party_id
    ORDER BY x.kind, x.day, x.party_id
    ON CONFLICT (org_id, kind, day, party_id) DO UPDATE SET
        current = s.current + EXCLUDED.current, d1_30 = s.d1_30 + EXCLUDED.d1_30,
        d31_60 = s.d31_60 + EXCLUDED.d31_60, d61_90 = s.d61_90 + EXCLUDED.d61_90,
        over_90 = s.over_90 + EXCLUDED.over_90, unallocated = s.unallocated + EXCLUDED.unallocated;"""

# A document's contribution to each snapshot day (R is OLD or NEW, `sign` -1 or 1): from its date,
# while it is posted (or cancelled after the day), its total less the allocations of that day.
DOC_ROWS = """
        SELECT '{kind}'::varchar AS kind, d.day, R.{party} AS party_id,
               ({sign}) * (R.grand_total - coalesce((
                   SELECT sum(a.amount) FROM allocation a
                   WHERE a.org_id = v_org AND a.{alloc} = R.id AND a.date <= d.day
                     AND (a.unallocated_on IS NULL OR a.unallocated_on > d.day)), 0)) AS amount,
               d.day - coalesce(R.due_date, R.date) AS age, 0::numeric AS credit
        FROM aged_snapshot_day d
        WHERE d.org_id = v_org AND d.kind = '{kind}' AND d.day >= R.date
          AND R.doc_type = '{doc_type}' AND R.{party} IS NOT NULL
          AND (R.status = 'posted' OR (R.status = 'cancelled' AND v_cancel > d.day))"""

DOC_FUNCTION = """
CREATE FUNCTION smepulse_aged_snapshot_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_org bigint;
    v_from date;
    v_cancel date;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_org := OLD.org_id; v_from := OLD.date;
    ELSIF TG_OP = 'INSERT' THEN
        v_org := NEW.org_id; v_from := NEW.date;
    ELSE
        v_org := NEW.org_id; v_from := least(OLD.date, NEW.date);
    END IF;
    {hold}
    IF NOT EXISTS (SELECT 1 FROM aged_snapshot_day WHERE org_id = v_org AND kind = '{kind}' AND day >= v_from) THEN
        RETURN NULL;      -- no snapshot of a day this change reaches
    END IF;
    IF TG_OP <> 'INSERT' THEN
        v_cancel := (SELECT date FROM journal_entry WHERE id = OLD.cancel_entry_id);
        {upsert_old}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_cancel := (SELECT date FROM journal_entry WHERE id = NEW.cancel_entry_id);
        {upsert_new}
    END IF;
    RETURN NULL;
END
$$"""

# An allocation's contribution (statement level; `ch` holds the changed rows with a sign): from its
# date, while not undone, it takes its amount off its document's bucket (while the document counts)
# and off its payment's unallocated credit (while the payment counts).
ALLOCATION_ROWS = """
        SELECT '{kind}'::varchar AS kind, d.day, doc.{party} AS party_id, -ch.sign * ch.amount AS amount,
               d.day - coalesce(doc.due_date, doc.date) AS age, 0::numeric AS credit
        FROM ch JOIN {table} doc ON doc.id = ch.{alloc}
        LEFT JOIN journal_entry ce ON ce.id = doc.cancel_entry_id
        JOIN aged_snapshot_day d ON d.org_id = v_org AND d.kind = '{kind}' AND d.day >= ch.date
        WHERE (ch.unallocated_on IS NULL OR ch.unallocated_on > d.day)
          AND doc.doc_type = '{doc_type}' AND doc.{party} IS NOT NULL AND doc.date <= d.day
          AND (doc.status = 'posted' OR (doc.status = 'cancelled' AND ce.date > d.day))"""
ALLOCATION_CREDIT_ROWS = """
        SELECT d.kind, d.day, p.party_id, 0::numeric AS amount, NULL::integer AS age, -ch.sign * ch.amount AS credit
        FROM ch JOIN payment p ON p.id = ch.payment_id
        LEFT JOIN journal_entry pr ON pr.reversal_of_id = p.entry_id
        JOIN aged_snapshot_day d ON d.org_id = v_org
             AND d.kind = CASE p.direction WHEN 'in' THEN 'customer' ELSE 'supplier' END AND d.day >= ch.date
        WHERE (ch.unallocated_on IS NULL OR ch.unallocated_on > d.day)
          AND p.refund_of_id IS NULL AND p.date <= d.day AND (p.status = 'posted' OR pr.date > d.day)"""
ALLOCATION_CHANGES = {
    'INSERT': "SELECT 1 AS sign, n.org_id, n.payment_id, n.invoice_id, n.bill_id, n.amount, n.date, "
              "n.unallocated_on FROM new_rows n",
    'DELETE': "SELECT -1 AS sign, o.org_id, o.payment_id, o.invoice_id, o.bill_id, o.amount, o.date, "
              "o.unallocated_on FROM old_rows o",
}
ALLOCATION_CHANGES['UPDATE'] = ALLOCATION_CHANGES['INSERT'] + " UNION ALL " + ALLOCATION_CHANGES['DELETE']
ALLOCATION_BRANCH = """
        SELECT min(org_id), min(date), bool_or(invoice_id IS NOT NULL), bool_or(bill_id IS NOT NULL)
        INTO v_org, v_from, v_invoices, v_bills FROM ({changes}) c;
        IF v_org IS NULL THEN
            RETURN NULL;
        END IF;
        IF v_invoices THEN {hold_customer}
        END IF;
        IF v_bills THEN {hold_supplier}
        END IF;
        IF EXISTS (SELECT 1 FROM aged_snapshot_day WHERE org_id = v_org AND day >= v_from) THEN
            WITH ch AS ({changes}) {upsert}
        END IF;"""
ALLOCATION_FUNCTION = """
CREATE FUNCTION smepulse_aged_snapshot_allocation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_org bigint;
    v_from date;
    v_invoices boolean;
    v_bills boolean;
BEGIN
    IF TG_OP = 'INSERT' THEN {insert}
    ELSIF TG_OP = 'UPDATE' THEN {update}
    ELSE {delete}
    END IF;
    RETURN NULL;
END
$$"""

# A payment's contribution (R is OLD or NEW): a payment, from its date until its reversal, adds its
# amount less what was allocated and refunded by each day to its party's unallocated credit; a
# refund, from its date until its reversal, takes its amount off the credit of the payment it
# refunded (while that one counts).
PAYMENT_ROWS = """
        SELECT d.kind, d.day, R.party_id, 0::numeric AS amount, NULL::integer AS age,
               ({sign}) * (R.amount
                 - coalesce((SELECT sum(a.amount) FROM allocation a
                             WHERE a.org_id = v_org AND a.payment_id = R.id AND a.date <= d.day
                               AND (a.unallocated_on IS NULL OR a.unallocated_on > d.day)), 0)
                 - coalesce((SELECT sum(r.amount) FROM payment r
                             LEFT JOIN journal_entry rr ON rr.reversal_of_id = r.entry_id
                             WHERE r.org_id = v_org AND r.refund_of_id = R.id AND r.date <= d.day
                               AND (r.status = 'posted' OR rr.date > d.day)), 0)) AS credit
        FROM aged_snapshot_day d
        WHERE R.refund_of_id IS NULL AND d.org_id = v_org
          AND d.kind = CASE R.direction WHEN 'in' THEN 'customer' ELSE 'supplier' END
          AND d.day >= R.date AND (R.status = 'posted' OR v_reversed > d.day)
        UNION ALL
        SELECT d.kind, d.day, o.party_id, 0::numeric, NULL::integer, -({sign}) * R.amount
        FROM payment o
        LEFT JOIN journal_entry orv ON orv.reversal_of_id = o.entry_id
        JOIN aged_snapshot_day d ON d.org_id = v_org
             AND d.kind = CASE o.direction WHEN 'in' THEN 'customer' ELSE 'supplier' END
             AND d.day >= R.date AND d.day >= o.date
        WHERE o.id = R.refund_of_id AND o.refund_of_id IS NULL
          AND (R.status = 'posted' OR v_reversed > d.day) AND (o.status = 'posted' OR orv.date > d.day)"""
PAYMENT_FUNCTION = """
CREATE FUNCTION smepulse_aged_snapshot_payment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_org bigint;
    v_from date;
    v_kind varchar;
    v_reversed date;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_org := OLD.org_id; v_from := OLD.date;
        v_kind := CASE WHEN (OLD.direction = 'in') = (OLD.refund_of_id IS NULL) THEN 'customer' ELSE 'supplier' END;
    ELSE
        v_org := NEW.org_id; v_from := NEW.date;
        v_kind := CASE WHEN (NEW.direction = 'in') = (NEW.refund_of_id IS NULL) THEN 'customer' ELSE 'supplier' END;
        IF TG_OP = 'UPDATE' THEN
            v_from := least(OLD.date, NEW.date);
        END IF;
    END IF;
    {hold}
    IF TG_OP = 'UPDATE' AND ((OLD.direction = 'in') = (OLD.refund_of_id IS NULL)) <>
                             ((NEW.direction = 'in') = (NEW.refund_of_id IS NULL)) THEN
        {hold_other}
    END IF;
    IF NOT EXISTS (SELECT 1 FROM aged_snapshot_day WHERE org_id = v_org AND day >= v_from) THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        v_reversed := (SELECT date FROM journal_entry WHERE reversal_of_id = OLD.entry_id);
        {upsert_old}
    END IF;
    IF TG_OP <> 'DELETE' THEN
        v_reversed := (SELECT date FROM journal_entry WHERE reversal_of_id = NEW.entry_id);
        {upsert_new}
    END IF;
    RETURN NULL;
END
$$"""

#: What makes a document's or a payment's contribution change (its amount paid, allocated or
#: refunded follows from allocations and refunds, which have triggers of their own).
DOC_COLUMNS = ('status', 'doc_type', 'date', 'due_date', '{party}', 'grand_total', 'cancel_entry_id')
PAYMENT_COLUMNS = ('status', 'direction', 'date', 'party_id', 'amount', 'refund_of_id', 'entry_id')


def _doc_function(table, kind, doc_type, party, alloc):
    def upsert(record, sign):
        rows = DOC_ROWS.format(kind=kind, party=party, alloc=alloc, doc_type=doc_type, sign=sign)
        return UPSERT.format(org='v_org', rows=rows.replace('R.', f'{record}.'))
    return DOC_FUNCTION.format(table=table, kind=kind, hold=HOLD.format(org='v_org', kind=f"'{kind}'"),
                               upsert_old=upsert('OLD', -1), upsert_new=upsert('NEW', 1))


def _allocation_function():
    rows = ' UNION ALL '.join([ALLOCATION_ROWS.format(table=t, kind=k, doc_type=dt, party=p, alloc=a)
                               for t, k, dt, p, a in SOURCES] + [ALLOCATION_CREDIT_ROWS])
    branches = {op_: ALLOCATION_BRANCH.format(changes=changes, upsert=UPSERT.format(org='v_org', rows=rows),
                                              hold_customer=HOLD.format(org='v_org', kind="'customer'"),
                                              hold_supplier=HOLD.format(org='v_org', kind="'supplier'"))
                for op_, changes in ALLOCATION_CHANGES.items()}
    return ALLOCATION_FUNCTION.format(insert=branches['INSERT'], update=branches['UPDATE'],
                                      delete=branches['DELETE'])


def _payment_function():
    def upsert(record, sign):
        return UPSERT.format(org='v_org', rows=PAYMENT_ROWS.format(sign=sign).replace('R.', f'{record}.'))
    return PAYMENT_FUNCTION.format(
        hold=HOLD.format(org='v_org', kind='v_kind'),
        hold_other=HOLD.format(org='v_org', kind="CASE v_kind WHEN 'customer' THEN 'supplier' ELSE 'customer' END"),
        upsert_old=upsert('OLD', -1), upsert_new=upsert('NEW', 1))


def _changed(columns) -> str:
    return (f"(({', '.join('OLD.' + c for c in columns)}) IS DISTINCT FROM "
            f"({', '.join('NEW.' + c for c in columns)}))")


def upgrade():
    op.create_table('aged_snapshot_day',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.CheckConstraint("kind IN ('customer', 'supplier')", name=op.f('ck_aged_snapshot_day_kind')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_aged_snapshot_day_org_id_organization'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('org_id', 'kind', 'day', name=op.f('pk_aged_snapshot_day'))
    )
    op.create_table('aged_snapshot',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('party_id', BIGINT, nullable=False),
    *(sa.Column(b, ScaledDecimal(3, 18), nullable=False) for b in BUCKETS),
    sa.Column('unallocated', ScaledDecimal(3, 18), nullable=False),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.CheckConstraint("kind IN ('customer', 'supplier')", name=op.f('ck_aged_snapshot_kind')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_aged_snapshot_org_id_organization'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_aged_snapshot_party_id_party')),
    sa.PrimaryKeyConstraint('org_id', 'kind', 'day', 'party_id', name=op.f('pk_aged_snapshot'))
    )
    rls.enable(op, 'aged_snapshot_day', 'aged_snapshot')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_refund_of', ['org_id', 'refund_of_id'], unique=False,
                              postgresql_where=sa.text('refund_of_id IS NOT NULL'),
                              sqlite_where=sa.text('refund_of_id IS NOT NULL'))
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, kind, doc_type, party, alloc in SOURCES:
        op.execute(_doc_function(table, kind, doc_type, party, alloc))
        fn = f'smepulse_aged_snapshot_{table}()'
        columns = [c.format(party=party) for c in DOC_COLUMNS]
        counted = "('posted', 'cancelled')"
        op.execute(f"CREATE TRIGGER {table}_aged_snapshot_insert AFTER INSERT ON {table} FOR EACH ROW "
                   f"WHEN (NEW.status IN {counted} AND NEW.doc_type = '{doc_type}') EXECUTE FUNCTION {fn}")
        op.execute(f"CREATE TRIGGER {table}_aged_snapshot_update AFTER UPDATE OF {', '.join(columns)} ON {table} "
                   f"FOR EACH ROW WHEN ((OLD.status IN {counted} OR NEW.status IN {counted}) "
                   f"AND (OLD.doc_type = '{doc_type}' OR NEW.doc_type = '{doc_type}') AND {_changed(columns)}) "
                   f"EXECUTE FUNCTION {fn}")
        op.execute(f"CREATE TRIGGER {table}_aged_snapshot_delete AFTER DELETE ON {table} FOR EACH ROW "
                   f"WHEN (OLD.status IN {counted} AND OLD.doc_type = '{doc_type}') EXECUTE FUNCTION {fn}")
    op.execute(_allocation_function())
    fn = 'smepulse_aged_snapshot_allocation()'
    op.execute("CREATE TRIGGER allocation_aged_snapshot_insert AFTER INSERT ON allocation "
               f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}")
    op.execute("CREATE TRIGGER allocation_aged_snapshot_update AFTER UPDATE ON allocation "
               f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}")
    op.execute("CREATE TRIGGER allocation_aged_snapshot_delete AFTER DELETE ON allocation "
               f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {fn}")
    op.execute(_payment_function())
    fn = 'smepulse_aged_snapshot_payment()'
    op.execute(f"CREATE TRIGGER payment_aged_snapshot_insert AFTER INSERT ON payment FOR EACH ROW "
               f"EXECUTE FUNCTION {fn}")
    op.execute(f"CREATE TRIGGER payment_aged_snapshot_update AFTER UPDATE OF {', '.join(PAYMENT_COLUMNS)} "
               f"ON payment FOR EACH ROW WHEN ({_changed(PAYMENT_COLUMNS)}) EXECUTE FUNCTION {fn}")
    op.execute(f"CREATE TRIGGER payment_aged_snapshot_delete AFTER DELETE ON payment FOR EACH ROW "
               f"EXECUTE FUNCTION {fn}")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('sales_document', 'purchase_document', 'allocation', 'payment'):
            for action in ('insert', 'update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_aged_snapshot_{action} ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS smepulse_aged_snapshot_{table}()')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_refund_of')
    rls.disable(op, 'aged_snapshot_day', 'aged_snapshot')
    op.drop_table('aged_snapshot')
    op.drop_table('aged_snapshot_day')
