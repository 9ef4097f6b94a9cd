"""What of the database the models do not describe, on purpose (for Alembic's comparisons).

- PostgreSQL-only search indexes (`*_trgm`), which live in the migrations;
- PostgreSQL-only generated columns never mapped: `party.name_folded` (migration 0014; read by
  no code since 0017, dropped by the next revision that changes the schema);
- PostgreSQL-only tables the app reads in SQL but never maps, kept by triggers:
  `party_search` (migration 0017).
"""
from __future__ import annotations

GENERATED_COLUMNS = {("party", "name_folded")}
UNMAPPED_TABLES = {"party_search"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    if type_ == "index" and name and name.endswith("_trgm"):
        return False
    if type_ == "column" and reflected and compare_to is None \
            and (getattr(obj.table, "name", None), name) in GENERATED_COLUMNS:
        return False
    if type_ == "table" and reflected and compare_to is None and name in UNMAPPED_TABLES:
        return False
    return True
