"""PostgreSQL row-level security for tenant-scoped tables (the second wall).

Each scoped table gets a policy that lets a session see and write only rows
whose `org_id` equals the transaction setting `app.org_id`, which
`core.tenancy` sets at the start of every transaction and whenever the
active organization changes. `FORCE` applies the policy to the table owner
too. Superusers and roles with BYPASSRLS are never subject to policies, so
the app must connect as an ordinary role (`.ci/run` and docker-compose do).
Called from migrations; a no-op on SQLite.
"""
from __future__ import annotations

POLICY = "tenant_isolation"
_EXPR = "org_id = nullif(current_setting('app.org_id', true), '')::bigint"


def enable(op, *tables: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY {POLICY} ON {table} USING ({_EXPR}) WITH CHECK ({_EXPR})")


def disable(op, *tables: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
