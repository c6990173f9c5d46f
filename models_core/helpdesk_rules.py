"""The helpdesk models' validation rules, in agreement with models_core/schema.py.

Every check constraint has a twin rule (`constraint=`), so legacy rows written before a constraint existed, or
through raw SQL with the constraint deferred, are found by a scan and forms key the message on its field.
Constraints without a twin are declared database-only with the reason (a test enumerates them all).
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Now
from django.utils import timezone

from . import schema
from .retention import retention_settings_validate
from .validation.registry import CentralizedValidator, validator
from .validation.rules import (
    ChoiceValidationRule,
    EmailValidationRule,
    ForeignKeyValidationRule,
    RangeValidationRule,
    RequiredValidationRule,
    RoleBasedValidationRule,
    TimestampValidationRule,
    ValidationRule,
)

# Attachments above this are refused by the upload path; older rows may still carry bigger files.
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024


# Custom rules (see rules.py for how to write one)
# ----------------------------------------------------------------------------------------------------


class ResolvedTicketHasResolutionTimeRule(ValidationRule):
    """A resolved or closed ticket says when it was resolved."""

    kind = "resolution_recorded"
    default_message = "A resolved or closed ticket needs its resolution time."

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("name", self.kind)
        super().__init__("resolved_at", **kw)

    @property
    def fields(self) -> tuple[str, ...]:
        return ("resolved_at", "status")

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        return value is not None or instance.status not in ("resolved", "closed")

    def violation_q(self) -> Q:
        return Q(status__in=["resolved", "closed"], resolved_at__isnull=True)


class ResolutionNotBeforeResponseRule(ValidationRule):
    """An SLA policy's resolution target is not shorter than its first-response target."""

    kind = "resolution_after_response"

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("name", self.kind)
        super().__init__("resolution_minutes", **kw)

    @property
    def fields(self) -> tuple[str, ...]:
        return ("resolution_minutes", "first_response_minutes")

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        other = instance.first_response_minutes
        if value is None or other is None:
            return True
        return value >= other

    def violation_q(self) -> Q:
        return Q(resolution_minutes__lt=models.F("first_response_minutes"))


class OverdueTicketMarkedBreachedRule(ValidationRule):
    """An open ticket past its resolution deadline is marked as an SLA breach."""

    kind = "sla_breach_recorded"
    default_message = "This open ticket is past its resolution deadline: mark the SLA breach."

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("name", self.kind)
        super().__init__("sla_breach", **kw)

    @property
    def fields(self) -> tuple[str, ...]:
        return ("sla_breach", "status", "resolution_due")

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        due = instance.resolution_due
        overdue = instance.status in schema.TICKET_OPEN_STATUSES and due is not None and due < timezone.now()
        return bool(value) or not overdue

    def violation_q(self) -> Q:
        return Q(status__in=schema.TICKET_OPEN_STATUSES, resolution_due__lt=Now(), sla_breach=False)


class AgentCapacityRule(ValidationRule):
    """Staff hold no more open tickets than their `max_concurrent_tickets`. Counting costs one query per
    instance; in a scan, a correlated count on the (organization, assigned_agent, status) index."""

    kind = "capacity"
    default_message = "This person is assigned more open tickets than their maximum."

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("name", "open_tickets_within_capacity")
        super().__init__("max_concurrent_tickets", **kw)

    def _open_tickets(self) -> models.QuerySet:
        from .models import Ticket

        return Ticket.objects.filter(status__in=schema.TICKET_OPEN_STATUSES)

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if instance.pk is None or value is None:
            return True
        return self._open_tickets().filter(assigned_agent_id=instance.pk).count() <= value

    def violation_q(self) -> Q:
        count = (
            self._open_tickets()
            .filter(assigned_agent_id=OuterRef("pk"))
            .order_by()
            .values("assigned_agent_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Q(max_concurrent_tickets__lt=Subquery(count))


class JSONStringListRule(ValidationRule):
    """A JSON list of non-empty, distinct strings (tags, skills). No query: scans stream these rows."""

    kind = "string_list"
    default_message = "{field} must be a list of distinct, non-empty names."

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        if not isinstance(value, list):
            return False
        if not all(isinstance(item, str) and item.strip() for item in value):
            return False
        return len(set(value)) == len(value)


class RetentionSettingsRule(ValidationRule):
    """The organization's retention settings are readable (models_core.retention). No query."""

    kind = "retention_settings"
    default_message = "The retention settings are invalid."

    def __init__(self, **kw: Any) -> None:
        kw.setdefault("name", self.kind)
        super().__init__("settings", **kw)

    def is_valid(self, value: Any, instance: models.Model) -> bool:
        try:
            retention_settings_validate(value)
        except ValidationError:
            return False
        return True

    def get_error_message(self, value: Any = None, instance: models.Model | None = None) -> str:
        try:
            retention_settings_validate(value)
        except ValidationError as exc:
            return " ".join(exc.messages)
        return self.message


# Registration
# ----------------------------------------------------------------------------------------------------


def default_rules_register(validator: CentralizedValidator) -> None:
    from .models import (
        KnowledgeBaseArticle,
        Organization,
        SLAPolicy,
        Ticket,
        TicketAttachment,
        TicketComment,
        User,
        UserPermission,
        UserSession,
    )

    trash_why = "Owned by soft delete; scans read live rows only."
    unique_why = "Uniqueness needs other rows; Django validates it and the database enforces it."

    staff = schema.USER_STAFF_ROLES
    same_org = {"organization_id": "organization_id"}

    validator.add_model_rules(
        Organization,
        [
            RequiredValidationRule("name"),
            ChoiceValidationRule("subscription_tier", constraint="check_org_subscription_tier_valid"),
            RangeValidationRule(
                "last_ticket_number", min_value=0, constraint="check_org_ticket_counter_positive"
            ),
            TimestampValidationRule("updated_at", after="created_at", code="chronology"),
            RetentionSettingsRule(code="invalid_retention"),
        ],
    )
    validator.mark_database_only(Organization, ["unique_organization_slug"], unique_why)
    validator.mark_database_only(Organization, ["check_org_trashed_inactive"], trash_why)

    validator.add_model_rules(
        User,
        [
            EmailValidationRule("email"),
            ChoiceValidationRule("role", constraint="check_user_role_valid"),
            ChoiceValidationRule("availability_status", constraint="check_user_availability_valid"),
            ChoiceValidationRule("customer_tier", constraint="check_user_customer_tier_valid"),
            RangeValidationRule(
                "max_concurrent_tickets",
                min_value=1,
                max_value=100,
                constraint="check_user_max_tickets_range",
            ),
            RoleBasedValidationRule(
                "customer_tier",
                allowed_roles=["customer"],
                neutral_value="basic",
                constraint="check_user_customer_tier_only_for_customers",
            ),
            RoleBasedValidationRule(
                "availability_status",
                allowed_roles=staff,
                neutral_value="offline",
                constraint="check_user_availability_only_for_agents",
            ),
            ForeignKeyValidationRule(
                "organization",
                error_message="The user's organization is in the trash.",
                name="organization_live",
            ),
            AgentCapacityRule(),
            JSONStringListRule("skills"),
            JSONStringListRule("certifications"),
        ],
    )
    validator.mark_database_only(User, ["unique_user_email_live"], unique_why)
    validator.mark_database_only(User, ["check_user_trashed_inactive"], trash_why)

    validator.add_model_rules(
        Ticket,
        [
            RequiredValidationRule("subject"),
            ChoiceValidationRule("status", constraint="check_ticket_status_valid"),
            ChoiceValidationRule("priority", constraint="check_ticket_priority_valid"),
            RangeValidationRule(
                "customer_satisfaction_score",
                min_value=1,
                max_value=5,
                constraint="check_ticket_satisfaction_score_range",
            ),
            RangeValidationRule(
                "time_to_first_response",
                min_value=datetime.timedelta(0),
                constraint="check_ticket_first_response_time_positive",
            ),
            TimestampValidationRule(
                "updated_at", after="created_at", constraint="check_ticket_updated_after_created"
            ),
            TimestampValidationRule(
                "resolved_at", after="created_at", constraint="check_ticket_resolved_after_created"
            ),
            TimestampValidationRule(
                "first_responded_at",
                after="created_at",
                error_message="A ticket cannot be answered before it was created.",
                code="chronology",
            ),
            ResolvedTicketHasResolutionTimeRule(),
            OverdueTicketMarkedBreachedRule(),
            ForeignKeyValidationRule(
                "customer",
                error_message="The customer must be a user of the ticket's organization.",
                # A trashed customer's tickets stay live by design (they are the organization's record).
                live=False,
                matches=same_org,
                name="customer_same_organization",
            ),
            ForeignKeyValidationRule(
                "assigned_agent",
                error_message="The assigned agent must be a live admin, manager or agent of the ticket's "
                "organization.",
                matches=same_org,
                limit_to=Q(role__in=staff),
                name="agent_same_organization",
            ),
            JSONStringListRule("tags"),
        ],
    )
    validator.mark_database_only(Ticket, ["unique_org_ticket_number"], unique_why)
    validator.mark_database_only(Ticket, ["check_ticket_trashed_inactive"], trash_why)

    validator.add_model_rules(
        TicketComment,
        [
            RequiredValidationRule("content"),
            ChoiceValidationRule("comment_type", constraint="check_comment_type_valid"),
            RoleBasedValidationRule(
                "comment_type",
                "Only admins, managers and agents can write internal notes.",
                allowed_roles=staff,
                privileged_values=["internal"],
                role_path="author__role",
                name="internal_note_author",
            ),
            ForeignKeyValidationRule(
                "ticket",
                error_message="A live comment cannot belong to a ticket in the trash.",
                name="ticket_live",
            ),
        ],
    )
    validator.mark_database_only(TicketComment, ["check_comment_trashed_inactive"], trash_why)

    validator.add_model_rules(
        TicketAttachment,
        [
            RequiredValidationRule("filename"),
            RangeValidationRule("size", min_value=0, constraint="check_attachment_size_positive"),
            RangeValidationRule(
                "size",
                max_value=MAX_ATTACHMENT_BYTES,
                name="size_limit",
                error_message=f"Attachments may be at most {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB.",
            ),
            RangeValidationRule(
                "download_count", min_value=0, constraint="check_attachment_downloads_positive"
            ),
            ForeignKeyValidationRule(
                "ticket",
                error_message="A live attachment cannot belong to a ticket in the trash.",
                name="ticket_live",
            ),
            ForeignKeyValidationRule(
                "comment",
                error_message="The comment belongs to another ticket.",
                matches={"ticket_id": "ticket_id"},
                name="comment_same_ticket",
                code="wrong_ticket",
            ),
        ],
    )
    validator.mark_database_only(TicketAttachment, ["check_attachment_trashed_inactive"], trash_why)

    validator.add_model_rules(
        KnowledgeBaseArticle,
        [
            RequiredValidationRule("title"),
            RequiredValidationRule(
                "content",
                "A published article needs content.",
                when={"status": "published"},
                name="published_content_required",
            ),
            ChoiceValidationRule("status", constraint="check_kb_status_valid"),
            RangeValidationRule("view_count", min_value=0, constraint="check_kb_view_count_positive"),
        ],
    )
    validator.mark_database_only(KnowledgeBaseArticle, ["unique_org_slug"], unique_why)
    validator.mark_database_only(KnowledgeBaseArticle, ["check_kb_trashed_inactive"], trash_why)

    validator.add_model_rules(
        SLAPolicy,
        [
            ChoiceValidationRule("priority", constraint="check_sla_priority_valid"),
            RangeValidationRule(
                "first_response_minutes", min_value=1, constraint="check_sla_minutes_positive"
            ),
            RangeValidationRule("resolution_minutes", min_value=1, constraint="check_sla_minutes_positive"),
            ResolutionNotBeforeResponseRule(constraint="check_sla_resolution_after_response"),
        ],
    )
    validator.mark_database_only(
        SLAPolicy,
        ["exclude_overlapping_sla_policies"],
        "Overlap needs other rows; Django validates it and the database enforces it.",
    )
    validator.mark_database_only(SLAPolicy, ["check_sla_trashed_inactive"], trash_why)
    validator.mark_database_only(UserSession, ["exclude_duplicate_active_sessions"], unique_why)
    validator.mark_database_only(UserPermission, ["unique_user_permission"], unique_why)


_setup_lock = threading.Lock()
_setup_done = False


def validator_setup() -> CentralizedValidator:
    """Register the default rules once per process (idempotent; called from ModelsCoreConfig.ready())."""
    global _setup_done
    with _setup_lock:
        if not _setup_done:
            default_rules_register(validator)
            _setup_done = True
    return validator
