"""A savepoint around a service's writes: on any exception, nothing it did stays.

Services flush and never commit; the request commits once. A service whose
checks can only finish half-way through writing (stock running out on the
third line of a receipt) wraps its writes in `atomic()`, so that a refusal
leaves the session exactly as it found it, even for a caller that catches the
error and carries on.
"""
from __future__ import annotations

from contextlib import contextmanager

from webapp.extensions import db


@contextmanager
def atomic():
    with db.session.begin_nested():
        yield
