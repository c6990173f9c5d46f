"""The helpdesk's own model hooks: the derived ticket fields, first responses, article slugs and the
account-restore audit. Imported by ModelsCoreConfig.ready(), so they are registered once per process.

Ticket save hooks run in priority order: due dates (create only), then resolved_at, then the response time,
then the breach flag, which reads what the earlier ones set.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.utils import timezone
from django.utils.text import slugify

from .hooks import HookType, model_hook
from .models import KnowledgeBaseArticle, SLAPolicy, Ticket, TicketComment, User
from .schema import TICKET_OPEN_STATUSES

RESOLVED_STATUSES = frozenset({Ticket.Status.RESOLVED, Ticket.Status.CLOSED})


@model_hook(HookType.BEFORE_CREATE, Ticket, priority=10, on_error="raise")
def ticket_set_sla_due_dates(ticket: Ticket, **context: Any) -> list[str] | None:
    """Take the first-response and resolution deadlines of a new ticket from its organization's enabled SLA
    policy for the ticket's priority, valid on the day the ticket was created. Deadlines given explicitly
    are kept; without a policy the ticket has none."""
    if ticket.first_response_due and ticket.resolution_due:
        return None
    policy = (
        SLAPolicy.objects.filter(
            organization_id=ticket.organization_id,
            priority=ticket.priority,
            is_active=True,
            validity__contains=timezone.localdate(ticket.created_at),
        )
        .order_by("first_response_minutes", "pk")
        .first()
    )
    if policy is None:
        return None
    minutes = datetime.timedelta(minutes=1)
    if ticket.first_response_due is None:
        ticket.first_response_due = ticket.created_at + policy.first_response_minutes * minutes
    if ticket.resolution_due is None:
        ticket.resolution_due = ticket.created_at + policy.resolution_minutes * minutes
    return ["first_response_due", "resolution_due"]


@model_hook(HookType.BEFORE_SAVE, Ticket, priority=20, on_error="raise")
def ticket_stamp_resolved_at(ticket: Ticket, **context: Any) -> list[str] | None:
    """Stamp `resolved_at` when a ticket becomes resolved or closed without one. A reopened ticket keeps
    its last stamp (the history of when it was resolved); the breach check treats open tickets as
    unresolved whatever the stamp says."""
    if ticket.status in RESOLVED_STATUSES and ticket.resolved_at is None:
        ticket.resolved_at = max(timezone.now(), ticket.created_at)
        return ["resolved_at"]
    return None


@model_hook(HookType.BEFORE_SAVE, Ticket, priority=30, on_error="raise")
def ticket_keep_time_to_first_response(ticket: Ticket, **context: Any) -> list[str] | None:
    """Keep `time_to_first_response` equal to first response minus creation (never negative) once the
    ticket has a first response, so reports aggregate it without going back to the comments. Without a
    first response the field is left as it is (imported tickets may carry their own)."""
    if ticket.first_responded_at is None:
        return None
    value = max(ticket.first_responded_at - ticket.created_at, datetime.timedelta(0))
    if value == ticket.time_to_first_response:
        return None
    ticket.time_to_first_response = value
    return ["time_to_first_response"]


@model_hook(HookType.BEFORE_SAVE, Ticket, priority=40, on_error="raise")
def ticket_flag_sla_breach(ticket: Ticket, **context: Any) -> list[str] | None:
    """Set `sla_breach` once a deadline was missed: answered after `first_response_due` (or still
    unanswered past it), resolved after `resolution_due` (or still open past it). A breach stays recorded
    even if the deadlines move later."""
    if ticket.sla_breach:
        return None
    now = timezone.now()
    is_open = ticket.status in TICKET_OPEN_STATUSES
    responded = ticket.first_responded_at or (now if is_open else None)
    resolved = now if is_open else ticket.resolved_at
    late_response = bool(ticket.first_response_due and responded and responded > ticket.first_response_due)
    late_resolution = bool(ticket.resolution_due and resolved and resolved > ticket.resolution_due)
    if late_response or late_resolution:
        ticket.sla_breach = True
        return ["sla_breach"]
    return None


@model_hook(HookType.AFTER_CREATE, TicketComment, on_error="raise")
def comment_stamp_first_response(comment: TicketComment, **context: Any) -> None:
    """The first public reply by anyone but the ticket's customer is the ticket's first response; saving
    the ticket lets its own hooks derive the response time and the breach flag."""
    if comment.comment_type != TicketComment.CommentType.PUBLIC or comment.author_id is None:
        return
    ticket = comment.ticket
    if ticket.first_responded_at is not None or comment.author_id == ticket.customer_id:
        return
    ticket.first_responded_at = max(comment.created_at, ticket.created_at)
    ticket.save(update_fields=["first_responded_at", "updated_at"])


@model_hook(HookType.BEFORE_SAVE, KnowledgeBaseArticle, on_error="raise")
def article_slug_from_title(article: KnowledgeBaseArticle, **context: Any) -> list[str] | None:
    """An article saved without a slug gets one from its title."""
    if article.slug:
        return None
    article.slug = slugify(article.title)[:200] or f"article-{timezone.now():%Y%m%d%H%M%S}"
    return ["slug"]


@model_hook(HookType.AFTER_RESTORE, User, on_commit=True, on_error="log")
def user_record_restore(account: User, **context: Any) -> None:
    """Record in the admin log who brought a user account back from the trash (the account may sign in
    again), whether it was restored alone or with its organization. Runs after commit: a restore that rolls
    back leaves no record; a failure to write the record does not undo the restore."""
    actor = context.get("user")
    if actor is None or actor.pk is None:
        return
    batch = context.get("batch_id")
    LogEntry.objects.log_actions(
        user_id=actor.pk,
        queryset=[account],
        action_flag=CHANGE,
        change_message=f"Account restored from the trash (batch {batch}); it may sign in again.",
        single_object=True,
    )
