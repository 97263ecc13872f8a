"""Shapes of ticket input (queue filters, comments, actions) and output."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from service.fields import (
    CodedMessage,
    EmailText,
    Rows,
    SafeText,
    StrictBool,
    StrictInt,
    UtcDateTime,
)
from service.models_base import MAX_ID
from service.requests.schemas import ChangeLineOut, FindingOut
from service.tickets.models import TicketStatus
from service.tickets.read_models import SLA_FILTERS, SORTS, QueueFilters
from service.tickets.sla import FIRST_RESPONSE, RESOLUTION

COMMENT_MAX = 10_000
REASON_MAX = 2_000


class StatusList(fields.String):
    """`status=open,awaiting_customer`: one or more statuses, comma-separated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        statuses = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                statuses.append(TicketStatus(part))
            except ValueError as exc:
                allowed = ", ".join(s.value for s in TicketStatus)
                raise ValidationError(f"Unknown status. Use one of: {allowed}.") from exc
        return tuple(statuses)


class QueueQuery(Schema):
    class Meta:
        unknown = RAISE

    status = StatusList(load_default=())
    organization = SafeText(validate=validate.Length(max=63))
    assignee = SafeText(validate=validate.Length(max=254))
    q = SafeText(validate=validate.Length(max=200))
    sort = fields.String(load_default="created_at", validate=validate.OneOf(list(SORTS)))
    sla = fields.String(
        validate=validate.OneOf(SLA_FILTERS),
        metadata={
            "description": "`overdue`: a target missed and still pending; `due_soon`: one due "
            "within SLA_DUE_SOON_HOURS business hours"
        },
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))

    @post_load
    def _filters(self, data: dict[str, Any], **kwargs: Any) -> QueueFilters:
        return QueueFilters(
            statuses=data["status"],
            organization=data.get("organization") or None,
            assignee=data.get("assignee") or None,
            q=(data.get("q") or "").strip() or None,
            sort=data["sort"],
            sla=data.get("sla"),
            page=data["page"],
            per_page=data["per_page"],
        )


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError(CodedMessage("Write something.", "missing_field"))


class CommentIn(Schema):
    class Meta:
        unknown = RAISE

    body = SafeText(
        multiline=True, required=True, validate=[validate.Length(max=COMMENT_MAX), _not_blank]
    )
    internal = StrictBool(load_default=False)
    query = StrictBool(load_default=False)


class AssignIn(Schema):
    class Meta:
        unknown = RAISE

    assignee = EmailText(required=True, allow_none=True, validate=validate.Length(max=254))


class RejectIn(Schema):
    class Meta:
        unknown = RAISE

    reason = SafeText(
        multiline=True, required=True, validate=[validate.Length(max=REASON_MAX), _not_blank]
    )


class CancelIn(Schema):
    class Meta:
        unknown = RAISE

    reason = SafeText(
        multiline=True, allow_none=True, load_default=None, validate=validate.Length(max=REASON_MAX)
    )


class ViewQueryIn(Schema):
    """A saved view's filters and order, as `GET /api/tickets` takes them (no page)."""

    class Meta:
        unknown = RAISE

    status = StatusList()
    organization = SafeText(validate=validate.Length(max=63))
    assignee = SafeText(
        validate=validate.Length(max=254),
        metadata={"description": "me, none, me_or_none or a staff email"},
    )
    q = SafeText(validate=validate.Length(max=200))
    sort = fields.String(validate=validate.OneOf(list(SORTS)))
    sla = fields.String(validate=validate.OneOf(SLA_FILTERS))

    @post_load
    def _query(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "status" in data:
            data["status"] = ",".join(s.value for s in data["status"])
        return {key: value for key, value in data.items() if value}


class SavedViewIn(Schema):
    class Meta:
        unknown = RAISE

    name = SafeText(required=True, validate=[validate.Length(max=80), _not_blank])
    query = fields.Nested(ViewQueryIn, load_default=dict)


class SavedViewOut(Schema):
    id = fields.Integer()
    name = fields.String()
    query = fields.Dict(keys=fields.String(), values=fields.String())
    url = fields.String(metadata={"description": "The queue page showing this view"})


class SavedViewsOut(Schema):
    items = fields.List(fields.Nested(SavedViewOut))


class EmptyIn(Schema):
    class Meta:
        unknown = RAISE


class ApproveIn(Schema):
    """An approval may name the revision its giver reviewed: the approval is then refused (409
    `revision_changed`) when the ticket was amended since. Without it, the current revision."""

    class Meta:
        unknown = RAISE

    revision = StrictInt(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The revision reviewed (`revision` of the ticket)."},
    )


class BatchSummaryOut(Schema):
    changes = fields.Integer(metadata={"description": "Items in the batch"})
    adds = fields.Integer(metadata={"description": "add_contact items"})
    deletions = fields.Integer(metadata={"description": "delete_contact items"})
    required_role_removals = fields.Integer(
        metadata={"description": "revoke_role items of a required role"}
    )
    delegations = fields.Integer(metadata={"description": "grant_ and revoke_delegate items"})


class ServiceLevelOut(Schema):
    """When an unfinished ticket's targets are due (service/tickets/sla.py)."""

    first_response_due = UtcDateTime(allow_none=True)
    resolution_due = UtcDateTime(allow_none=True)
    first_responded_at = UtcDateTime(
        allow_none=True, metadata={"description": "Staff's first response; null: none yet"}
    )
    breached = fields.List(
        fields.String(validate=validate.OneOf([FIRST_RESPONSE, RESOLUTION])),
        metadata={
            "description": "The targets missed: the first response came (or has not come) after "
            "its due time; the resolution's due time has passed. A paused ticket is judged as "
            "of its pause."
        },
    )
    paused = fields.Boolean(
        metadata={"description": "The clock is stopped while the ticket waits on the customer"}
    )


class TicketHeadOut(Schema):
    """What a queue row and a ticket's detail both say of the ticket."""

    reference = fields.String()
    url = fields.String()
    status = fields.Enum(TicketStatus, by_value=True)
    organization = fields.String()
    organization_name = fields.String()
    acting_organization = fields.String(allow_none=True)
    requester = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    sla = fields.Nested(
        ServiceLevelOut,
        allow_none=True,
        metadata={"description": "The service levels of an unfinished ticket; null once finished"},
    )


class QueueItemOut(TicketHeadOut):
    approvals_required = fields.Integer()
    approvals_given = fields.Integer()
    batch = fields.Nested(BatchSummaryOut)


class QueueOut(Schema):
    items = Rows(QueueItemOut)
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class CommentOut(Schema):
    id = fields.Integer()
    author = fields.String()
    author_organization = fields.String(allow_none=True)
    body = fields.String()
    internal = fields.Boolean()
    query = fields.Boolean()
    created_at = UtcDateTime()


class EventOut(Schema):
    at = UtcDateTime()
    actor = fields.String()
    action = fields.String()
    from_ = fields.String(data_key="from", attribute="from_status", allow_none=True)
    to = fields.String(attribute="to_status", allow_none=True)
    revision = fields.Integer(
        allow_none=True, metadata={"description": "The revision an `amended` event made"}
    )


class RevisionChangesOut(Schema):
    from_revision = fields.Integer()
    to_revision = fields.Integer()
    added = fields.List(fields.String(), metadata={"description": "Lines the newer one adds"})
    removed = fields.List(fields.String(), metadata={"description": "Lines it no longer has"})


class ApprovalOut(Schema):
    by = fields.String()
    at = UtcDateTime()


class FailureOut(Schema):
    code = fields.String()
    message = fields.String(allow_none=True)


class TicketOut(TicketHeadOut):
    request_comment = fields.String(allow_none=True)
    base_version = fields.Integer(allow_none=True)
    changes = fields.List(fields.Nested(ChangeLineOut))
    warnings = fields.List(fields.Nested(FindingOut))
    comments = fields.List(fields.Nested(CommentOut))
    events = fields.List(fields.Nested(EventOut))
    revision = fields.Integer(metadata={"description": "1 on submit; each amendment adds one"})
    revision_changes = fields.Nested(
        RevisionChangesOut,
        allow_none=True,
        metadata={"description": "Staff only: the newest revision against the one before"},
    )
    approvals_required = fields.Integer()
    approvals = fields.List(fields.Nested(ApprovalOut))
    resolution_reason = fields.String(allow_none=True)
    failure = fields.Nested(FailureOut, allow_none=True)
    erasure_receipt = fields.List(fields.Dict(), allow_none=True)
