from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from webapp.core.forms import DecimalText, strip
from webapp.core.regions import INDIA_STATES


def state_choices():
    return {"": "—", **dict(sorted(((c, f"{n} ({c})") for c, n in INDIA_STATES.items()), key=lambda x: x[1]))}


class PartyForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=30)], filters=[strip])
    name = StringField("Name", validators=[DataRequired("Enter the name."), Length(max=200)], filters=[strip])
    is_customer = BooleanField("Customer")
    is_supplier = BooleanField("Supplier")
    tax_id = StringField("GSTIN / tax id", validators=[Optional(), Length(max=40)], filters=[strip])
    contact_name = StringField("Contact person", validators=[Optional(), Length(max=120)], filters=[strip])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], filters=[strip])
    email = EmailField("E-mail", validators=[Optional(), Email("Enter a valid e-mail address."), Length(max=254)],
                       filters=[strip])
    billing_address = TextAreaField("Billing address", validators=[Optional(), Length(max=500)], filters=[strip])
    billing_city = StringField("City", validators=[Optional(), Length(max=100)], filters=[strip])
    billing_postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)], filters=[strip])
    state = StringField("State", validators=[Optional(), Length(max=60)], filters=[strip])
    shipping_address = TextAreaField("Shipping address (if different)", validators=[Optional(), Length(max=500)],
                                     filters=[strip])
    shipping_state = StringField("Shipping state", validators=[Optional(), Length(max=60)], filters=[strip],
                                 description="Decides the place of supply when goods go elsewhere.")
    credit_limit = DecimalText("Credit limit", places=3, description="Empty: no limit.")
    payment_terms_days = IntegerField("Payment terms (days)", default=0,
                                      validators=[Optional(), NumberRange(0, 365, "Between 0 and 365 days.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)], filters=[strip])
    active = BooleanField("Active", default=True)
    version = IntegerField(validators=[Optional()])

    def values(self) -> dict:
        keys = ("code", "name", "is_customer", "is_supplier", "tax_id", "contact_name", "phone", "email",
                "billing_address", "billing_city", "billing_postal_code", "state", "shipping_address",
                "shipping_state", "credit_limit", "payment_terms_days", "notes", "active")
        return {k: getattr(self, k).data for k in keys}
