"""A savepoint around a service's writes: on any exception, nothing it did stays.

Services flush and never commit; the request commits once. A service whose
checks can only finish half-way through writing (stock running out on the
third line of a receipt) wraps its writes in `atomic()`, so that a refusal
leaves the session exactly as it found it, even for a caller that catches the
error and carries on.

Only the outermost `atomic()` of a session makes a savepoint: an inner one
(posting an invoice inside a counter sale, the stock movements inside a
posting) is already covered by it, since an exception that leaves the inner
block leaves the outer one too and rolls both back. That saves two round trips
per level. Code that catches an exception *inside* an `atomic()` block and
carries on (rather than letting it out) needs its own savepoint:
`atomic(savepoint=True)` (see `payments.services.record_payment`).
"""
from __future__ import annotations

from contextlib import contextmanager

from webapp.extensions import db

_DEPTH = "smepulse_atomic_depth"


@contextmanager
def atomic(*, savepoint: bool = False):
    """`savepoint=True`: a savepoint even inside another atomic() (for a caller that catches an
    error raised inside and carries on in the same transaction)."""
    session = db.session()
    info = session.info
    if info.get(_DEPTH) and session.in_nested_transaction() and not savepoint:
        info[_DEPTH] += 1
        try:
            yield
        finally:
            info[_DEPTH] -= 1
        return
    with session.begin_nested():
        outer, info[_DEPTH] = info.get(_DEPTH, 0), 1
        try:
            yield
        finally:
            info[_DEPTH] = outer
