from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.core.forms import DecimalText, strip
from webapp.core.money import MoneyError, parse_amount


class HeaderForm(FlaskForm):
    class Meta:
        csrf = False  # htmx sends the token in a header; CSRFProtect checks it

    customer_id = HiddenField()
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    due_date = DateField("Due", validators=[Optional()])
    place_of_supply = StringField("Place of supply", validators=[Optional(), Length(max=60)])
    prices_include_tax = BooleanField("Prices include tax")
    reference = StringField("Customer reference / PO", validators=[Optional(), Length(max=100)], filters=[strip])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)], filters=[strip])
    terms = TextAreaField("Terms", validators=[Optional(), Length(max=2000)], filters=[strip])
    version = IntegerField(validators=[Optional()])


class DiscountText(StringField):
    """'10%' is a percentage of the line; '50' is an amount off the line."""

    percent = amount = raw = None

    def process_formdata(self, valuelist):
        raw = (valuelist[0] if valuelist else "").strip()
        self.raw = raw
        self.percent = self.amount = None
        self.data = raw or None
        if not raw:
            return
        try:
            if raw.endswith("%"):
                self.percent = parse_amount(raw[:-1], places=4)
            else:
                self.amount = parse_amount(raw, places=3)
        except MoneyError as exc:
            raise ValueError(str(exc)) from None


class LineForm(FlaskForm):
    class Meta:
        csrf = False

    product_id = HiddenField()
    description = StringField("Description", validators=[Optional(), Length(max=300)], filters=[strip])
    quantity = DecimalText("Qty", places=3)
    unit_price = DecimalText("Price", places=6)
    discount = DiscountText("Discount")
    tax_rate = DecimalText("Tax %", places=4)
    batch_id = StringField()
    version = IntegerField(validators=[Optional()])


class PostForm(FlaskForm):
    version = IntegerField(validators=[Optional()])
    allow_expired = BooleanField("Sell the expired batch anyway (recorded in the audit trail)")
    override_credit = BooleanField("Post over the credit limit")


class CancelForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired("Give the reason."), Length(max=300)], filters=[strip])
    date = DateField("Date of cancellation", validators=[Optional()])


class CheckoutForm(FlaskForm):
    customer_id = HiddenField()
    cash = DecimalText("Cash received", places=3)
    version = IntegerField(validators=[Optional()])
