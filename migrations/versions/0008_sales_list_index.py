"""indexes for the invoice list filtered by status, and for aged receivables and payables

Revision ID: 0008_sales_list_index
Revises: 0007_payments
Create Date: 2026-11-22 16:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_sales_list_index'
down_revision = '0007_payments'
branch_labels = None
depends_on = None

OPEN = "status = 'posted' AND payment_status <> 'paid'"
CREDIT_LEFT = "status = 'posted' AND refund_of_id IS NULL AND allocated_amount + refunded_amount < amount"


def upgrade():
    # The invoice list by status, newest first: status, payment status, then date and id in the list's
    # order, the due date beside (PostgreSQL reads the "unpaid"/"overdue" pages from the index alone;
    # SQLite ignores INCLUDE).
    op.create_index('ix_sales_document_status_date', 'sales_document',
                    ['org_id', 'doc_type', 'status', 'payment_status', 'date', 'id'], unique=False,
                    postgresql_include=['due_date'])
    # Open documents by party and due date, with the amounts beside: aging reads only these.
    op.create_index('ix_sales_document_open', 'sales_document', ['org_id', 'doc_type', 'customer_id', 'due_date'],
                    unique=False, postgresql_include=['date', 'grand_total', 'amount_paid'],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index('ix_purchase_document_open', 'purchase_document',
                    ['org_id', 'doc_type', 'supplier_id', 'due_date'], unique=False,
                    postgresql_include=['date', 'grand_total', 'amount_paid'],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    # Payments with credit left on them.
    op.create_index('ix_payment_credit', 'payment', ['org_id', 'direction', 'party_id'], unique=False,
                    postgresql_include=['date', 'amount', 'allocated_amount', 'refunded_amount'],
                    postgresql_where=sa.text(CREDIT_LEFT), sqlite_where=sa.text(CREDIT_LEFT))


def downgrade():
    op.drop_index('ix_payment_credit', table_name='payment')
    op.drop_index('ix_purchase_document_open', table_name='purchase_document')
    op.drop_index('ix_sales_document_open', table_name='sales_document')
    op.drop_index('ix_sales_document_status_date', table_name='sales_document')
