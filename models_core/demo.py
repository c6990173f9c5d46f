"""Demo data for the console: realistic tenants, people, tickets and a trash with something in it.

`seed_demo_data()` writes everything in one transaction, set-based (bulk_create in batches), so 2,000 tickets
take a couple of seconds and the time grows linearly with the ticket count. Output is deterministic for a
seed: the same names, subjects, statuses and picks (primary keys and timestamps relative to "now" differ).

What it leaves, besides live data:
- **Demo marker.** Every organization it creates has ``settings["demo_seed"]`` ({"seed", "version", "role"});
  `remove_demo_data()` hard-deletes exactly those organizations (everything of theirs goes with them).
- **Trash**, through the public soft-delete API (each call its own batch): single tickets with reasons, a
  ticket taken with its conversation (cascade), single comments, an article, a customer account (their
  sessions switched off), a superseded SLA policy, and one whole organization ("role": "defunct").
- **Due for purge.** Some batches get ``auto_delete_at`` moved close to now by an UPDATE of the whole batch
  (retention would otherwise put them 30+ days out): ``DUE_FOR_PURGE_DAYS`` ahead, and one batch already
  overdue, so the purge job has work at its next run. The second organization also has a short ticket
  retention override, which reaches the same through the normal path.
- **Legacy rows** that break business rules but no database constraint, written around validation as old
  data would be. Each carries ``LEGACY_MARKER``: tickets in ``custom_fields["legacy_invalid"]`` (the rule) and
  in ``tags``; users and articles in their username/slug; the list per organization in
  ``settings["demo_seed"]["legacy_invalid"]``. Kinds: users with malformed emails, tickets with an empty
  subject, open tickets past their resolution due date without ``sla_breach``, an agent assigned more open
  tickets than ``max_concurrent_tickets``, a published article with no content, an organization whose
  retention setting is not a number.

Bulk writes bypass ``save()`` and model hooks by design: ticket numbers are reserved per organization with
`Organization.reserve_ticket_numbers()`, so later ``Ticket.save()`` calls continue from the counter.
"""

from __future__ import annotations

import datetime
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify
from faker import Faker
from psycopg.types.range import DateRange

from .demo_vocabulary import (
    AGENT_REPLIES,
    ARTICLE_TOPICS,
    CERTIFICATIONS,
    CHANNELS,
    CLOSINGS,
    CUSTOMER_REPLIES,
    DELETE_REASONS,
    DETAILS,
    INTERNAL_NOTES,
    OPENINGS,
    PERMISSIONS,
    PRIORITY_WEIGHTS,
    PRODUCTS,
    REGIONS,
    SKILLS,
    SLA_TARGETS,
    STATUS_WEIGHTS,
    SUBJECTS,
    SYSTEM_EVENTS,
    TAGS,
    TINY_PNG,
    USER_AGENTS,
)
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

DEMO_MARKER = "demo_seed"
DEMO_VERSION = 1
LEGACY_MARKER = "legacy-invalid"
DUE_FOR_PURGE_DAYS = (1, 2, 3)
BATCH_SIZE = 1000
# Tickets generated (and written with their comments and attachments) per step: bounds memory.
CHUNK = 2000
MAX_TICKETS = 5_000_000
MAX_ORGANIZATIONS = 500
FIRST_TENANT_NAME = "Acme Support"
# Demo accounts cannot sign in: the demo staff sign-ins come from setup_demo.
DEMO_PASSWORD = f"{UNUSABLE_PASSWORD_PREFIX}seed-demo"

T = TypeVar("T")


@dataclass
class SeedResult:
    """What a seed wrote: rows per model label, the trash it made and the legacy rows it planted."""

    organizations: list[Organization] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    trashed_batches: list[dict[str, Any]] = field(default_factory=list)
    due_for_purge: int = 0
    legacy: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, model: type[models.Model], count: int) -> None:
        self.counts[model._meta.label] = self.counts.get(model._meta.label, 0) + count


@dataclass
class _Tenant:
    """One organization being seeded, with its people at hand."""

    organization: Organization
    tickets: int
    regular: bool  # False for the defunct organization that ends up in the trash
    admins: list[User] = field(default_factory=list)
    managers: list[User] = field(default_factory=list)
    agents: list[User] = field(default_factory=list)
    customers: list[User] = field(default_factory=list)
    overloaded_agent: User | None = None
    ticket_ids: list[int] = field(default_factory=list)
    commented_ticket_ids: list[int] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    article_ids: list[int] = field(default_factory=list)
    legacy: dict[str, list] = field(default_factory=dict)

    @property
    def staff(self) -> list[User]:
        return self.admins + self.managers + self.agents


def demo_organizations() -> models.QuerySet:
    """Every organization seed_demo created, in the trash or not."""
    return Organization.all_objects.filter(settings__has_key=DEMO_MARKER)


def remove_demo_data() -> int:
    """Hard-delete the demo organizations and everything of theirs (files included); return how many."""
    organizations = demo_organizations()
    count = organizations.count()
    if not count:
        return 0
    with transaction.atomic():
        files = TicketAttachment.all_objects.filter(ticket__organization__in=organizations).values_list(
            "file", flat=True
        )
        for name in files.iterator(chunk_size=BATCH_SIZE):
            if name:
                default_storage.delete(name)
        organizations.hard_delete()
    return count


def seed_demo_data(
    *,
    organizations: int = 3,
    tickets: int = 300,
    seed: int = 42,
    progress: Callable[[int], None] | None = None,
) -> SeedResult:
    """Create `organizations` tenants (plus one defunct, trashed one) sharing `tickets` tickets."""
    if not 1 <= organizations <= MAX_ORGANIZATIONS:
        raise ValueError(f"organizations must be between 1 and {MAX_ORGANIZATIONS}")
    if not 0 <= tickets <= MAX_TICKETS:
        raise ValueError(f"tickets must be between 0 and {MAX_TICKETS}")
    started = time.monotonic()
    with transaction.atomic():
        result = _Seeder(seed, progress or (lambda n: None)).run(organizations, tickets)
    result.seconds = time.monotonic() - started
    return result


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class _Seeder:
    def __init__(self, seed: int, progress: Callable[[int], None]) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.progress = progress
        self.now = timezone.now()
        self.result = SeedResult()

    # Helpers --------------------------------------------------------------------------------------

    def ago(self, max_days: float, min_days: float = 0.0) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.rng.uniform(min_days, max_days))

    def weighted(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def bulk(self, model: type[models.Model], rows: list[models.Model]) -> list[models.Model]:
        created = model.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        self.result.add(model, len(created))
        return created

    # The run ------------------------------------------------------------------------------------------

    def run(self, organizations: int, tickets: int) -> SeedResult:
        defunct_tickets = min(tickets, max(1, tickets // 50)) if tickets else 0
        shares = _split(tickets - defunct_tickets, organizations)
        tenants = [self.tenant(i, shares[i], regular=True) for i in range(organizations)]
        tenants.append(self.tenant(organizations, defunct_tickets, regular=False))
        for tenant in tenants:
            self.people(tenant)
            self.policies(tenant)
            self.articles(tenant)
            self.tickets(tenant)
        for tenant in tenants:
            self.legacy_summary(tenant)
        self.trash(tenants)
        return self.result

    def tenant(self, index: int, tickets: int, *, regular: bool) -> _Tenant:
        name = self.fake.company()
        if regular and index == 0:
            # setup_demo binds its demo manager and admin to this tenant, so they see data when they sign in.
            name = FIRST_TENANT_NAME
        if not regular:
            name = f"{name} (offboarded)"
        settings: dict[str, Any] = {
            DEMO_MARKER: {
                "seed": self.seed,
                "version": DEMO_VERSION,
                "role": "tenant" if regular else "defunct",
            },
            "timezone": self.rng.choice(["Europe/Berlin", "America/New_York", "Asia/Singapore", "UTC"]),
            "business_hours": {"start": "08:00", "end": self.rng.choice(["17:00", "18:00", "20:00"])},
            "locale": self.rng.choice(["en", "de", "fr", "es"]),
        }
        # Retention overrides on some tenants, so the trash shows different deadlines.
        if regular and index == 0:
            settings["retention_days"] = {"default": 60, "ticket": 90, "ticketcomment": 14}
        elif regular and index == 1:
            settings["retention_days"] = {"ticket": 7}
        elif regular and index == 2:
            # Legacy: written before retention settings were validated; purge falls back to the default.
            settings["retention_days"] = {"ticket": "ninety"}
            settings[LEGACY_MARKER] = ["retention_days not a number"]
        slug = self.free_slug(slugify(name)[:90] or f"organization-{index}")
        organization = Organization.objects.create(
            name=name,
            slug=slug,
            subscription_tier=self.rng.choice(Organization.SubscriptionTier.values),
            settings=settings,
            created_at=self.ago(900, 400),
        )
        self.result.organizations.append(organization)
        self.result.add(Organization, 1)
        return _Tenant(organization=organization, tickets=tickets, regular=regular)

    def free_slug(self, base: str) -> str:
        # --append runs reuse the same names. Trashed organizations count too: usernames are derived from the
        # slug and stay reserved until the purge.
        taken = set(Organization.all_objects.filter(slug__startswith=base).values_list("slug", flat=True))
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        return slug

    # People -------------------------------------------------------------------------------------------

    def people(self, tenant: _Tenant) -> None:
        n = tenant.tickets
        plan = [
            (User.Role.ADMIN, 1 + (n > 2000)),
            (User.Role.MANAGER, 2 if tenant.regular else 1),
            (User.Role.AGENT, min(60, max(3 if tenant.regular else 2, n // 60))),
            (User.Role.CUSTOMER, min(5000, max(8, n // 4))),
        ]
        rows: list[User] = []
        for role, count in plan:
            for i in range(count):
                rows.append(self.user(tenant, role, i))
        if tenant.regular:
            rows.extend(self.legacy_users(tenant))
        created = self.bulk(User, rows)
        for user in created:
            if LEGACY_MARKER in user.username and user.role == User.Role.AGENT:
                tenant.overloaded_agent = user
                continue
            {
                User.Role.ADMIN: tenant.admins,
                User.Role.MANAGER: tenant.managers,
                User.Role.AGENT: tenant.agents,
                User.Role.CUSTOMER: tenant.customers,
            }[user.role].append(user)
        self.sessions(tenant, created)
        self.permissions(tenant)

    def user(self, tenant: _Tenant, role: str, i: int, **overrides: Any) -> User:
        slug = tenant.organization.slug
        first, last = self.fake.first_name(), self.fake.last_name()
        local = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower())
        staff = role != User.Role.CUSTOMER
        values: dict[str, Any] = {
            "username": f"{slug}-{role}-{i + 1}",
            "first_name": first,
            "last_name": last,
            "email": f"{local}.{i + 1}@{slug}.example.com",
            "password": DEMO_PASSWORD,
            "organization": tenant.organization,
            "role": role,
            "is_staff": role in (User.Role.ADMIN, User.Role.MANAGER),
            "availability_status": self.rng.choice(User.Availability.values) if staff else "offline",
            "customer_tier": "basic"
            if staff
            else self.weighted({"basic": 60, "premium": 30, "enterprise": 10}),
            "skills": sorted(self.rng.sample(SKILLS, self.rng.randint(1, 4))) if staff else [],
            "certifications": sorted(self.rng.sample(CERTIFICATIONS, self.rng.randint(0, 2)))
            if role == User.Role.AGENT
            else [],
            "max_concurrent_tickets": self.rng.randint(5, 25) if role == User.Role.AGENT else 10,
            "last_active_at": self.ago(30),
            "date_joined": self.ago(700, 30),
            "created_at": None,
        }
        values.update(overrides)
        values["created_at"] = values["date_joined"]
        return User(**values)

    def legacy_users(self, tenant: _Tenant) -> list[User]:
        slug = tenant.organization.slug
        rows = [
            self.user(tenant, User.Role.CUSTOMER, 0, username=f"{slug}-{LEGACY_MARKER}-email-1"),
            self.user(tenant, User.Role.CUSTOMER, 1, username=f"{slug}-{LEGACY_MARKER}-email-2"),
            self.user(
                tenant,
                User.Role.AGENT,
                0,
                username=f"{slug}-{LEGACY_MARKER}-overloaded-agent",
                max_concurrent_tickets=2,
                availability_status=User.Availability.BUSY,
            ),
        ]
        # Malformed, as an old import let them through: no @, and a doubled @ with a space.
        rows[0].email = f"{rows[0].first_name.lower()}.at.{slug}.example.com"
        rows[1].email = f"{rows[1].last_name.lower()} @@{slug}.example.com"
        tenant.legacy["users"] = [
            (u.username, rule) for u, rule in zip(rows, ["email", "email", "capacity"], strict=True)
        ]
        return rows

    def sessions(self, tenant: _Tenant, users: list[User]) -> None:
        rows = []
        for user in users:
            if user.role == User.Role.CUSTOMER and self.rng.random() > 0.2:
                continue
            for _ in range(self.rng.randint(1, 2)):
                seen = self.ago(14)
                rows.append(
                    UserSession(
                        user=user,
                        session_key=f"{self.rng.getrandbits(128):032x}",
                        ip_address=self.ip(),
                        user_agent=self.rng.choice(USER_AGENTS),
                        is_active=self.rng.random() < 0.7,
                        created_at=seen - datetime.timedelta(hours=self.rng.uniform(0, 72)),
                        last_seen_at=seen,
                    )
                )
        self.bulk(UserSession, rows)

    def ip(self) -> str:
        # Documentation ranges only (RFC 5737 / RFC 3849): no real addresses in demo data.
        if self.rng.random() < 0.15:
            return f"2001:db8::{self.rng.randint(1, 0xFFFF):x}"
        prefix = self.rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{prefix}.{self.rng.randint(1, 254)}"

    def permissions(self, tenant: _Tenant) -> None:
        grantor = tenant.admins[0] if tenant.admins else None
        rows = []
        for user in tenant.admins:
            rows += [
                UserPermission(user=user, permission=p, created_at=self.ago(300, 30)) for p in PERMISSIONS
            ]
        for user in tenant.managers:
            for permission in ("trash.view", "trash.restore", "validation.view"):
                rows.append(
                    UserPermission(
                        user=user, permission=permission, granted_by=grantor, created_at=self.ago(300)
                    )
                )
        self.bulk(UserPermission, rows)

    # SLA policies and articles ----------------------------------------------------------------------

    def policies(self, tenant: _Tenant) -> None:
        today = self.now.date()
        switch = today - datetime.timedelta(days=180)
        start = today - datetime.timedelta(days=730)
        rows = []
        for priority, (first_response, resolution) in SLA_TARGETS.items():
            label = Ticket.Priority(priority).label
            # Consecutive, non-overlapping periods ([start, switch) then [switch, open)), as the exclusion
            # constraint requires for enabled policies of one priority.
            rows.append(
                SLAPolicy(
                    organization=tenant.organization,
                    name=f"{label} (previous terms)",
                    priority=priority,
                    first_response_minutes=first_response * 2,
                    resolution_minutes=resolution * 2,
                    validity=DateRange(start, switch),
                )
            )
            rows.append(
                SLAPolicy(
                    organization=tenant.organization,
                    name=f"{label} standard",
                    priority=priority,
                    first_response_minutes=first_response,
                    resolution_minutes=resolution,
                    validity=DateRange(switch, None),
                )
            )
        # A disabled draft may overlap (the constraint covers enabled policies only); trash() bins it.
        rows.append(
            SLAPolicy(
                organization=tenant.organization,
                name="Urgent (proposed 24/7 terms)",
                priority=Ticket.Priority.URGENT,
                first_response_minutes=15,
                resolution_minutes=120,
                validity=DateRange(today, None),
                is_active=False,
            )
        )
        self.bulk(SLAPolicy, rows)

    def articles(self, tenant: _Tenant) -> None:
        authors = tenant.staff
        count = 8 if tenant.regular else 3
        rows = []
        for i, title in enumerate(self.rng.sample(ARTICLE_TOPICS, count)):
            created = self.ago(600, 10)
            paragraphs = [
                f"This article explains {title.lower()}.",
                " ".join(self.rng.sample(DETAILS, 3)),
                "If this does not help, open a ticket and mention this article.",
            ]
            rows.append(
                KnowledgeBaseArticle(
                    organization=tenant.organization,
                    author=self.rng.choice(authors),
                    title=title,
                    slug=f"{slugify(title)}-{i + 1}",
                    content="\n\n".join(paragraphs),
                    status=self.weighted({"published": 70, "draft": 20, "archived": 10}),
                    view_count=self.rng.randint(0, 5000),
                    created_at=created,
                )
            )
        if tenant.regular:
            rows.append(
                KnowledgeBaseArticle(
                    organization=tenant.organization,
                    author=self.rng.choice(authors),
                    title="Release notes (imported)",
                    slug=f"{LEGACY_MARKER}-empty-article",
                    content="",
                    status=KnowledgeBaseArticle.Status.PUBLISHED,
                    created_at=self.ago(900, 600),
                )
            )
            tenant.legacy["articles"] = [(rows[-1].slug, "empty content")]
        tenant.article_ids = [a.pk for a in self.bulk(KnowledgeBaseArticle, rows)]

    # Tickets, comments, attachments ---------------------------------------------------------------------

    def tickets(self, tenant: _Tenant) -> None:
        if not tenant.tickets:
            return
        numbers = iter(tenant.organization.reserve_ticket_numbers(tenant.tickets))
        legacy_kinds = self.legacy_ticket_plan(tenant)
        for start in range(0, tenant.tickets, CHUNK):
            size = min(CHUNK, tenant.tickets - start)
            rows = [self.ticket(tenant, next(numbers), legacy_kinds.get(start + i)) for i in range(size)]
            created = self.bulk(Ticket, rows)
            tenant.ticket_ids += [t.pk for t in created]
            self.conversation(tenant, created)
            self.progress(size)

    def legacy_ticket_plan(self, tenant: _Tenant) -> dict[int, str]:
        """Which of the tenant's ticket positions become legacy rows (spread out, not the first ones)."""
        if not tenant.regular or tenant.tickets < 20:
            return {}
        kinds = ["empty subject"] * 2 + ["overdue without sla_breach"] * 3 + ["assigned over capacity"] * 3
        positions = self.rng.sample(range(tenant.tickets), len(kinds))
        return dict(zip(positions, kinds, strict=True))

    def ticket(self, tenant: _Tenant, number: int, legacy: str | None) -> Ticket:
        rng = self.rng
        created = self.now - datetime.timedelta(days=365 * rng.random() ** 2, minutes=rng.randint(5, 600))
        status = self.weighted(STATUS_WEIGHTS)
        priority = self.weighted(PRIORITY_WEIGHTS)
        first_minutes, resolution_minutes = SLA_TARGETS[priority]
        first_due = created + datetime.timedelta(minutes=first_minutes)
        resolution_due = created + datetime.timedelta(minutes=resolution_minutes)
        product = rng.choice(PRODUCTS)
        subject = rng.choice(SUBJECTS).format(product=product, number=rng.randint(100, 99999))
        subject = subject[0].upper() + subject[1:]
        description = " ".join(
            [rng.choice(OPENINGS), *rng.sample(DETAILS, rng.randint(1, 3)), rng.choice(CLOSINGS)]
        )
        first_responded = resolved = None
        if status != "new":
            first_responded = min(
                self.now, created + datetime.timedelta(minutes=first_minutes * rng.uniform(0.1, 1.6))
            )
        if status in ("resolved", "closed"):
            resolved = min(
                self.now,
                first_responded + datetime.timedelta(minutes=resolution_minutes * rng.uniform(0.2, 1.7)),
            )
        late_response = (first_responded or self.now) > first_due
        late_resolution = status != "cancelled" and (resolved or self.now) > resolution_due
        agent = None if status == "new" and rng.random() < 0.5 else rng.choice(tenant.agents)
        custom_fields: dict[str, Any] = {"channel": rng.choice(CHANNELS), "product": product}
        if rng.random() < 0.5:
            custom_fields["region"] = rng.choice(REGIONS)
        tags = sorted(rng.sample(TAGS, rng.randint(0, 3)))
        breach = late_response or late_resolution
        if legacy:
            custom_fields["legacy_invalid"] = legacy
            tags = sorted({*tags, LEGACY_MARKER})
            if legacy == "empty subject":
                subject = ""
            elif legacy == "overdue without sla_breach":
                status, resolved, breach = "open", None, False
                first_responded = first_responded or created + datetime.timedelta(minutes=1)
                resolution_due = min(resolution_due, self.now - datetime.timedelta(hours=rng.randint(2, 72)))
            elif legacy == "assigned over capacity":
                status, resolved = "open", None
                first_responded = first_responded or created + datetime.timedelta(minutes=1)
                agent = tenant.overloaded_agent
        return Ticket(
            organization=tenant.organization,
            ticket_number=number,
            subject=subject,
            description=description,
            status=status,
            priority=priority,
            customer=rng.choice(tenant.customers),
            assigned_agent=agent,
            tags=tags,
            custom_fields=custom_fields,
            first_response_due=first_due,
            resolution_due=resolution_due,
            sla_breach=breach,
            first_responded_at=first_responded,
            time_to_first_response=first_responded - created if first_responded else None,
            resolved_at=resolved,
            customer_satisfaction_score=(
                rng.choices([1, 2, 3, 4, 5], weights=[5, 5, 15, 35, 40])[0]
                if resolved and rng.random() < 0.6
                else None
            ),
            created_at=created,
        )

    def conversation(self, tenant: _Tenant, tickets: list[Ticket]) -> None:
        rng = self.rng
        comments: list[TicketComment] = []
        owners: list[Ticket] = []
        counts = {"new": (0, 1), "open": (1, 4), "pending": (2, 5), "resolved": (2, 6), "closed": (2, 6)}
        for ticket in tickets:
            low, high = counts.get(ticket.status, (1, 2))
            n = rng.randint(low, high)
            end = ticket.resolved_at or self.now
            span = max((end - ticket.created_at).total_seconds(), 60)
            times = sorted(rng.uniform(0, span) for _ in range(n))
            for k, offset in enumerate(times):
                kind = (
                    "system"
                    if k == 0 and rng.random() < 0.3
                    else self.weighted({"public": 75, "internal": 25})
                )
                if kind == "system":
                    author, content = None, rng.choice(SYSTEM_EVENTS)
                elif kind == "internal":
                    author, content = (
                        ticket.assigned_agent or rng.choice(tenant.agents),
                        rng.choice(INTERNAL_NOTES),
                    )
                elif k % 2:
                    author, content = (
                        ticket.assigned_agent or rng.choice(tenant.agents),
                        rng.choice(AGENT_REPLIES),
                    )
                else:
                    author, content = ticket.customer, rng.choice(CUSTOMER_REPLIES)
                comments.append(
                    TicketComment(
                        ticket=ticket,
                        author=author,
                        content=content,
                        comment_type=kind,
                        created_at=ticket.created_at + datetime.timedelta(seconds=offset),
                    )
                )
                owners.append(ticket)
        created = self.bulk(TicketComment, comments)
        tenant.comment_ids += [c.pk for c in created]
        if len(tenant.commented_ticket_ids) < 50:
            tenant.commented_ticket_ids += sorted(
                {c.ticket_id for c in created if c.comment_type != "system"}
            )[:50]
        self.attachments(tickets, created)

    def attachments(self, tickets: list[Ticket], comments: list[TicketComment]) -> None:
        rng = self.rng
        by_ticket: dict[int, list[TicketComment]] = {}
        for comment in comments:
            by_ticket.setdefault(comment.ticket_id, []).append(comment)
        rows = []
        for ticket in tickets:
            if rng.random() >= 0.12:
                continue
            for _ in range(rng.randint(1, 2)):
                kind = rng.choice(["png", "txt", "log", "csv"])
                stem = rng.choice(["screenshot", "error", "export", "details", "console"])
                name = f"{stem}-{rng.randint(1, 999)}.{kind}"
                if kind == "png":
                    content, content_type = TINY_PNG, "image/png"
                elif kind == "csv":
                    content, content_type = b"date,amount\n2025-01-31,129.00\n", "text/csv"
                else:
                    content = f"{ticket.subject or 'No subject'}\n{rng.choice(DETAILS)}\n".encode()
                    content_type = "text/plain"
                comment = None
                candidates = [c for c in by_ticket.get(ticket.pk, []) if c.author_id]
                if candidates and rng.random() < 0.5:
                    comment = rng.choice(candidates)
                # The same path upload_to builds, written through the default storage so downloads work.
                path = default_storage.save(
                    f"attachments/{ticket.organization_id}/{ticket.pk}/{name}", ContentFile(content)
                )
                rows.append(
                    TicketAttachment(
                        ticket=ticket,
                        comment=comment,
                        uploaded_by=comment.author if comment else ticket.customer,
                        file=path,
                        filename=name,
                        content_type=content_type,
                        size=len(content),
                        download_count=rng.randint(0, 12),
                        created_at=comment.created_at if comment else ticket.created_at,
                    )
                )
        self.bulk(TicketAttachment, rows)

    def legacy_summary(self, tenant: _Tenant) -> None:
        if not tenant.regular:
            return
        legacy_tickets = Ticket.objects.filter(
            organization=tenant.organization, custom_fields__has_key="legacy_invalid"
        ).values_list("ticket_number", "custom_fields__legacy_invalid")
        tenant.legacy["tickets"] = sorted(legacy_tickets)
        settings = tenant.organization.settings
        settings[DEMO_MARKER]["legacy_invalid"] = {
            key: [list(v) for v in values] for key, values in tenant.legacy.items()
        }
        Organization.objects.filter(pk=tenant.organization.pk).update(settings=settings)
        for key, values in tenant.legacy.items():
            self.result.legacy[key] = self.result.legacy.get(key, 0) + len(values)

    # The trash ------------------------------------------------------------------------------------------

    def trash(self, tenants: list[_Tenant]) -> None:
        rng = self.rng
        due_batches = []
        for index, tenant in enumerate(t for t in tenants if t.regular):
            deleter = (tenant.managers or tenant.admins)[0]
            if len(tenant.ticket_ids) >= 10:
                candidates = [pk for pk in tenant.ticket_ids if pk not in tenant.commented_ticket_ids[:1]]
                for pk in rng.sample(candidates, 3):
                    batch = self.soft_delete(Ticket, pk, deleter, rng.choice(DELETE_REASONS))
                    if index == 0:
                        due_batches.append(batch)
            if tenant.commented_ticket_ids:
                # Taken whole: the ticket and its conversation share one batch.
                self.soft_delete(
                    Ticket,
                    tenant.commented_ticket_ids[0],
                    deleter,
                    "Customer asked us to erase this conversation (GDPR request)",
                    {"request": f"DSR-{rng.randint(1000, 9999)}"},
                )
            live_comments = TicketComment.objects.filter(pk__in=tenant.comment_ids[-200:]).values_list(
                "pk", flat=True
            )
            for pk in sorted(live_comments)[:2]:
                batch = self.soft_delete(TicketComment, pk, deleter, "Posted on the wrong ticket")
                if index == 0:
                    due_batches.append(("overdue", batch))
            if tenant.article_ids:
                self.soft_delete(
                    KnowledgeBaseArticle,
                    tenant.article_ids[0],
                    deleter,
                    "Outdated: replaced by a new article",
                )
            if tenant.customers:
                customer = tenant.customers[-1]
                self.soft_delete(User, customer.pk, deleter, "Account closed at the customer's request")
            draft = SLAPolicy.objects.filter(organization=tenant.organization, is_active=False).first()
            if draft:
                self.soft_delete(SLAPolicy, draft.pk, deleter, "Superseded: proposal rejected")
        defunct = [t for t in tenants if not t.regular]
        for tenant in defunct:
            self.soft_delete(Organization, tenant.organization.pk, None, "Contract ended; tenant offboarded")
        self.due_for_purge(due_batches)

    def soft_delete(
        self,
        model: type[models.Model],
        pk: int,
        user: User | None,
        reason: str,
        metadata: dict | None = None,
    ) -> Any:
        result = model.objects.filter(pk=pk).soft_delete(
            user=user, reason=reason, metadata={"source": "seed_demo", **(metadata or {})}
        )
        self.result.trashed_batches.append(
            {
                "model": model._meta.label,
                "reason": reason,
                "batch": result.batch_id,
                "counts": dict(result.counts),
            }
        )
        return result.batch_id

    def due_for_purge(self, batches: list[Any]) -> None:
        """Move some deadlines close to now (see the module docstring), whole batches at a time."""
        days = iter(DUE_FOR_PURGE_DAYS)
        for entry in batches:
            if isinstance(entry, tuple):
                batch, deadline = entry[1], self.now - datetime.timedelta(hours=1)
            else:
                step = next(days, None)
                if step is None:
                    continue
                batch, deadline = entry, self.now + datetime.timedelta(days=step)
            for model in (Ticket, TicketComment, TicketAttachment):
                self.result.due_for_purge += model.all_objects.filter(deletion_batch=batch).update(
                    auto_delete_at=deadline
                )
