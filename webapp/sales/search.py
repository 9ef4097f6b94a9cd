"""Finding quotes, orders and invoices by part of their number or reference, under row-level security.

The list's search used to compare every document of the organization with
`number ILIKE '%q%' OR reference ILIKE '%q%'` (~45 ms for 100,000 invoices):
under row-level security PostgreSQL uses no index for LIKE or ILIKE (see
`catalog/search.py`). `sales_document_search` holds every suffix of three
characters or more of each document's lower-cased number and reference: a text
of three characters or more is part of the number exactly when it starts one
of these suffixes. The tokens are compared byte by byte (collation "C"), so
the ones that start with the text are a single range of the index,
`token >= text AND token < upper(text)` (both comparisons leakproof, so the
range is read under row-level security), checked again with `starts_with`.

The rows are rewritten by an ORM event whenever a document is flushed with a
new number or reference (posting, a header edit, a conversion, a direct
assignment), in the same transaction; they go with the document (ON DELETE
CASCADE). The list uses them on PostgreSQL for a text of three characters or
more without a backslash (LIKE's escape character); otherwise, and on SQLite,
whose ILIKE folds only ASCII letters, it compares with ILIKE as before.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.catalog.search import fold, range_of

#: Texts shorter than this are compared with ILIKE.
MIN_LENGTH = 3


def tokens(*texts: str | None) -> set[str]:
    """The tokens of a document's number and reference: every suffix of 3+ characters, folded."""
    out = set()
    for text in texts:
        folded = fold(text or "")
        out.update(folded[i:] for i in range(len(folded) - MIN_LENGTH + 1))
    return out


def usable(text: str) -> bool:
    """Whether a (cleaned) search text can be looked up in the search rows."""
    return len(fold(text)) >= MIN_LENGTH and "\\" not in text and bounds(text)[1] is not None


def bounds(text: str) -> tuple[str, str | None]:
    """The range of tokens that start with the folded text: [prefix, upper); upper is the prefix
    with its last character made the next one (None when there is no next one)."""
    return range_of(fold(text))


def rows_for(doc) -> list[dict]:
    return [{"org_id": doc.org_id, "document_id": doc.id, "token": token}
            for token in sorted(tokens(doc.number, doc.reference))]


def _changed(session: Session):
    from webapp.sales.models import SalesDocument
    for obj in session.new:
        if type(obj) is SalesDocument and (obj.number or obj.reference):
            yield obj, False
    for obj in session.dirty:
        if type(obj) is SalesDocument:
            attrs = sa.inspect(obj).attrs
            number, reference = attrs.number.history, attrs.reference.history
            if number.has_changes() or reference.has_changes():
                yield obj, bool(_before(number) or _before(reference))


def _before(history):
    """An attribute's value before this flush; True when it is not known (not loaded)."""
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return True


def _pipelined(pipe, obj, keys) -> None:
    """A document's number or reference written in a pipeline (`core.pipeline.queue_updates`)."""
    from webapp.sales.models import SalesDocument
    if type(obj) is SalesDocument and ("number" in keys or "reference" in keys):
        queue_rows(pipe, obj)


def install() -> None:
    """Keep the search rows with the documents: once per process."""
    if getattr(install, "done", False):
        return
    install.done = True
    from webapp.core.pipeline import UPDATE_HOOKS
    UPDATE_HOOKS.append(_pipelined)

    @event.listens_for(Session, "after_flush")
    def _reindex(session, flush_context):
        changed = list(_changed(session))
        if not changed:
            return
        from webapp.sales.models import SalesDocumentSearch
        table = SalesDocumentSearch.__table__
        conn = session.connection()
        stale = [doc.id for doc, had in changed if had]
        if stale:
            conn.execute(sa.delete(table).where(table.c.document_id.in_(stale)))
        rows = [row for doc, _ in changed for row in rows_for(doc)]
        if not rows:
            return
        if conn.dialect.name == "postgresql":      # one statement, not one execution per row
            conn.execute(_INSERT_PG, {"org_ids": [r["org_id"] for r in rows],
                                      "document_ids": [r["document_id"] for r in rows],
                                      "tokens": [r["token"] for r in rows]})
        else:
            conn.execute(sa.insert(table), rows)


_INSERT_PG = sa.text(
    "INSERT INTO sales_document_search (org_id, document_id, token) "
    "SELECT * FROM unnest(CAST(:org_ids AS bigint[]), CAST(:document_ids AS bigint[]), CAST(:tokens AS text[]))")


_DELETE_PG = sa.text("DELETE FROM sales_document_search WHERE org_id = :org_id AND document_id = :document_id")


def queue_rows(pipe, doc) -> None:
    """A document's search rows rewritten in a pipeline (PostgreSQL), for a change written there
    rather than flushed (the ORM event does it for flushes)."""
    rows = rows_for(doc)
    pipe.add(_DELETE_PG, {"org_id": doc.org_id, "document_id": doc.id}, returns=False)
    if rows:
        pipe.add(_INSERT_PG, {"org_ids": [r["org_id"] for r in rows], "document_ids": [r["document_id"] for r in rows],
                              "tokens": [r["token"] for r in rows]}, returns=False)
