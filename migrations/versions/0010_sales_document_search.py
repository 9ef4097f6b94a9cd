"""sales: sales_document_search, the number and reference search that row-level security lets use an index

Revision ID: 0010_sales_document_search
Revises: 0009_product_search
Create Date: 2026-11-22 19:40:00

"""
from alembic import op
import sqlalchemy as sa

from webapp.core import rls


# revision identifiers, used by Alembic.
revision = '0010_sales_document_search'
down_revision = '0009_product_search'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('sales_document_search',
    sa.Column('document_id', BIGINT, nullable=False),
    sa.Column('token', sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql'),
              nullable=False),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_sales_document_search_org_id_organization'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['document_id'], ['sales_document.id'], name=op.f('fk_sales_document_search_document_id_sales_document'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('document_id', 'token', name=op.f('pk_sales_document_search'))
    )
    op.create_index('ix_sales_document_search_token', 'sales_document_search', ['org_id', 'token', 'document_id'],
                    unique=False)
    rls.enable(op, 'sales_document_search')
    _backfill()


def _backfill():
    """The search rows of every existing document, one organization at a time (under row-level
    security the migration's role sees only the organization named in app.org_id)."""
    from webapp.sales.search import tokens
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    table = sa.table('sales_document_search', sa.column('org_id'), sa.column('document_id'), sa.column('token'))
    for (org_id,) in bind.execute(sa.text('SELECT id FROM organization ORDER BY id')).all():
        if postgres:
            bind.execute(sa.text("SELECT set_config('app.org_id', :org, true)"), {'org': str(org_id)})
        docs = bind.execute(sa.text('SELECT id, number, reference FROM sales_document WHERE org_id = :org '
                                    'AND (number IS NOT NULL OR reference IS NOT NULL) ORDER BY id'),
                            {'org': org_id}).all()
        rows = []
        for doc_id, number, reference in docs:
            rows += [{'org_id': org_id, 'document_id': doc_id, 'token': token}
                     for token in sorted(tokens(number, reference))]
            if len(rows) >= 5000:
                bind.execute(table.insert(), rows)
                rows = []
        if rows:
            bind.execute(table.insert(), rows)
    if postgres:
        bind.execute(sa.text("SELECT set_config('app.org_id', '', true)"))


def downgrade():
    rls.disable(op, 'sales_document_search')
    op.drop_index('ix_sales_document_search_token', table_name='sales_document_search')
    op.drop_table('sales_document_search')
