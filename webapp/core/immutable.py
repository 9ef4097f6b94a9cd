"""Database triggers that refuse UPDATE and DELETE on append-only tables.

Posted journal entries and lines (and later stock moves) are never changed:
the services refuse, the ORM refuses (a before-flush check), and these
triggers refuse even raw SQL. Installed from migrations on both databases.
TRUNCATE (used only by the test suite to empty tables) is not a row
operation and is not affected.
"""
from __future__ import annotations


def protect(op, *tables: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""
            CREATE OR REPLACE FUNCTION smepulse_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% rows are immutable: post a reversal instead', TG_TABLE_NAME
                    USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql""")
        for table in tables:
            op.execute(f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION smepulse_refuse_change()")
    elif dialect == "sqlite":
        for table in tables:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} rows are immutable: post a reversal instead'); END")


def unprotect(op, *tables: str) -> None:
    dialect = op.get_bind().dialect.name
    for table in tables:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
