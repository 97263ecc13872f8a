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
from wtforms import HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from service.accounts.passwords import MAX_PASSWORD_LENGTH
from service.tickets.schemas import COMMENT_MAX, REASON_MAX


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
