from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.core.forms import DecimalText, strip
from webapp.sales.forms import DiscountText


class HeaderForm(FlaskForm):
    class Meta:
        csrf = False

    supplier_id = HiddenField()
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    due_date = DateField("Due", validators=[Optional()])
    expected_date = DateField("Expected", validators=[Optional()])
    supplier_reference = StringField("Supplier's bill number", validators=[Optional(), Length(max=60)],
                                     filters=[strip])
    supplier_date = DateField("Date on their bill", validators=[Optional()])
    typed_tax = DecimalText("Tax as printed on their bill", places=3)
    typed_total = DecimalText("Total as printed on their bill", places=3)
    prices_include_tax = BooleanField("Prices include tax")
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=2000)], filters=[strip])
    version = IntegerField(validators=[Optional()])


class LineForm(FlaskForm):
    class Meta:
        csrf = False

    product_id = HiddenField()
    account_id = StringField()
    description = StringField("Description", validators=[Optional(), Length(max=300)], filters=[strip])
    quantity = DecimalText("Qty", places=3)
    unit_price = DecimalText("Price", places=6)
    discount = DiscountText("Discount")
    tax_rate = DecimalText("Tax %", places=4)
    batch_id = StringField()
    version = IntegerField(validators=[Optional()])


class ReceiptLineForm(FlaskForm):
    class Meta:
        csrf = False

    product_id = HiddenField()
    quantity = DecimalText("Qty", places=3)
    unit_cost = DecimalText("Cost", places=6)
    batch_number = StringField("Batch", validators=[Optional(), Length(max=40)], filters=[strip])
    expiry_date = DateField("Expiry", validators=[Optional()])
    mrp = DecimalText("MRP", places=6)
    version = IntegerField(validators=[Optional()])


class VersionForm(FlaskForm):
    version = IntegerField(validators=[Optional()])


class CancelForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired("Give the reason."), Length(max=300)], filters=[strip])
    date = DateField("Date of cancellation", validators=[Optional()])


class AttachmentForm(FlaskForm):
    file = FileField("Scanned bill (PDF, PNG or JPEG, at most 5 MB)",
                     validators=[FileRequired("Choose the file.")])
