"""payments: aged_day and aged_party_sum, today's aged balances per party kept by triggers

Revision ID: 0011_aged_party_sum
Revises: 0010_sales_document_search
Create Date: 2026-11-22 22:30:00

On PostgreSQL, triggers on sales_document (invoices) and purchase_document (bills) add every change
of a posted document's outstanding amount, due date, date or party to its party's sums by age at the
end of the organization's `aged_day`. No backfill: the sums are built the first time a report needs
them (payments/aging.py). On SQLite the tables exist but stay empty (the report adds up the documents).
"""
from alembic import op
import sqlalchemy as sa

from webapp.core import rls
from webapp.core.money import ScaledDecimal


# revision identifiers, used by Alembic.
revision = '0011_aged_party_sum'
down_revision = '0010_sales_document_search'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
BUCKETS = ('current', 'd1_30', 'd31_60', 'd61_90', 'over_90')
#: (table, kind, document type, party column)
SOURCES = (('sales_document', 'customer', 'invoice', 'customer_id'),
           ('purchase_document', 'supplier', 'bill', 'supplier_id'))

# A document counts on the day when it is posted and dated on or before it, for its total less what
# has been paid, at its due date (its date when it has none): the same rule as payments.queries.aged.
# The sums are changed by statements written in the function itself (PL/pgSQL keeps their plans; a
# helper function in SQL would be planned again on every call).
TRIGGER_FUNCTION = """
CREATE FUNCTION smepulse_aged_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_org bigint;
    v_day date;
    o_amount numeric := 0;
    n_amount numeric := 0;
    v_age integer;
BEGIN
    IF TG_OP = 'DELETE' THEN v_org := OLD.org_id; ELSE v_org := NEW.org_id; END IF;
    -- Hold the day still until this transaction ends (bringing the sums to a new day waits).
    SELECT as_of INTO v_day FROM aged_day WHERE org_id = v_org AND kind = '{kind}' FOR KEY SHARE;
    IF NOT FOUND THEN
        INSERT INTO aged_day (org_id, kind, as_of) VALUES (v_org, '{kind}', NULL) ON CONFLICT DO NOTHING;
        SELECT as_of INTO v_day FROM aged_day WHERE org_id = v_org AND kind = '{kind}' FOR KEY SHARE;
    END IF;
    IF v_day IS NULL THEN
        RETURN NULL;     -- no sums kept yet: they are built from the documents when first needed
    END IF;
    IF TG_OP <> 'INSERT' AND OLD.doc_type = '{doc_type}' AND OLD.status = 'posted' AND OLD.date <= v_day
            AND OLD.{party} IS NOT NULL THEN
        o_amount := OLD.grand_total - OLD.amount_paid;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.doc_type = '{doc_type}' AND NEW.status = 'posted' AND NEW.date <= v_day
            AND NEW.{party} IS NOT NULL THEN
        n_amount := NEW.grand_total - NEW.amount_paid;
    END IF;
    IF o_amount <> 0 AND n_amount <> 0 AND OLD.{party} = NEW.{party}
            AND coalesce(OLD.due_date, OLD.date) = coalesce(NEW.due_date, NEW.date) THEN
        n_amount := n_amount - o_amount;      -- the usual case: a payment on the same document
        o_amount := 0;
    END IF;
    IF o_amount <> 0 THEN
        v_age := v_day - coalesce(OLD.due_date, OLD.date);
        {add_old}
    END IF;
    IF n_amount <> 0 THEN
        v_age := v_day - coalesce(NEW.due_date, NEW.date);
        {add_new}
    END IF;
    RETURN NULL;
END
$$"""

# Adds `amount` to the party's bucket for an age of v_age days past due.
ADD = """INSERT INTO aged_party_sum AS s (org_id, kind, party_id, current, d1_30, d31_60, d61_90, over_90)
        VALUES (v_org, '{kind}', {party},
                CASE WHEN v_age <= 0 THEN {amount} ELSE 0 END,
                CASE WHEN v_age BETWEEN 1 AND 30 THEN {amount} ELSE 0 END,
                CASE WHEN v_age BETWEEN 31 AND 60 THEN {amount} ELSE 0 END,
                CASE WHEN v_age BETWEEN 61 AND 90 THEN {amount} ELSE 0 END,
                CASE WHEN v_age > 90 THEN {amount} ELSE 0 END)
        ON CONFLICT (org_id, kind, party_id) DO UPDATE SET
            current = s.current + EXCLUDED.current, d1_30 = s.d1_30 + EXCLUDED.d1_30,
            d31_60 = s.d31_60 + EXCLUDED.d31_60, d61_90 = s.d61_90 + EXCLUDED.d61_90,
            over_90 = s.over_90 + EXCLUDED.over_90;"""


def upgrade():
    op.create_table('aged_day',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=True),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.CheckConstraint("kind IN ('customer', 'supplier')", name=op.f('ck_aged_day_kind')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_aged_day_org_id_organization'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('org_id', 'kind', name=op.f('pk_aged_day'))
    )
    op.create_table('aged_party_sum',
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('party_id', BIGINT, nullable=False),
    *(sa.Column(b, ScaledDecimal(3, 18), nullable=False) for b in BUCKETS),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.CheckConstraint("kind IN ('customer', 'supplier')", name=op.f('ck_aged_party_sum_kind')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_aged_party_sum_org_id_organization'),
                            ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['party_id'], ['party.id'], name=op.f('fk_aged_party_sum_party_id_party')),
    sa.PrimaryKeyConstraint('org_id', 'kind', 'party_id', name=op.f('pk_aged_party_sum'))
    )
    rls.enable(op, 'aged_day', 'aged_party_sum')
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, kind, doc_type, party in SOURCES:
        op.execute(TRIGGER_FUNCTION.format(
            table=table, kind=kind, doc_type=doc_type, party=party,
            add_old=ADD.format(kind=kind, party=f'OLD.{party}', amount='-o_amount'),
            add_new=ADD.format(kind=kind, party=f'NEW.{party}', amount='n_amount')))
        fn = f'smepulse_aged_{table}()'
        op.execute(f"CREATE TRIGGER {table}_aged_insert AFTER INSERT ON {table} FOR EACH ROW "
                   f"WHEN (NEW.status = 'posted' AND NEW.doc_type = '{doc_type}') EXECUTE FUNCTION {fn}")
        op.execute(f"CREATE TRIGGER {table}_aged_update AFTER UPDATE OF status, doc_type, date, due_date, {party}, "
                   f"grand_total, amount_paid ON {table} FOR EACH ROW "
                   f"WHEN ((OLD.status = 'posted' OR NEW.status = 'posted') "
                   f"AND (OLD.doc_type = '{doc_type}' OR NEW.doc_type = '{doc_type}')) EXECUTE FUNCTION {fn}")
        op.execute(f"CREATE TRIGGER {table}_aged_delete AFTER DELETE ON {table} FOR EACH ROW "
                   f"WHEN (OLD.status = 'posted' AND OLD.doc_type = '{doc_type}') EXECUTE FUNCTION {fn}")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table, *_ in SOURCES:
            for action in ('insert', 'update', 'delete'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_aged_{action} ON {table}')
            op.execute(f'DROP FUNCTION IF EXISTS smepulse_aged_{table}()')
    rls.disable(op, 'aged_day', 'aged_party_sum')
    op.drop_table('aged_party_sum')
    op.drop_table('aged_day')
