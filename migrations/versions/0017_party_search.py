"""parties: party_search, the name search that row-level security lets use an index, kept by a trigger

Revision ID: 0017_party_search
Revises: 0016_sales_customer_index_ids
Create Date: 2026-12-02 14:00:00

The invoice list's search finds the documents of the customers whose name holds the text. It
compared every customer's lower-cased name (party.name_folded, 0014) with LIKE: a read of the whole
party table on every search (~0.9 ms for 2,000 customers, and growing with them), because under
row-level security PostgreSQL uses no index for LIKE (see catalog/search.py). `party_search` holds
every suffix of three characters or more of each party's lower-cased name, as sales_document_search
does for numbers: the names holding a text of three characters or more are those with a suffix
that starts with it, one range of the index `(org_id, token, party_id)` (collation "C").

A trigger keeps the rows, in the statement that writes the name (an INSERT, COPY, or an UPDATE of
the name), so no path that writes parties can forget them. `lower()` folds the names, as ILIKE does;
the search folds what was typed the same way, character by character (`parties.queries.name_range`).
PostgreSQL only: SQLite's list compares names with ILIKE.

name_folded stays for now: nothing in this code reads it, but an instance still running the code
before this revision does until it restarts; the next revision that changes the schema drops it.
"""
from alembic import op

from webapp.core import rls


# revision identifiers, used by Alembic.
revision = '0017_party_search'
down_revision = '0016_sales_customer_index_ids'
branch_labels = None
depends_on = None

#: Every suffix of 3+ characters of the lower-cased name (all distinct: they differ in length).
SUFFIXES = ("SELECT {org}, {id}, substr(lower({name}), i) "
            "FROM generate_series(1, length(lower({name})) - 2) AS i")

PG_FUNCTION = f"""
CREATE FUNCTION smepulse_party_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.name IS NOT DISTINCT FROM OLD.name THEN
            RETURN NULL;
        END IF;
        DELETE FROM party_search WHERE party_id = OLD.id;
    END IF;
    INSERT INTO party_search (org_id, party_id, token)
    {SUFFIXES.format(org='NEW.org_id', id='NEW.id', name='NEW.name')};
    RETURN NULL;
END
$$"""
PG_TRIGGER = ("CREATE TRIGGER party_search AFTER INSERT OR UPDATE OF name ON party "
              "FOR EACH ROW EXECUTE FUNCTION smepulse_party_search()")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE TABLE party_search (
            org_id bigint NOT NULL
                CONSTRAINT fk_party_search_org_id_organization REFERENCES organization (id) ON DELETE RESTRICT,
            party_id bigint NOT NULL
                CONSTRAINT fk_party_search_party_id_party REFERENCES party (id) ON DELETE CASCADE,
            token text COLLATE "C" NOT NULL,
            CONSTRAINT pk_party_search PRIMARY KEY (party_id, token)
        )""")
    op.execute("CREATE INDEX ix_party_search_token ON party_search (org_id, token, party_id)")
    rls.enable(op, 'party_search')
    op.execute(PG_FUNCTION)
    op.execute(PG_TRIGGER)
    _backfill()


def _backfill():
    backfill(op.get_bind())


def backfill(bind) -> None:
    """The rows of every existing party, one organization at a time (under row-level security the
    migration's role sees only the organization named in app.org_id)."""
    rows = SUFFIXES.format(org="p.org_id", id="p.id", name="p.name").replace("FROM generate_series",
                                                                              "FROM party p, generate_series")
    for (org_id,) in bind.exec_driver_sql("SELECT id FROM organization ORDER BY id").all():
        bind.exec_driver_sql("SELECT set_config('app.org_id', %s, true)", (str(org_id),))
        bind.exec_driver_sql(f"INSERT INTO party_search (org_id, party_id, token) {rows} WHERE p.org_id = %s",
                             (org_id,))
    bind.exec_driver_sql("SELECT set_config('app.org_id', '', true)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER party_search ON party")
    op.execute("DROP FUNCTION smepulse_party_search()")
    rls.disable(op, 'party_search')
    op.execute("DROP TABLE party_search")
