from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from webapp.core.forms import DecimalText, strip
from webapp.payments.models import METHODS, POLICIES


class PaymentForm(FlaskForm):
    party_id = HiddenField()
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    amount = DecimalText("Amount", places=3, positive=True)
    account_id = SelectField("Into / from", choices={}, validate_choice=False)
    method = SelectField("How", choices=dict(METHODS))
    reference = StringField("Reference", validators=[Optional(), Length(max=100)], filters=[strip],
                            description="Cheque or UTR number, UPI reference…")
    memo = StringField("Note", validators=[Optional(), Length(max=300)], filters=[strip])
    policy = SelectField("Allocate", choices=dict(POLICIES))
    #: A one-time key: a double submit or a retried request records one payment.
    key = HiddenField()


class AllocateForm(FlaskForm):
    """Allocating a credit later: only the policy and the amounts."""
    policy = SelectField("Allocate", choices=dict(POLICIES))
    key = HiddenField()


class RefundForm(FlaskForm):
    amount = DecimalText("Amount to refund", places=3, positive=True)
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    account_id = SelectField("From / into", choices={}, validate_choice=False)
    method = SelectField("How", choices=dict(METHODS))
    reference = StringField("Reference", validators=[Optional(), Length(max=100)], filters=[strip])
    key = HiddenField()


class ConfirmForm(FlaskForm):
    """Nothing but the CSRF token: for buttons that change something."""


class CancelForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired("Give the reason."), Length(max=300)], filters=[strip])
    date = DateField("Date of cancellation", validators=[Optional()])


class AccountForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the account a name."), Length(max=120)],
                       filters=[strip], description="e.g. HDFC current account 4471")
    kind = SelectField("Kind", choices={"bank": "Bank", "cash": "Cash"})
    description = StringField("Details", validators=[Optional(), Length(max=300)], filters=[strip],
                              description="Account number, IFSC, branch")
    opening_balance = DecimalText("Opening balance", places=3, allow_negative=True,
                                  description="Negative for an overdraft. Leave empty for none.")
    opening_date = DateField("On", validators=[Optional()])


class OpeningForm(FlaskForm):
    opening_balance = DecimalText("Opening balance", places=3, allow_negative=True)
    opening_date = DateField("On", validators=[DataRequired("Enter the date.")])


class PolicyForm(FlaskForm):
    policy = SelectField("Spread payments", choices=dict(POLICIES))
