"""The one source of 'now' and 'today', so tests can pin time."""
from __future__ import annotations

from datetime import date, datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def today() -> date:
    # Business dates are the organization's local calendar; a per-org
    # timezone would go here. UTC is right for the day boundary in tests.
    return now().date()
