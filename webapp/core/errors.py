"""Domain exceptions: a refusal a user can read, never a 500."""
from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the change. Nothing was written.

    `field` names the form field the message belongs beside, when there is one.
    """

    status_code = 422

    def __init__(self, message: str, field: str | None = None, **details):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details


class NotAllowed(DomainError):
    """The user's role does not allow this."""

    status_code = 403


class StaleData(DomainError):
    """The form was based on data someone else has since changed."""

    status_code = 409


class NotFound(DomainError):
    """The row is not there, or belongs to another organization (a view answers 404)."""

    status_code = 404
