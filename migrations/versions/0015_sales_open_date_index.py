"""sales: ix_sales_document_open_date, open invoices newest first with their due dates

Revision ID: 0015_sales_open_date_index
Revises: 0014_party_name_folded
Create Date: 2026-12-02 09:30:00

The overdue list (posted, not paid, due before today, newest first) walked the list index and read
each invoice's row to test it: ~2,000 pages for a page of 50 among 100,000 invoices (1.5 ms). This
partial index holds the open invoices alone, by date, with the due date beside: the page is read
from the index (~125 pages, 0.3 ms).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_sales_open_date_index'
down_revision = '0014_party_name_folded'
branch_labels = None
depends_on = None

OPEN = "status = 'posted' AND payment_status <> 'paid'"


def upgrade():
    with op.batch_alter_table('sales_document', schema=None) as batch_op:
        batch_op.create_index('ix_sales_document_open_date', ['org_id', 'doc_type', 'date', 'id'], unique=False,
                              postgresql_include=['due_date'], postgresql_where=sa.text(OPEN),
                              sqlite_where=sa.text(OPEN))


def downgrade():
    with op.batch_alter_table('sales_document', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_document_open_date', postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
