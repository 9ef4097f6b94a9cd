"""ledger: party_balance, each party's debits and credits per account, kept by triggers on journal_line

Revision ID: 0012_party_balance
Revises: 0011_aged_party_sum
Create Date: 2026-11-22 22:20:00

What a customer owes was the sum of all its receivables lines, read by every posting's credit check
(~12 ms for a customer with a long history). Journal lines are only ever inserted (0002 refuses
UPDATE and DELETE), so a trigger on INSERT keeps the sums: on PostgreSQL once per statement, from
its transition table (a posting's lines are one INSERT; COPY is one statement too); on SQLite per
row. The backfill adds up the lines there are, one organization at a time.
"""
from alembic import op
import sqlalchemy as sa

from webapp.core import rls
from webapp.core.money import ScaledDecimal


# revision identifiers, used by Alembic.
revision = '0012_party_balance'
down_revision = '0011_aged_party_sum'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# In a fixed order (account, party), so that two postings touching the same parties lock their rows
# in the same order.
PG_FUNCTION = """
CREATE FUNCTION smepulse_party_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO party_balance AS b (org_id, account_id, party_id, debit, credit)
    SELECT org_id, account_id, party_id, sum(debit), sum(credit) FROM new_lines
    WHERE party_id IS NOT NULL
    GROUP BY org_id, account_id, party_id
    ORDER BY org_id, account_id, party_id
    ON CONFLICT (org_id, account_id, party_id) DO UPDATE
        SET debit = b.debit + EXCLUDED.debit, credit = b.credit + EXCLUDED.credit;
    RETURN NULL;
END
$$"""
PG_TRIGGER = ("CREATE TRIGGER journal_line_party_balance AFTER INSERT ON journal_line "
              "REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION smepulse_party_balance()")
SQLITE_TRIGGER = """
CREATE TRIGGER journal_line_party_balance AFTER INSERT ON journal_line WHEN NEW.party_id IS NOT NULL
BEGIN
    INSERT INTO party_balance (org_id, account_id, party_id, debit, credit)
    VALUES (NEW.org_id, NEW.account_id, NEW.party_id, NEW.debit, NEW.credit)
    ON CONFLICT (org_id, account_id, party_id) DO UPDATE
        SET debit = party_balance.debit + excluded.debit, credit = party_balance.credit + excluded.credit;
END"""


def upgrade():
    op.create_table('party_balance',
    sa.Column('account_id', BIGINT, nullable=False),
    sa.Column('party_id', BIGINT, nullable=False),
    sa.Column('debit', ScaledDecimal(3, 18), nullable=False),
    sa.Column('credit', ScaledDecimal(3, 18), nullable=False),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_party_balance_account_id_account')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_party_balance_org_id_organization'),
                            ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('org_id', 'account_id', 'party_id', name=op.f('pk_party_balance'))
    )
    rls.enable(op, 'party_balance')
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    if postgres:
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    # The lines there are, one organization at a time (under row-level security the migration's
    # role sees only the organization named in app.org_id).
    for (org_id,) in bind.execute(sa.text('SELECT id FROM organization ORDER BY id')).all():
        if postgres:
            bind.execute(sa.text("SELECT set_config('app.org_id', :org, true)"), {'org': str(org_id)})
        bind.execute(sa.text(
            'INSERT INTO party_balance (org_id, account_id, party_id, debit, credit) '
            'SELECT org_id, account_id, party_id, sum(debit), sum(credit) FROM journal_line '
            'WHERE org_id = :org AND party_id IS NOT NULL GROUP BY org_id, account_id, party_id'), {'org': org_id})
    if postgres:
        bind.execute(sa.text("SELECT set_config('app.org_id', '', true)"))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS journal_line_party_balance ON journal_line')
        op.execute('DROP FUNCTION IF EXISTS smepulse_party_balance()')
    else:
        op.execute('DROP TRIGGER IF EXISTS journal_line_party_balance')
    rls.disable(op, 'party_balance')
    op.drop_table('party_balance')
