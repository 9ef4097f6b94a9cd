"""Where a journal entry came from: each domain registers a link to its documents."""
from __future__ import annotations

from typing import Callable

from flask import url_for

SOURCE_LINKS: dict[str, Callable[[int], str]] = {}
SOURCE_LABELS: dict[str, str] = {}


def source_link(source_type: str, label: str):
    def decorator(fn):
        SOURCE_LINKS[source_type] = fn
        SOURCE_LABELS[source_type] = label
        return fn
    return decorator


def source_url(entry) -> str | None:
    fn = SOURCE_LINKS.get(entry.source_type)
    return fn(entry.source_id) if fn and entry.source_id else None


def source_label(entry) -> str:
    return SOURCE_LABELS.get(entry.source_type, entry.source_type.replace("_", " ").capitalize())


@source_link("manual_journal", "Manual journal")
def _manual(source_id: int) -> str:
    return url_for("ledger.journal", journal_id=source_id)
