"""payments: default allocation policy; payment status and refund rules; indexes for aging

Revision ID: 0007_payments
Revises: 0005_purchases
Create Date: 2026-11-22 15:34:22.519898

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_payments'
down_revision = '0005_purchases'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_allocation_policy', sa.String(length=6), server_default='fifo',
                                      nullable=False))
        batch_op.create_check_constraint('allocation_policy',
                                         "default_allocation_policy IN ('fifo', 'lifo', 'due', 'manual')")
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unallocated_on', sa.Date(), nullable=True))
        batch_op.create_check_constraint('undone_with_a_day', "(unallocated_at IS NULL) = (unallocated_on IS NULL)")
        batch_op.create_check_constraint('undone_after_made', "unallocated_on IS NULL OR unallocated_on >= date")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_check_constraint('status', "status IN ('posted', 'cancelled')")
        batch_op.create_check_constraint('refund_not_allocated', "refund_of_id IS NULL OR allocated_amount = 0")


def downgrade():
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_constraint('refund_not_allocated', type_='check')
        batch_op.drop_constraint('status', type_='check')
    with op.batch_alter_table('allocation', schema=None) as batch_op:
        batch_op.drop_constraint('undone_after_made', type_='check')
        batch_op.drop_constraint('undone_with_a_day', type_='check')
        batch_op.drop_column('unallocated_on')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_constraint('allocation_policy', type_='check')
        batch_op.drop_column('default_allocation_policy')
