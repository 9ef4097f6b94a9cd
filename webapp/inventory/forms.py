from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from webapp.core.forms import DecimalText, strip
from webapp.inventory.models import REASONS


class LocationForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired("Enter a code."), Length(max=20)], filters=[strip])
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120)], filters=[strip])
    kind = SelectField("Kind", choices={"warehouse": "Warehouse", "store": "Store / shop floor"})


class LocationEditForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120)], filters=[strip])
    active = BooleanField("Active")
    is_default = BooleanField("Default location (sales and receipts use it unless told otherwise)")


class NewAdjustmentForm(FlaskForm):
    kind = SelectField("Kind", choices={"adjustment": "Adjustment", "write_off": "Write-off",
                                        "opening": "Opening stock"})
    reason = SelectField("Reason", choices={k: v for k, v in REASONS.items() if k != "opening"})
    location_id = SelectField("Location", choices={})
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    memo = StringField("Note", validators=[Optional(), Length(max=300)], filters=[strip])


class AdjustmentHeaderForm(FlaskForm):
    class Meta:
        csrf = False

    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    reason = SelectField("Reason", choices=REASONS)
    memo = StringField("Note", validators=[Optional(), Length(max=300)], filters=[strip])
    version = IntegerField(validators=[Optional()])


class AdjustmentLineForm(FlaskForm):
    class Meta:
        csrf = False

    product_id = HiddenField()
    quantity = DecimalText("Quantity", places=3, allow_negative=True)
    batch_number = StringField("Batch", validators=[Optional(), Length(max=40)], filters=[strip])
    expiry_date = DateField("Expiry", validators=[Optional()])
    unit_cost = DecimalText("Unit cost", places=6)
    version = IntegerField(validators=[Optional()])


class NewTransferForm(FlaskForm):
    from_location_id = SelectField("From", choices={})
    to_location_id = SelectField("To", choices={})
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    memo = StringField("Note", validators=[Optional(), Length(max=300)], filters=[strip])


class TransferLineForm(FlaskForm):
    class Meta:
        csrf = False

    product_id = HiddenField()
    batch_id = StringField()
    quantity = DecimalText("Quantity", places=3, positive=True)
    version = IntegerField(validators=[Optional()])


class DocVersionForm(FlaskForm):
    version = IntegerField(validators=[Optional()])


class NewStocktakeForm(FlaskForm):
    location_id = SelectField("Location", choices={})
    date = DateField("Date", validators=[DataRequired("Enter the date.")])
    memo = StringField("Note", validators=[Optional(), Length(max=300)], filters=[strip])


class CountForm(FlaskForm):
    class Meta:
        csrf = False

    counted = DecimalText("Counted", places=3)


class CountUploadForm(FlaskForm):
    file = FileField("Count sheet (CSV)", validators=[FileRequired("Choose the filled-in count sheet.")])


class SettingsForm(FlaskForm):
    allow_negative_stock = BooleanField("Allow selling more than is on hand (negative stock)")
    allow_over_receipt = BooleanField("Allow receiving more than was ordered")
