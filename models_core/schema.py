"""The index and constraint declarations the models' Meta use, under the names the schema has always had.

Conventions:
- Check constraints use ``condition=`` (``check=`` is gone in Django 6.0) and carry a
  ``violation_error_message`` (shown by ``full_clean()``/forms) and a ``violation_error_code``.
- Uniqueness on soft-delete models: identifiers never reused (ticket numbers, usernames) are fully unique;
  names a live record may take over (slugs, emails) are unique among live rows only (``condition=LIVE``).
- Trash indexes are partial (``WHERE deleted_at IS NOT NULL``): the trash is small next to the live table, so
  listing it, finding a batch and finding what is due for purge cost little to keep.
- Index names stay within Django's 30 characters.

Known overlaps kept on purpose (DB health will flag them as prefix duplicates):
``idx_ticket_org_status`` is a prefix of ``idx_ticket_org_status_priority``, ``idx_ticket_org_agent`` of
``idx_ticket_org_agent_status``, ``idx_user_org_role`` of ``idx_user_org_role_active``. Foreign keys whose
column leads one of these indexes are declared with ``db_index=False`` so Django adds no third copy.
"""

from __future__ import annotations

import datetime

import pgtrigger
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

LIVE = Q(deleted_at__isnull=True)
IN_TRASH = Q(deleted_at__isnull=False)
# What people deleted, without the rows their deletes took along (the trash list's default). Queries must use
# this very Q so PostgreSQL matches the partial indexes' predicate.
TRASH_ROOT = IN_TRASH & ~Q(deletion_metadata__contains={"cascaded": True})

TICKET_STATUSES = ["new", "open", "pending", "resolved", "closed", "cancelled"]
TICKET_OPEN_STATUSES = ["new", "open", "pending"]
TICKET_PRIORITIES = ["low", "medium", "high", "urgent"]
USER_ROLES = ["admin", "manager", "agent", "customer"]
USER_STAFF_ROLES = ["admin", "manager", "agent"]
USER_AVAILABILITIES = ["available", "busy", "away", "offline"]
USER_CUSTOMER_TIERS = ["basic", "premium", "enterprise"]
SUBSCRIPTION_TIERS = ["free", "basic", "professional", "enterprise"]
COMMENT_TYPES = ["public", "internal", "system"]
ARTICLE_STATUSES = ["draft", "published", "archived"]


def _check(name: str, condition: Q, message: str, code: str = "invalid") -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=condition, name=name, violation_error_message=message, violation_error_code=code
    )


# Soft delete: the trash
# ----------------------------------------------------------------------------------------------------


def trash_indexes(prefix: str, *, scoped_by: str | None = "organization") -> list[models.Index]:
    """Partial indexes for one soft-delete model: its trash listing, its batches (restore, batch_summary) and
    the purge job's due rows.

    The listing's keyset order is (deleted_at DESC, id DESC), in every listing index, so a page is an ordered
    index range read with no sort however many rows the trash holds: per organization and across all of them
    (platform staff), for what people deleted (TRASH_ROOT, the default) and with what their deletes took
    along (IN_TRASH), and per deleter. Without the roots-only ones, a page of roots walks past every cascaded
    row of a big delete (an organization's 100k tickets) before it finds 26 it may show.

    "Purging within 7 days" lists in purge order, (auto_delete_at, id), from the same four scopes (`_due`):
    the rows due soon are the oldest deletions, so in deletion order a page would walk nearly the whole
    trash past them (at 10M, 397k tickets for 26). The purge job reads idx_<x>_purge_due too.
    """
    order = ["-deleted_at", "-id"]
    due = ["auto_delete_at", "id"]
    indexes = [
        models.Index(fields=order, condition=IN_TRASH, name=f"idx_{prefix}_trash_all"),
        models.Index(fields=order, condition=TRASH_ROOT, name=f"idx_{prefix}_roots_all"),
        models.Index(fields=["deleted_by", *order], condition=TRASH_ROOT, name=f"idx_{prefix}_roots_by"),
        models.Index(
            fields=["deletion_batch"], condition=Q(deletion_batch__isnull=False), name=f"idx_{prefix}_batch"
        ),
        # A batch's roots: "is this its only root?" decides the restore plan's shape (models_core.softdelete).
        models.Index(fields=["deletion_batch"], condition=TRASH_ROOT, name=f"idx_{prefix}_batch_roots"),
        models.Index(fields=due, condition=IN_TRASH, name=f"idx_{prefix}_purge_due"),
        models.Index(fields=due, condition=TRASH_ROOT, name=f"idx_{prefix}_roots_due_all"),
        # The list's "Reason contains" filter (`delete_reason__ilike`): no listing index can answer a
        # substring, so without it a reason that few rows carry walks the whole trash of every model.
        GinIndex(
            fields=["delete_reason"],
            opclasses=["gin_trgm_ops"],
            condition=IN_TRASH,
            name=f"idx_{prefix}_trash_reason",
        ),
    ]
    if scoped_by:
        indexes += [
            models.Index(fields=[scoped_by, *order], condition=IN_TRASH, name=f"idx_{prefix}_trash"),
            models.Index(fields=[scoped_by, *order], condition=TRASH_ROOT, name=f"idx_{prefix}_roots"),
            models.Index(fields=[scoped_by, *due], condition=IN_TRASH, name=f"idx_{prefix}_trash_due"),
            models.Index(fields=[scoped_by, *due], condition=TRASH_ROOT, name=f"idx_{prefix}_roots_due"),
        ]
    return indexes


def trash_constraints(prefix: str) -> list[models.BaseConstraint]:
    """A row in the trash is never active: `is_active=True` queries keep meaning "live"."""
    return [
        _check(
            f"check_{prefix}_trashed_inactive",
            LIVE | Q(is_active=False),
            "A record in the trash cannot be active.",
        )
    ]


# Organization
# ----------------------------------------------------------------------------------------------------


def organization_indexes() -> list[models.Index]:
    return [
        GinIndex(fields=["settings"], name="idx_org_settings_gin"),
        # Name search (`__ilike`): the trash's organization filter box and search, the admin's search.
        GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="idx_org_name_gin"),
        *trash_indexes("org", scoped_by=None),
    ]


def organization_constraints() -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(
            fields=["slug"],
            condition=LIVE,
            name="unique_organization_slug",
            violation_error_message="An organization with this slug already exists.",
            violation_error_code="unique",
        ),
        _check(
            "check_org_subscription_tier_valid",
            Q(subscription_tier__in=SUBSCRIPTION_TIERS),
            f"Subscription tier must be one of: {', '.join(SUBSCRIPTION_TIERS)}.",
        ),
        _check(
            "check_org_ticket_counter_positive",
            Q(last_ticket_number__gte=0),
            "The ticket counter cannot be negative.",
        ),
        *trash_constraints("org"),
    ]


# User
# ----------------------------------------------------------------------------------------------------


def user_indexes() -> list[models.Index]:
    # The is_active indexes keep their historical names and columns: is_active is False for trashed users as
    # well as suspended ones, so `is_active=True` still finds exactly the users who are live and may log in.
    return [
        models.Index(fields=["organization", "role"], name="idx_user_org_role"),
        models.Index(fields=["organization", "is_active"], name="idx_user_org_active"),
        models.Index(fields=["role", "is_active"], name="idx_user_role_active"),
        models.Index(fields=["email"], name="idx_user_email"),
        models.Index(fields=["last_active_at"], name="idx_user_last_active"),
        models.Index(fields=["created_at"], name="idx_user_created"),
        models.Index(fields=["organization", "role", "is_active"], name="idx_user_org_role_active"),
        models.Index(fields=["role", "availability_status"], name="idx_user_role_availability"),
        GinIndex(fields=["skills"], name="idx_user_skills_gin"),
        GinIndex(fields=["certifications"], name="idx_user_certifications_gin"),
        # People search (`__ilike` on each column): the admin's user search, the trash's search and its
        # "deleted by" box.
        GinIndex(
            fields=["username", "email", "first_name", "last_name"],
            opclasses=["gin_trgm_ops"] * 4,
            name="idx_user_search_gin",
        ),
        *trash_indexes("user"),
    ]


def user_constraints() -> list[models.BaseConstraint]:
    return [
        _check(
            "check_user_max_tickets_range",
            Q(max_concurrent_tickets__gte=1, max_concurrent_tickets__lte=100),
            "Maximum concurrent tickets must be between 1 and 100.",
            "out_of_range",
        ),
        _check(
            "check_user_role_valid",
            Q(role__in=USER_ROLES),
            f"Role must be one of: {', '.join(USER_ROLES)}.",
        ),
        _check(
            "check_user_customer_tier_only_for_customers",
            Q(role="customer") | Q(customer_tier="basic"),
            "Only customers can have a customer tier other than basic.",
        ),
        _check(
            "check_user_availability_only_for_agents",
            Q(role__in=USER_STAFF_ROLES) | Q(availability_status="offline"),
            "Only admins, managers and agents can have an availability other than offline.",
        ),
        _check(
            "check_user_availability_valid",
            Q(availability_status__in=USER_AVAILABILITIES),
            f"Availability must be one of: {', '.join(USER_AVAILABILITIES)}.",
        ),
        _check(
            "check_user_customer_tier_valid",
            Q(customer_tier__in=USER_CUSTOMER_TIERS),
            f"Customer tier must be one of: {', '.join(USER_CUSTOMER_TIERS)}.",
        ),
        # Emails are compared case-insensitively (people type them both ways) and only among live users with
        # an email, so a trashed account does not block a new one. Usernames stay fully unique (field-level):
        # Django's auth requires USERNAME_FIELD to be totally unique (auth.E003), and a username still names
        # the account in the trash, so it is reserved until the purge.
        models.UniqueConstraint(
            Lower("email"),
            condition=LIVE & ~Q(email=""),
            name="unique_user_email_live",
            violation_error_message="A user with this email address already exists.",
            violation_error_code="unique",
        ),
        *trash_constraints("user"),
    ]


# Ticket
# ----------------------------------------------------------------------------------------------------


def ticket_indexes() -> list[models.Index]:
    return [
        models.Index(fields=["organization", "status"], name="idx_ticket_org_status"),
        models.Index(fields=["organization", "assigned_agent"], name="idx_ticket_org_agent"),
        models.Index(fields=["organization", "customer"], name="idx_ticket_org_customer"),
        models.Index(fields=["organization", "priority", "status"], name="idx_ticket_org_priority_status"),
        models.Index(fields=["first_response_due"], name="idx_ticket_first_response_due"),
        models.Index(fields=["resolution_due"], name="idx_ticket_resolution_due"),
        models.Index(fields=["sla_breach"], name="idx_ticket_sla_breach"),
        models.Index(fields=["organization", "status", "priority"], name="idx_ticket_org_status_priority"),
        models.Index(fields=["organization", "assigned_agent", "status"], name="idx_ticket_org_agent_status"),
        models.Index(
            fields=["organization", "assigned_agent"],
            condition=Q(status__in=TICKET_OPEN_STATUSES),
            name="idx_ticket_active_org_agent",
        ),
        GinIndex(
            fields=["subject", "description"],
            opclasses=["gin_trgm_ops", "gin_trgm_ops"],
            name="idx_ticket_search_gin",
        ),
        # The trash's subject search reads only trashed tickets (a tenth of the table or less).
        GinIndex(
            fields=["subject"], opclasses=["gin_trgm_ops"], condition=IN_TRASH, name="idx_ticket_trash_search"
        ),
        # The admin's ticket list of one organization, newest first (its default order).
        models.Index(fields=["organization", "id"], condition=LIVE, name="idx_ticket_org_id"),
        GinIndex(fields=["tags"], name="idx_ticket_tags_gin"),
        GinIndex(fields=["custom_fields"], name="idx_ticket_custom_fields_gin"),
        *trash_indexes("ticket"),
    ]


def ticket_constraints() -> list[models.BaseConstraint]:
    return [
        _check(
            "check_ticket_satisfaction_score_range",
            Q(customer_satisfaction_score__isnull=True)
            | Q(customer_satisfaction_score__gte=1, customer_satisfaction_score__lte=5),
            "Customer satisfaction score must be between 1 and 5.",
            "out_of_range",
        ),
        _check(
            "check_ticket_first_response_time_positive",
            Q(time_to_first_response__isnull=True) | Q(time_to_first_response__gte=datetime.timedelta(0)),
            "Time to first response cannot be negative.",
            "out_of_range",
        ),
        _check(
            "check_ticket_status_valid",
            Q(status__in=TICKET_STATUSES),
            f"Status must be one of: {', '.join(TICKET_STATUSES)}.",
        ),
        _check(
            "check_ticket_priority_valid",
            Q(priority__in=TICKET_PRIORITIES),
            f"Priority must be one of: {', '.join(TICKET_PRIORITIES)}.",
        ),
        _check(
            "check_ticket_updated_after_created",
            Q(updated_at__gte=F("created_at")),
            "A ticket cannot be updated before it was created.",
            "chronology",
        ),
        _check(
            "check_ticket_resolved_after_created",
            Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("created_at")),
            "A ticket cannot be resolved before it was created.",
            "chronology",
        ),
        # Ticket numbers are never reused, not even after the ticket went to the trash: fully unique.
        models.UniqueConstraint(
            fields=["organization", "ticket_number"],
            name="unique_org_ticket_number",
            violation_error_message="This organization already has a ticket with this number.",
            violation_error_code="unique",
        ),
        *trash_constraints("ticket"),
    ]


def ticket_organization_index(prefix: str) -> models.Index:
    """The organization a comment or attachment copies from its ticket, alone and whole (live and trash).

    Purging an organization reaches these rows by it (its CASCADE, as Django's Collector follows it), and so
    would any plain DELETE by organization; the trash and list indexes that lead with it are partial, so
    without this every statement of the purge read all comments (3M at 1M tickets) to find its few."""
    return models.Index(fields=["organization"], name=f"idx_{prefix}_org")


def comment_indexes() -> list[models.Index]:
    return [
        ticket_organization_index("comment"),
        GinIndex(fields=["content"], opclasses=["gin_trgm_ops"], name="idx_comment_search_gin"),
        # The admin's comment list in its default order (oldest first), across organizations and in one.
        models.Index(fields=["created_at", "id"], condition=LIVE, name="idx_comment_live_created"),
        models.Index(
            fields=["organization", "created_at", "id"], condition=LIVE, name="idx_comment_org_created"
        ),
        *trash_indexes("comment"),
    ]


def comment_constraints() -> list[models.BaseConstraint]:
    return [
        _check(
            "check_comment_type_valid",
            Q(comment_type__in=COMMENT_TYPES),
            f"Comment type must be one of: {', '.join(COMMENT_TYPES)}.",
        ),
        *trash_constraints("comment"),
    ]


def attachment_indexes() -> list[models.Index]:
    return [ticket_organization_index("attachment"), *trash_indexes("attachment")]


def attachment_constraints() -> list[models.BaseConstraint]:
    return [
        _check(
            "check_attachment_size_positive", Q(size__gte=0), "File size cannot be negative.", "out_of_range"
        ),
        _check(
            "check_attachment_downloads_positive",
            Q(download_count__gte=0),
            "Download count cannot be negative.",
            "out_of_range",
        ),
        *trash_constraints("attachment"),
    ]


# Knowledge base
# ----------------------------------------------------------------------------------------------------


def article_indexes() -> list[models.Index]:
    return [
        GinIndex(
            fields=["title", "content"], opclasses=["gin_trgm_ops", "gin_trgm_ops"], name="idx_kb_search_gin"
        ),
        *trash_indexes("kb"),
    ]


def article_constraints() -> list[models.BaseConstraint]:
    return [
        # A slug is a URL a live article may take over once the old one is in the trash.
        models.UniqueConstraint(
            fields=["organization", "slug"],
            condition=LIVE,
            name="unique_org_slug",
            violation_error_message="This organization already has an article with this slug.",
            violation_error_code="unique",
        ),
        _check(
            "check_kb_status_valid",
            Q(status__in=ARTICLE_STATUSES),
            f"Status must be one of: {', '.join(ARTICLE_STATUSES)}.",
        ),
        _check(
            "check_kb_view_count_positive",
            Q(view_count__gte=0),
            "View count cannot be negative.",
            "out_of_range",
        ),
        *trash_constraints("kb"),
    ]


# SLA policies
# ----------------------------------------------------------------------------------------------------


def sla_indexes() -> list[models.Index]:
    return trash_indexes("sla")


def sla_constraints() -> list[models.BaseConstraint]:
    return [
        # What "overlapping SLA policies" means: two enabled live policies of one organization and priority
        # whose validity periods share a day. Needs btree_gist for the = parts.
        ExclusionConstraint(
            name="exclude_overlapping_sla_policies",
            expressions=[
                ("organization", RangeOperators.EQUAL),
                ("priority", RangeOperators.EQUAL),
                ("validity", RangeOperators.OVERLAPS),
            ],
            condition=Q(is_active=True) & LIVE,
            violation_error_message=(
                "Another active policy for this priority is valid during part of this period."
            ),
            violation_error_code="overlap",
        ),
        _check(
            "check_sla_minutes_positive",
            Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
            "Response and resolution times must be positive numbers of minutes.",
            "out_of_range",
        ),
        _check(
            "check_sla_resolution_after_response",
            Q(resolution_minutes__gte=F("first_response_minutes")),
            "Resolution time cannot be shorter than the first response time.",
        ),
        _check(
            "check_sla_priority_valid",
            Q(priority__in=TICKET_PRIORITIES),
            f"Priority must be one of: {', '.join(TICKET_PRIORITIES)}.",
        ),
        *trash_constraints("sla"),
    ]


# Sessions and permissions
# ----------------------------------------------------------------------------------------------------


def session_constraints() -> list[models.BaseConstraint]:
    return [
        # An ExclusionConstraint with only `=` operators is a unique constraint in disguise. Declared as the
        # partial unique index it really is (a btree: smaller and faster than a GiST index), under the
        # exclusion constraint's original name.
        models.UniqueConstraint(
            fields=["user", "session_key"],
            condition=Q(is_active=True),
            name="exclude_duplicate_active_sessions",
            violation_error_message="This user already has an active session with this key.",
            violation_error_code="unique",
        ),
    ]


def permission_constraints() -> list[models.BaseConstraint]:
    return [
        models.UniqueConstraint(
            fields=["user", "permission"],
            name="unique_user_permission",
            violation_error_message="This user already has this permission.",
            violation_error_code="unique",
        ),
    ]


# Triggers (django-pgtrigger)
# ----------------------------------------------------------------------------------------------------


def ticket_organization_triggers(prefix: str) -> list[pgtrigger.Trigger]:
    """Comments and attachments carry their ticket's organization (tenancy and trash listing without a
    join). The database copies it on every insert and on every update that names the ticket or the column,
    so no write path (bulk_create, imports, raw SQL, a form posting another value) can make it disagree."""
    return [
        pgtrigger.Trigger(
            name=f"{prefix}_ticket_organization",
            when=pgtrigger.Before,
            operation=pgtrigger.Insert | pgtrigger.UpdateOf("ticket_id", "organization_id"),
            func=(
                "SELECT organization_id INTO NEW.organization_id FROM models_core_ticket "
                "WHERE id = NEW.ticket_id; RETURN NEW;"
            ),
        )
    ]


def ticket_moved_triggers() -> list[pgtrigger.Trigger]:
    """A ticket moved to another organization takes its comments and attachments' copies with it."""
    return [
        pgtrigger.Trigger(
            name="ticket_moved_organization",
            when=pgtrigger.After,
            operation=pgtrigger.UpdateOf("organization_id"),
            condition=pgtrigger.Condition("OLD.organization_id IS DISTINCT FROM NEW.organization_id"),
            func=(
                "UPDATE models_core_ticketcomment SET organization_id = NEW.organization_id "
                "WHERE ticket_id = NEW.id; "
                "UPDATE models_core_ticketattachment SET organization_id = NEW.organization_id "
                "WHERE ticket_id = NEW.id; RETURN NULL;"
            ),
        )
    ]
