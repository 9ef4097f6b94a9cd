from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.core.forms import DecimalText, no_control_chars, strip
from webapp.ledger.models import ACCOUNT_TYPES


class AccountForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=20)], filters=[strip])
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120), no_control_chars],
                       filters=[strip])
    type = SelectField("Type", choices={"": "Choose…", **ACCOUNT_TYPES},
                       validators=[DataRequired("Choose a type.")])
    parent_id = SelectField("Inside group", choices={}, validators=[Optional()])
    is_group = BooleanField("This is a group (it holds other accounts; nothing is posted to it)")
    description = TextAreaField("Description", validators=[Optional(), Length(max=300)], filters=[strip])


class JournalHeaderForm(FlaskForm):
    class Meta:
        csrf = False  # the htmx header carries the token; CSRFProtect checks it

    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    memo = StringField("Description", validators=[Optional(), Length(max=300)], filters=[strip])
    version = IntegerField(validators=[Optional()])


class JournalLineForm(FlaskForm):
    class Meta:
        csrf = False

    account_id = HiddenField()
    debit = DecimalText("Debit", places=3)
    credit = DecimalText("Credit", places=3)
    memo = StringField("Memo", validators=[Optional(), Length(max=300)], filters=[strip])
    version = IntegerField(validators=[Optional()])


class NewJournalForm(FlaskForm):
    kind = SelectField("Kind", choices={"manual": "Manual journal", "opening": "Opening balances"})
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    memo = StringField("Description", validators=[Optional(), Length(max=300)], filters=[strip])


class PostForm(FlaskForm):
    version = IntegerField(validators=[Optional()])


class ReverseForm(FlaskForm):
    date = DateField("Reversal date", validators=[DataRequired("Enter the reversal date.")])
    memo = StringField("Reason", validators=[Optional(), Length(max=300)], filters=[strip])


class LockDateForm(FlaskForm):
    lock_date = DateField("Lock the books up to and including", validators=[Optional()])
