"""The permission table in docs/ and the migrations agree with the code."""
from pathlib import Path

import pytest

from webapp.core.permissions import markdown_table

ROOT = Path(__file__).resolve().parents[2]


def test_permissions_doc_is_generated_from_the_declaration():
    doc = ROOT / "docs" / "permissions.md"
    assert doc.exists(), "run: flask permissions-doc"
    assert doc.read_text() == markdown_table(), "docs/permissions.md is stale; run: flask permissions-doc"


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from webapp.core.schema import include_object
    from webapp.extensions import db
    with app.app_context(), db.engine.connect() as conn:
        mc = MigrationContext.configure(conn, opts={
            "compare_type": True, "render_as_batch": True, "include_object": include_object})
        diff = compare_metadata(mc, db.metadata)
    assert diff == [], f"models and migrations differ; run flask db migrate: {diff}"
