"""catalog: product_search, the name search that row-level security lets use an index

Revision ID: 0009_product_search
Revises: 0008_sales_list_index
Create Date: 2026-11-22 17:10:00

"""
from alembic import op
import sqlalchemy as sa

from webapp.core import rls


# revision identifiers, used by Alembic.
revision = '0009_product_search'
down_revision = '0008_sales_list_index'
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('product_search',
    sa.Column('product_id', BIGINT, nullable=False),
    sa.Column('token', sa.String(length=201), nullable=False),
    sa.Column('key', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('org_id', BIGINT, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_product_search_org_id_organization'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], name=op.f('fk_product_search_product_id_product')),
    sa.PrimaryKeyConstraint('product_id', 'token', name=op.f('pk_product_search'))
    )
    op.create_index('ix_product_search_key', 'product_search', ['org_id', 'key', 'name', 'product_id'],
                    unique=False, postgresql_include=['token', 'active'])
    rls.enable(op, 'product_search')
    _backfill()


def _backfill():
    """The search rows of every existing product, one organization at a time (under row-level
    security the migration's role sees only the organization named in app.org_id)."""
    from webapp.catalog.search import tokens
    bind = op.get_bind()
    postgres = bind.dialect.name == 'postgresql'
    table = sa.table('product_search', sa.column('org_id'), sa.column('product_id'), sa.column('token'),
                     sa.column('key'), sa.column('name'), sa.column('active'))
    for (org_id,) in bind.execute(sa.text('SELECT id FROM organization ORDER BY id')).all():
        if postgres:
            bind.execute(sa.text("SELECT set_config('app.org_id', :org, true)"), {'org': str(org_id)})
        products = bind.execute(sa.text('SELECT id, name, active FROM product WHERE org_id = :org ORDER BY id'),
                                {'org': org_id}).all()
        rows = [{'org_id': org_id, 'product_id': pid, 'token': token, 'key': key, 'name': name,
                 'active': bool(active)}
                for pid, name, active in products for key, token in sorted(tokens(name))]
        for i in range(0, len(rows), 5000):
            bind.execute(table.insert(), rows[i:i + 5000])
    if postgres:
        bind.execute(sa.text("SELECT set_config('app.org_id', '', true)"))


def downgrade():
    rls.disable(op, 'product_search')
    op.drop_index('ix_product_search_key', table_name='product_search', postgresql_include=['token', 'active'])
    op.drop_table('product_search')
