from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from webapp.core.forms import no_control_chars, strip
from webapp.core.money import CURRENCIES
from webapp.core.permissions import ROLE_LABELS, ROLES
from webapp.core.regions import COUNTRIES, INDIA_STATES, MONTHS, TAX_REGIMES


def _country_choices():
    return {"": "Choose…", **dict(sorted(((code, c[0]) for code, c in COUNTRIES.items()), key=lambda x: x[1]))}


def _state_choices():
    return {"": "Choose a state…",
            **dict(sorted(((code, f"{name} ({code})") for code, name in INDIA_STATES.items()), key=lambda x: x[1]))}


class OrgDetailsForm(FlaskForm):
    name = StringField("Business name", validators=[DataRequired("Enter the business name."), Length(max=120),
                                                    no_control_chars], filters=[strip])
    legal_name = StringField("Legal name", description="As registered; printed on invoices. Leave empty if the same.",
                             validators=[Optional(), Length(max=200), no_control_chars], filters=[strip])
    country = SelectField("Country", choices=_country_choices(),
                          validators=[DataRequired("Choose a country.")])
    state = SelectField("State (India)", choices=_state_choices(), validators=[Optional()],
                        description="Decides CGST + SGST or IGST on every invoice.")
    region = StringField("State or province", validators=[Optional(), Length(max=60)], filters=[strip])
    base_currency = SelectField("Currency", choices={"": "Choose…", **{c: f"{c} — {v.name}" for c, v in CURRENCIES.items()}},
                                validators=[DataRequired("Choose a currency.")])
    tax_regime = SelectField("Sales tax", choices={"": "Choose…", **TAX_REGIMES},
                             validators=[DataRequired("Choose how you charge tax.")])
    fiscal_year_start_month = SelectField("Fiscal year starts in", coerce=int,
                                          choices={str(i + 1): m for i, m in enumerate(MONTHS)}, default=4)
    tax_id = StringField("Tax id (GSTIN / VAT number)", validators=[Optional(), Length(max=40)], filters=[strip])
    address_line1 = StringField("Address", validators=[Optional(), Length(max=200)], filters=[strip])
    address_line2 = StringField("Address line 2", validators=[Optional(), Length(max=200)], filters=[strip])
    city = StringField("City", validators=[Optional(), Length(max=100)], filters=[strip])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)], filters=[strip])
    phone = StringField("Phone", validators=[Optional(), Length(max=40)], filters=[strip])
    email = EmailField("Business e-mail", validators=[Optional(), Email("Enter a valid e-mail address."),
                                                      Length(max=254)], filters=[strip])

    def details(self):
        from webapp.orgs.services import OrgDetails
        state = self.state.data if self.country.data == "IN" else self.region.data
        return OrgDetails(
            name=self.name.data, legal_name=self.legal_name.data or self.name.data,
            country=self.country.data, base_currency=self.base_currency.data,
            tax_regime=self.tax_regime.data, fiscal_year_start_month=self.fiscal_year_start_month.data,
            tax_id=self.tax_id.data, state=state, address_line1=self.address_line1.data,
            address_line2=self.address_line2.data, city=self.city.data,
            postal_code=self.postal_code.data, phone=self.phone.data, email=self.email.data)


class SignupForm(OrgDetailsForm):
    user_name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)],
                            filters=[strip])
    user_email = EmailField("Your e-mail address", validators=[DataRequired("Enter your e-mail address."),
                                                              Email("Enter a valid e-mail address."),
                                                              Length(max=254)], filters=[strip])
    password = PasswordField("Password", description="At least 10 characters.",
                             validators=[DataRequired("Choose a password."), Length(max=256)])
    confirm = PasswordField("Password again", validators=[DataRequired("Type the password again."),
                                                          EqualTo("password", "The two passwords differ.")])


class InviteForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter an e-mail address."),
                                                     Email("Enter a valid e-mail address."), Length(max=254)],
                       filters=[strip])
    role = SelectField("Role", choices={r: ROLE_LABELS[r] for r in ROLES}, default="sales")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices={r: ROLE_LABELS[r] for r in ROLES})


class AcceptForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)],
                       filters=[strip])
    password = PasswordField("Choose a password", description="At least 10 characters.",
                             validators=[DataRequired("Choose a password."), Length(max=256)])
    confirm = PasswordField("Password again", validators=[DataRequired("Type the password again."),
                                                          EqualTo("password", "The two passwords differ.")])


class SwitchForm(FlaskForm):
    org_id = StringField(validators=[DataRequired()])


class NoteForm(FlaskForm):
    """A form with only the CSRF token, for one-button actions."""
    note = TextAreaField(validators=[Optional(), Length(max=500)])


class PrintingForm(FlaskForm):
    invoice_prefix = StringField("Invoice number prefix", description="{fy} is the fiscal year (2026-27), {year} the "
                                 "calendar year. Numbers restart with each year in the prefix.",
                                 validators=[DataRequired("Enter a prefix."), Length(max=30)], filters=[strip])
    credit_limit_policy = SelectField("When an invoice goes over a customer's credit limit", choices={})
    invoice_terms = TextAreaField("Terms printed on invoices", validators=[Optional(), Length(max=2000)],
                                  filters=[strip])


class LogoForm(FlaskForm):
    logo = FileField("Logo (PNG or JPEG, at most 512 KB)")
