"""The permission table in docs/ and the migrations agree with the code."""
from pathlib import Path

from webapp.core.permissions import markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_permissions_doc_is_generated_from_the_declaration():
    doc = ROOT / "docs" / "permissions.md"
    assert doc.exists(), "run: flask permissions-doc"
    assert doc.read_text() == markdown_table(), "docs/permissions.md is stale; run: flask permissions-doc"


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from webapp.extensions import db
    with app.app_context(), db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        diff = compare_metadata(mc, db.metadata)
    assert diff == [], f"models and migrations differ; run flask db migrate: {diff}"
