from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from webapp.catalog.models import COSTING_METHODS, KINDS
from webapp.core.forms import DecimalText, no_control_chars, strip


class ProductForm(FlaskForm):
    sku = StringField("SKU", description="Your code for it. Letters, digits, dots, dashes.",
                      validators=[DataRequired("Enter a SKU."), Length(max=40)], filters=[strip])
    name = StringField("Name", validators=[DataRequired("Enter the name."), Length(max=200), no_control_chars],
                       filters=[strip])
    barcode = StringField("Barcode", validators=[Optional(), Length(max=40)], filters=[strip])
    kind = SelectField("Kind", choices=KINDS, default="stocked")
    unit = StringField("Unit", default="pcs", validators=[DataRequired("Enter a unit."), Length(max=20)],
                       filters=[strip], description="pcs, box, strip, kg, litre…")
    category = StringField("Category", validators=[Optional(), Length(max=80)], filters=[strip])
    hsn_code = StringField("HSN / SAC code", validators=[Optional(), Length(max=10)], filters=[strip])
    tax_rate = DecimalText("Tax rate %", places=4, default=None)
    sale_price = DecimalText("Sale price", places=6)
    tracks_batches = BooleanField("Track batches and expiry dates")
    costing_method = SelectField("Costing", choices=COSTING_METHODS, default="fifo",
                                 description="Fixed once the product has stock movements.")
    reorder_point = DecimalText("Reorder point", places=3, description="Order more when stock falls to this.")
    reorder_quantity = DecimalText("Reorder quantity", places=3)
    active = BooleanField("Active (can be sold and bought)", default=True)
    purchase_price = DecimalText("Purchase price", places=6, description="Where a purchase order starts.")
    preferred_supplier_id = SelectField("Preferred supplier", choices={}, default="", validate_choice=False,
                                        coerce=lambda v: "" if v is None else str(v), description="The reorder report orders from them.")
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)], filters=[strip])
    version = IntegerField(validators=[Optional()])

    def values(self) -> dict:
        return {k: getattr(self, k).data for k in (
            "sku", "name", "barcode", "kind", "unit", "category", "hsn_code", "tax_rate", "sale_price",
            "tracks_batches", "costing_method", "reorder_point", "reorder_quantity", "active", "description",
            "purchase_price", "preferred_supplier_id")}


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")])


class ConfirmForm(FlaskForm):
    pass
