"""Form helpers shared by every domain."""
from __future__ import annotations

from decimal import Decimal

from flask import request
from wtforms import Field, StringField
from wtforms.validators import ValidationError

from webapp.core.errors import DomainError
from webapp.core.money import MoneyError, parse_amount


def form_error(form, exc: DomainError) -> None:
    """Put a service's refusal beside its field, or above the form."""
    form.error_status = exc.status_code  # 409 for a stale form, 403 for a refusal by role, else 422
    field = getattr(form, exc.field, None) if exc.field else None
    if isinstance(field, Field):
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


def status_for(form) -> int:
    """422 for a submitted form that is being shown again with errors."""
    if request.method == "POST" and (form.errors or form.form_errors):
        return getattr(form, "error_status", 422)
    return 200


class DecimalText(StringField):
    """A number typed by a person, parsed exactly (never through float).

    `places` limits decimal places; `minimum` of 0 refuses negatives; `positive`
    refuses zero too. The parsed Decimal is in `.data`; the raw text is kept for
    re-display.
    """

    def __init__(self, label=None, validators=None, *, places: int = 2, positive: bool = False,
                 allow_negative: bool = False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.places, self.positive, self.allow_negative = places, positive, allow_negative

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        if not self.raw or not self.raw.strip():
            self.data = None
            return
        try:
            self.data = parse_amount(self.raw, places=self.places, allow_negative=self.allow_negative,
                                     allow_zero=not self.positive)
        except MoneyError as exc:
            self.data = None
            raise ValueError(str(exc)) from None

    def _value(self):
        if getattr(self, "raw", None) is not None:
            return self.raw
        return "" if self.data is None else f"{self.data:f}" if isinstance(self.data, Decimal) else str(self.data)


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_control_chars(form, field):
    if field.data and any(ord(c) < 32 and c not in "\r\n\t" for c in field.data):
        raise ValidationError("Remove the invisible control characters.")
