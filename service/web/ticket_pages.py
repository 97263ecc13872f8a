"""Ticket pages: the list (the staff queue), one ticket, the actions taken from it, and for staff
the emails that could not be delivered.

Each action calls the same service function as its `/api/tickets/...` route and commits; a
refused transition (409) or input (422) comes back as a message on the ticket page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from marshmallow import Schema, ValidationError

from service.access import TicketAccess, ticket_access
from service.errors import Conflict, Unprocessable
from service.extensions import db
from service.models_base import utcnow
from service.notifications import read_models as email_views
from service.notifications.delivery import MAX_EMAIL_ATTEMPTS
from service.notifications.models import EmailStatus
from service.requests.models import ChangeRequest
from service.tickets import read_models, saved_views, sla
from service.tickets import service as tickets_service
from service.tickets.models import SavedView, Ticket, TicketStatus
from service.tickets.schemas import (
    CancelIn,
    CommentIn,
    QueueQuery,
    RejectIn,
    SavedViewIn,
    ViewQueryIn,
)
from service.web import presenters as present
from service.web.blueprints import bp
from service.web.forms import (
    AssignForm,
    CancelForm,
    CommentForm,
    RejectForm,
    load_into,
)
from service.web.session import current_actor, page

Access = TicketAccess
COMMENT_KINDS = {
    "comment": (False, False, "Your comment is added."),
    "query": (False, True, "Your question is sent; the ticket now waits for the customer."),
    "internal": (True, False, "Your internal note is added; customers do not see it."),
}
QUEUE_ARGS = ("status", "organization", "assignee", "q", "sla", "sort", "page")
EMAILS_PER_PAGE = 50
# The approval form's answer on the page that lists whom a batch erases.
CONFIRM_ERASE = "erase"


@bp.get("/tickets")
@page
def tickets():
    """Customers: their organizations' tickets. Staff: the queue, with the API's filters; without
    any, their working view (unfinished, theirs or nobody's, oldest first); or a saved view."""
    actor = current_actor()
    session = db.session()
    staff = present.staff_members(session=session) if actor.is_staff else []
    views = saved_views.list_views(session=session, actor=actor) if actor.is_staff else []
    chosen = {name: request.args.get(name, "").strip() for name in QUEUE_ARGS}
    current_view = _chosen_view(views, request.args.get("view", ""))
    if current_view is not None:
        chosen = {**present.page_filters(current_view.query, staff), "page": chosen["page"]}
    elif actor.is_staff and not request.args:
        chosen = {**dict.fromkeys(QUEUE_ARGS, ""), **present.DEFAULT_STAFF_VIEW}
    try:
        filters = QueueQuery().load(present.queue_query(chosen, staff, actor.user.id))
    except ValidationError:
        flash("Some filters were not understood and are ignored.", "error")
        chosen = dict.fromkeys(QUEUE_ARGS, "")
        filters = read_models.QueueFilters()
    result = read_models.list_tickets(session=session, actor=actor, filters=filters)
    return render_template(
        "web/tickets.html",
        result=result,
        chosen=chosen,
        staff=staff,
        views=views,
        current_view=current_view,
        default_view=actor.is_staff and not request.args,
        statuses=present.STATUS_LABELS,
        pages=-(-result.total // filters.per_page),
        due_soon_until=sla.due_soon_until(utcnow()),
        failed_emails=email_views.failed_count(session=session) if actor.is_staff else 0,
    )


def _chosen_view(views: list[SavedView], wanted: str) -> SavedView | None:
    return next((view for view in views if str(view.id) == wanted), None)


@bp.post("/tickets/views")
@page
def save_view():
    """Save the queue's current filters and order under a name (staff)."""
    actor = current_actor()
    session = db.session()
    staff = present.staff_members(session=session)
    chosen = {name: request.form.get(name, "").strip() for name in QUEUE_ARGS if name != "page"}
    name = request.form.get("name", "")
    try:
        query = ViewQueryIn().load(present.queue_query(chosen, staff, actor.user.id))
        data = SavedViewIn().load({"name": name, "query": query})
        view = saved_views.save_view(session=session, actor=actor, **data)
    except ValidationError as exc:
        db.session.rollback()
        problem = "Name the view (80 characters at most)."
        if "name" not in exc.messages:
            problem = "Some filters were not understood; the view is not saved."
        flash(problem, "error")
        return redirect(_queue_url(chosen))
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(_queue_url(chosen))
    db.session.commit()
    flash(f"The view \u201c{view.name}\u201d is saved.", "success")
    return redirect(url_for("web.tickets", view=view.id))


def _queue_url(chosen: dict[str, str]) -> str:
    args: dict[str, Any] = {name: value for name, value in chosen.items() if value}
    return url_for("web.tickets", **args)


@bp.post("/tickets/views/<int:view_id>/delete")
@page
def delete_view(view_id: int):
    """Delete one of the staff member's saved views."""
    saved_views.delete_view(session=db.session(), actor=current_actor(), view_id=view_id)
    db.session.commit()
    flash("The view is deleted.", "success")
    return redirect(url_for("web.tickets"))


@bp.get("/emails")
@page
def emails():
    """Staff: the emails given up on, newest first."""
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    result = email_views.list_emails(
        session=db.session(),
        actor=current_actor(),
        status=EmailStatus.FAILED,
        page=number,
        per_page=EMAILS_PER_PAGE,
    )
    return render_template(
        "web/emails.html",
        result=result,
        pages=-(-result.total // EMAILS_PER_PAGE),
        max_attempts=MAX_EMAIL_ATTEMPTS,
    )


@bp.get("/tickets/<reference>")
@page
def ticket(reference: str):
    """One ticket: the batch as readable lines, warnings, timeline, and what the user may do."""
    return _ticket_page(_access(reference))


@bp.post("/tickets/<reference>/comments")
@page
def comment(reference: str):
    """Comment; staff may instead ask the customer a question or write an internal note."""
    access = _access(reference)
    form = CommentForm(prefix="comment")
    kind = request.form.get("kind", "")
    internal, query, done = COMMENT_KINDS.get(kind, COMMENT_KINDS["comment"])
    payload = {"body": form.body.data, "internal": internal, "query": query}
    return _form_action(
        access, "comment_form", form, CommentIn(), payload, tickets_service.comment, done
    )


@bp.post("/tickets/<reference>/assign")
@page
def assign(reference: str):
    """Give the ticket to a staff member, or to nobody (staff)."""
    access = _access(reference)
    form, emails = _assign_form(access)
    if not form.validate_on_submit():
        return _ticket_page(access, assign_form=form, status=422)
    email = emails.get(form.assignee.data or "none")

    def run() -> str:
        tickets_service.assign(session=db.session(), access=access, assignee_email=email)
        return "The ticket is now unassigned." if email is None else f"Assigned to {email}."

    return _act(access, run)


@bp.post("/tickets/<reference>/approve")
@page
def approve(reference: str):
    """Approve (staff): the last approval needed queues the apply job. A batch that deletes
    people first shows whom it will erase, and is approved only once that is confirmed."""
    access = _access(reference)
    # The revision the page showed: an amendment since then refuses the approval.
    shown = request.form.get("revision", "")
    revision = int(shown) if shown.isascii() and shown.isdigit() and len(shown) < 10 else None
    request_row = db.session.get(ChangeRequest, access.ticket.change_request_id)
    erases = request_row is not None and request_row.deletions > 0
    if erases and request.form.get("confirm") != CONFIRM_ERASE:
        detail = read_models.detail(session=db.session(), access=access)
        if present.ticket_abilities(access, detail)["approve"] and revision in (
            None,
            detail.revision,
        ):
            return render_template(
                "web/confirm_approve.html",
                ticket=detail,
                erased=present.deleted_contacts(detail.changes),
                confirm=CONFIRM_ERASE,
            )

    def run() -> Callable[[], str]:
        applies = tickets_service.approve(session=db.session(), access=access, revision=revision)
        return lambda: _approved_message(access.ticket, applies=applies)

    return _act(access, run)


def _approved_message(ticket: Ticket, *, applies: bool) -> str:
    """What the flash says after an approval: the ticket's status once the commit is done (the
    apply may have run already), so it never contradicts the banner below it."""
    if not applies:
        return "Your approval is recorded. Another staff member must approve it too."
    status = ticket.status
    if status == TicketStatus.IMPLEMENTED:
        return "Approved, and every change is applied."
    if status == TicketStatus.FAILED:
        return "Approved, but the changes could not be applied; see why below."
    return "Approved. The changes are being applied."


@bp.post("/tickets/<reference>/reject")
@page
def reject(reference: str):
    """Reject with a reason the requester will read (staff)."""
    access = _access(reference)
    form = RejectForm(prefix="reject")
    done = "The request is rejected; the requester is told why."
    payload = {"reason": form.reason.data}
    return _form_action(
        access, "reject_form", form, RejectIn(), payload, tickets_service.reject, done
    )


@bp.post("/tickets/<reference>/cancel")
@page
def cancel(reference: str):
    """Withdraw the request (its requester or an admin of the organization)."""
    access = _access(reference)
    form = CancelForm(prefix="cancel")
    done = "The request is cancelled. The roster can be edited again."
    payload = {"reason": (form.reason.data or "").strip() or None}
    return _form_action(
        access, "cancel_form", form, CancelIn(), payload, tickets_service.cancel, done
    )


@bp.post("/tickets/<reference>/retry")
@page
def retry(reference: str):
    """Apply a failed ticket again (staff)."""
    access = _access(reference)

    def run() -> str:
        tickets_service.retry(session=db.session(), access=access)
        return "Retrying: the changes are being applied again."

    return _act(access, run)


def _access(reference: str) -> Access:
    return ticket_access(session=db.session(), actor=current_actor(), reference=reference)


def _form_action(
    access: Access,
    name: str,
    form: FlaskForm,
    schema: Schema,
    payload: dict[str, Any],
    action: Callable[..., object],
    done: str,
):
    """An action whose form the API's schema checks too: the ticket page again with the form
    (`name`) and its errors (422), or the action run with what the schema loaded."""
    data = load_into(form, schema, payload) if form.validate_on_submit() else None
    if data is None:
        return _ticket_page(access, status=422, **{name: form})

    def run() -> str:
        action(session=db.session(), access=access, **data)
        return done

    return _act(access, run)


def _act(access: Access, run: Callable[[], str | Callable[[], str]]):
    """Run the action and commit; a refused one rolls back and says why on the ticket page.

    `run` returns the flash, or a function that words it after the commit (and what ran then).
    """
    reference = access.ticket.reference
    try:
        message = run()
    except (Conflict, Unprocessable) as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message() if callable(message) else message, "success")
    return redirect(url_for("web.ticket", reference=reference))


def _assign_form(access: Access, *, bound: bool = True) -> tuple[AssignForm, dict[str, str | None]]:
    """The assignee picker: you, the other staff (by id: no emails in forms' values), nobody."""
    form = AssignForm(prefix="assign") if bound else AssignForm(prefix="assign", formdata=None)
    me = access.actor.user
    staff = [(str(uid), email) for uid, email in present.staff_members(session=db.session())]
    others = [(value, email) for value, email in staff if value != str(me.id)]
    form.assignee.choices = [("me", f"Me ({me.email})"), *others, ("none", "Nobody")]
    emails: dict[str, str | None] = {"me": me.email, "none": None, **dict(others)}
    return form, emails


def _ticket_page(access: Access, *, status: int = 200, **forms: Any):
    detail = read_models.detail(session=db.session(), access=access)
    actor = access.actor
    assign_form = forms.get("assign_form")
    if assign_form is None:
        assign_form = _assign_form(access, bound=False)[0]
        assignee_id = access.ticket.assignee_id
        assign_form.assignee.data = (
            "none"
            if assignee_id is None
            else "me"
            if assignee_id == actor.user.id
            else str(assignee_id)
        )
    page_html = render_template(
        "web/ticket.html",
        ticket=detail,
        timeline=present.timeline(detail),
        change_groups=present.change_groups(detail.changes),
        open_groups_up_to=present.OPEN_GROUPS_UP_TO,
        comment_kind=request.form.get("kind", "comment") if request.method == "POST" else "comment",
        may=present.ticket_abilities(access, detail),
        staff_view=access.is_staff,
        comment_form=forms.get("comment_form") or CommentForm(prefix="comment", formdata=None),
        reject_form=forms.get("reject_form") or RejectForm(prefix="reject", formdata=None),
        cancel_form=forms.get("cancel_form") or CancelForm(prefix="cancel", formdata=None),
        assign_form=assign_form,
        due_soon_until=sla.due_soon_until(utcnow()),
    )
    return page_html, status
