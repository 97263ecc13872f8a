"""The pages' forms.

Every form carries the session's CSRF token (`csrf_field()` in the templates); CSRFProtect
checks it for every unsafe request before any view runs (service/web/__init__.py), so the
forms do not check it again. WTForms renders the fields and checks what a browser can get
wrong (blank, too long, two passwords that differ); the API's marshmallow schemas still load
what reaches a service, so the rules about text (no control characters, lengths) stay in one
place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional

from service.accounts.passwords import MAX_PASSWORD_LENGTH
from service.tickets.schemas import COMMENT_MAX, REASON_MAX
from service.vocabulary import SALUTATIONS


class Form(FlaskForm):
    class Meta:
        csrf = False  # checked once per request by CSRFProtect, before the view


class SignInForm(Form):
    email = StringField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=MAX_PASSWORD_LENGTH)],
    )
    next = HiddenField()


class SetPasswordForm(Form):
    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), Length(max=MAX_PASSWORD_LENGTH)],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            DataRequired("Repeat the password."),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )


class ForgotPasswordForm(Form):
    email = StringField(
        "Email", validators=[DataRequired("Enter your email address."), Length(max=254)]
    )


class CommentForm(Form):
    body = TextAreaField(
        "Comment", validators=[DataRequired("Write something first."), Length(max=COMMENT_MAX)]
    )


class RejectForm(Form):
    reason = TextAreaField(
        "Reason for the customer",
        validators=[DataRequired("Say why the request is rejected."), Length(max=REASON_MAX)],
    )


class CancelForm(Form):
    reason = TextAreaField("Reason (optional)", validators=[Optional(), Length(max=REASON_MAX)])


class AssignForm(Form):
    assignee = SelectField("Assignee", choices=[], validate_choice=True)


class OrganizationForm(Form):
    """Onboard an organization and its first administrator (staff)."""

    name = StringField("Full name", validators=[DataRequired("Enter the name."), Length(max=200)])
    slug = StringField(
        "Short name", validators=[DataRequired("Choose a short name."), Length(max=63)]
    )
    kind = SelectField(
        "Kind", choices=[("customer", "Customer"), ("purchaser", "Purchaser (partner)")]
    )
    seat_limit = IntegerField(
        "Seat limit",
        validators=[Optional(), NumberRange(min=1, max=1_000_000, message="From 1 to 1,000,000.")],
    )
    admin_salutation = SelectField("Salutation", choices=[(s, s) for s in SALUTATIONS])
    admin_first_name = StringField(
        "First name", validators=[DataRequired("Enter a first name."), Length(max=100)]
    )
    admin_last_name = StringField(
        "Last name", validators=[DataRequired("Enter a last name."), Length(max=100)]
    )
    admin_email = StringField(
        "Email", validators=[DataRequired("Enter an email address."), Length(max=254)]
    )
    admin_job_title = StringField("Job title", validators=[Optional(), Length(max=100)])


class RenameForm(Form):
    name = StringField("New name", validators=[DataRequired("Enter the name."), Length(max=200)])


class CloseForm(Form):
    confirm = BooleanField(
        "I understand: every contact of this organization is purged, for good.",
        validators=[DataRequired("Tick the box to confirm.")],
    )


class StaffForm(Form):
    email = StringField(
        "Email", validators=[DataRequired("Enter an email address."), Length(max=254)]
    )
    manage_staff = BooleanField("May add and deactivate staff accounts (staff:manage)")


def load_into(form: FlaskForm, schema: Schema, data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Load `data` with the API's schema; on failure put each message on its form field."""
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"": exc.messages}
        for name, problems in messages.items():
            field = getattr(form, str(name), None)
            texts = problems if isinstance(problems, list) else [problems]
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, *(str(text) for text in texts)]
            else:
                form.form_errors.extend(str(text) for text in texts)
        return None
    return loaded
