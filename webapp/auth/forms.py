from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.core.forms import strip


class LoginForm(FlaskForm):
    email = EmailField("E-mail address", validators=[DataRequired("Enter your e-mail address."),
                                                     Length(max=254)], filters=[strip])
    password = PasswordField("Password", validators=[DataRequired("Enter your password."), Length(max=256)])
    remember = BooleanField("Keep me signed in on this device for 30 days")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    new_password = PasswordField("New password", validators=[DataRequired("Choose a new password."),
                                                             Length(max=256)])
    confirm = PasswordField("New password again", validators=[DataRequired("Type the new password again.")])


class ProfileForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired("Enter your name."), Length(max=120)],
                       filters=[strip])
