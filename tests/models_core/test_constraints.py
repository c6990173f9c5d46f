"""Every database rule rejects a bad row in full_clean() (with its message) and in the database
(IntegrityError when validation is bypassed), and accepts a good one."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg.types.range import DateRange

from models_core.models import (
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
from models_core.trashing import soft_delete_models
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    OrganizationFactory,
    SLAPolicyFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
    UserPermissionFactory,
    UserSessionFactory,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def constraint(model, name):
    return next(c for c in model._meta.constraints if c.name == name)


def changed(factory, **changes):
    """A saved row of `factory`, then changed in memory."""

    def make():
        row = factory()
        for field, value in changes.items():
            setattr(row, field, value)
        return row

    return make


# (constraint name, model, bad row, good row)
CHECKS = [
    (
        "check_org_subscription_tier_valid",
        Organization,
        changed(OrganizationFactory, subscription_tier="platinum"),
        changed(OrganizationFactory, subscription_tier="enterprise"),
    ),
    (
        "check_org_ticket_counter_positive",
        Organization,
        changed(OrganizationFactory, last_ticket_number=-1),
        changed(OrganizationFactory, last_ticket_number=0),
    ),
    (
        "check_user_max_tickets_range",
        User,
        changed(UserFactory, max_concurrent_tickets=101),
        changed(UserFactory, max_concurrent_tickets=100),
    ),
    (
        "check_user_max_tickets_range",
        User,
        changed(UserFactory, max_concurrent_tickets=0),
        changed(UserFactory, max_concurrent_tickets=1),
    ),
    (
        "check_user_role_valid",
        User,
        changed(UserFactory, role="boss", availability_status="offline"),
        changed(UserFactory, role="manager"),
    ),
    (
        "check_user_customer_tier_only_for_customers",
        User,
        changed(UserFactory, customer_tier="premium"),
        changed(CustomerFactory, customer_tier="premium"),
    ),
    (
        "check_user_availability_only_for_agents",
        User,
        changed(CustomerFactory, availability_status="available"),
        changed(UserFactory, availability_status="busy"),
    ),
    (
        "check_user_availability_valid",
        User,
        changed(UserFactory, availability_status="asleep"),
        changed(UserFactory, availability_status="away"),
    ),
    (
        "check_user_customer_tier_valid",
        User,
        changed(CustomerFactory, customer_tier="gold"),
        changed(CustomerFactory, customer_tier="enterprise"),
    ),
    (
        "check_ticket_satisfaction_score_range",
        Ticket,
        changed(TicketFactory, customer_satisfaction_score=6),
        changed(TicketFactory, customer_satisfaction_score=5),
    ),
    (
        "check_ticket_satisfaction_score_range",
        Ticket,
        changed(TicketFactory, customer_satisfaction_score=0),
        changed(TicketFactory, customer_satisfaction_score=1),
    ),
    (
        "check_ticket_first_response_time_positive",
        Ticket,
        changed(TicketFactory, time_to_first_response=datetime.timedelta(seconds=-1)),
        changed(TicketFactory, time_to_first_response=datetime.timedelta(0)),
    ),
    (
        "check_ticket_status_valid",
        Ticket,
        changed(TicketFactory, status="lost"),
        changed(TicketFactory, status="cancelled"),
    ),
    (
        "check_ticket_priority_valid",
        Ticket,
        changed(TicketFactory, priority="meh"),
        changed(TicketFactory, priority="urgent"),
    ),
    (
        "check_ticket_updated_after_created",
        Ticket,
        changed(TicketFactory, created_at=NOW + datetime.timedelta(days=1)),
        changed(TicketFactory, created_at=NOW - datetime.timedelta(days=1)),
    ),
    (
        "check_ticket_resolved_after_created",
        Ticket,
        changed(TicketFactory, created_at=NOW, resolved_at=NOW - datetime.timedelta(hours=1)),
        changed(TicketFactory, created_at=NOW, resolved_at=NOW),
    ),
    (
        "check_comment_type_valid",
        TicketComment,
        changed(TicketCommentFactory, comment_type="shout"),
        changed(TicketCommentFactory, comment_type="internal"),
    ),
    (
        "check_attachment_size_positive",
        TicketAttachment,
        changed(TicketAttachmentFactory, size=-1),
        changed(TicketAttachmentFactory, size=0),
    ),
    (
        "check_attachment_downloads_positive",
        TicketAttachment,
        changed(TicketAttachmentFactory, download_count=-1),
        changed(TicketAttachmentFactory, download_count=0),
    ),
    (
        "check_kb_status_valid",
        KnowledgeBaseArticle,
        changed(KnowledgeBaseArticleFactory, status="hidden"),
        changed(KnowledgeBaseArticleFactory, status="archived"),
    ),
    (
        "check_kb_view_count_positive",
        KnowledgeBaseArticle,
        changed(KnowledgeBaseArticleFactory, view_count=-1),
        changed(KnowledgeBaseArticleFactory, view_count=0),
    ),
    (
        "check_sla_minutes_positive",
        SLAPolicy,
        changed(SLAPolicyFactory, first_response_minutes=0),
        changed(SLAPolicyFactory, first_response_minutes=1),
    ),
    (
        "check_sla_resolution_after_response",
        SLAPolicy,
        changed(SLAPolicyFactory, first_response_minutes=60, resolution_minutes=59),
        changed(SLAPolicyFactory, first_response_minutes=60, resolution_minutes=60),
    ),
    (
        "check_sla_priority_valid",
        SLAPolicy,
        changed(SLAPolicyFactory, priority="whenever"),
        changed(SLAPolicyFactory, priority="low"),
    ),
]

FACTORY_OF = {
    Organization: OrganizationFactory,
    User: UserFactory,
    Ticket: TicketFactory,
    TicketComment: TicketCommentFactory,
    TicketAttachment: TicketAttachmentFactory,
    KnowledgeBaseArticle: KnowledgeBaseArticleFactory,
    SLAPolicy: SLAPolicyFactory,
}
TRASH_PREFIX = {
    Organization: "org",
    User: "user",
    Ticket: "ticket",
    TicketComment: "comment",
    TicketAttachment: "attachment",
    KnowledgeBaseArticle: "kb",
    SLAPolicy: "sla",
}
CHECKS += [
    (
        f"check_{TRASH_PREFIX[model]}_trashed_inactive",
        model,
        changed(FACTORY_OF[model], deleted_at=NOW, is_active=True),
        changed(FACTORY_OF[model], deleted_at=NOW, is_active=False),
    )
    for model in FACTORY_OF
]


def assert_rejected(row, model, name):
    """full_clean() refuses the row (where a field validator or the choices catch the value first, Django
    skips the constraint for that field and shows the field's message); validate_constraints() gives the
    constraint's own message; and the database refuses it when validation is bypassed."""
    message = constraint(model, name).violation_error_message
    with pytest.raises(ValidationError):
        row.full_clean()
    with pytest.raises(ValidationError) as excinfo:
        row.validate_constraints()
    assert message in excinfo.value.messages
    with pytest.raises(IntegrityError, match=name), transaction.atomic():
        if name.endswith("_trashed_inactive"):
            # save() never writes the trash columns (soft delete does); a bulk update still could.
            model._base_manager.filter(pk=row.pk).update(deleted_at=row.deleted_at, is_active=row.is_active)
        else:
            row.save()


@pytest.mark.parametrize(
    ("name", "model", "bad", "good"), CHECKS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CHECKS)]
)
def test_check_constraint(name, model, bad, good):
    assert_rejected(bad(), model, name)
    row = good()
    row.full_clean()
    row.save()


def test_every_soft_delete_model_has_its_trash_check():
    assert set(FACTORY_OF) == set(soft_delete_models())


def test_every_constraint_is_covered_here():
    covered = {c[0] for c in CHECKS} | {case[0] for case in UNIQUES}
    declared = {
        c.name for m in [*soft_delete_models(), UserSession, UserPermission] for c in m._meta.constraints
    }
    assert declared == covered


def test_every_constraint_has_its_own_message():
    for model in [*soft_delete_models(), UserSession, UserPermission]:
        for c in model._meta.constraints:
            assert c.violation_error_message != c.default_violation_error_message, c.name


# Unique and exclusion constraints: (name, model, make a saved row, make a clashing row, make an accepted row)


def _policy(**overrides):
    def make(first):
        values = {"organization": first.organization, "priority": first.priority, "validity": first.validity}
        values.update(overrides)
        return SLAPolicyFactory.build(**values)

    return make


UNIQUES = [
    (
        "unique_org_ticket_number",
        Ticket,
        TicketFactory,
        lambda t: TicketFactory.build(
            organization=t.organization, customer=t.customer, ticket_number=t.ticket_number
        ),
        lambda t: TicketFactory.build(
            organization=t.organization, customer=t.customer, ticket_number=t.ticket_number + 1
        ),
    ),
    (
        "unique_organization_slug",
        Organization,
        OrganizationFactory,
        lambda o: OrganizationFactory.build(slug=o.slug),
        lambda o: OrganizationFactory.build(slug=o.slug + "-2"),
    ),
    (
        "unique_user_email_live",
        User,
        UserFactory,
        lambda u: UserFactory.build(email=u.email.upper(), organization=u.organization),
        lambda u: UserFactory.build(email="other@example.com", organization=u.organization),
    ),
    (
        "unique_org_slug",
        KnowledgeBaseArticle,
        KnowledgeBaseArticleFactory,
        lambda a: KnowledgeBaseArticleFactory.build(
            slug=a.slug, organization=a.organization, author=a.author
        ),
        lambda a: KnowledgeBaseArticleFactory.build(
            slug=a.slug, organization=OrganizationFactory(), author=None
        ),
    ),
    (
        "unique_user_permission",
        UserPermission,
        UserPermissionFactory,
        lambda p: UserPermissionFactory.build(user=p.user, permission=p.permission),
        lambda p: UserPermissionFactory.build(user=p.user, permission=p.permission + "_other"),
    ),
    (
        "exclude_duplicate_active_sessions",
        UserSession,
        UserSessionFactory,
        lambda s: UserSessionFactory.build(user=s.user, session_key=s.session_key),
        lambda s: UserSessionFactory.build(user=s.user, session_key=s.session_key, is_active=False),
    ),
    (
        "exclude_overlapping_sla_policies",
        SLAPolicy,
        lambda: SLAPolicyFactory(validity=DateRange(datetime.date(2025, 1, 1), datetime.date(2025, 7, 1))),
        _policy(validity=DateRange(datetime.date(2025, 6, 1), None)),
        _policy(validity=DateRange(datetime.date(2025, 7, 1), None)),
    ),
    ("exclude_overlapping_sla_policies", SLAPolicy, SLAPolicyFactory, _policy(), _policy(is_active=False)),
    ("exclude_overlapping_sla_policies", SLAPolicy, SLAPolicyFactory, _policy(), _policy(priority="low")),
]


@pytest.mark.parametrize(
    ("name", "model", "make", "clash", "accepted"),
    UNIQUES,
    ids=[f"{u[0]}-{i}" for i, u in enumerate(UNIQUES)],
)
def test_unique_and_exclusion_constraints(name, model, make, clash, accepted):
    first = make()
    assert_rejected(clash(first), model, name)
    row = accepted(first)
    row.full_clean()
    row.save()


def test_ticket_numbers_stay_taken_by_trashed_tickets():
    first = TicketFactory()
    first.soft_delete()
    again = TicketFactory.build(
        organization=first.organization, customer=first.customer, ticket_number=first.ticket_number
    )
    assert_rejected(again, Ticket, "unique_org_ticket_number")


@pytest.mark.parametrize(
    ("model", "make", "twin"),
    [
        (Organization, OrganizationFactory, lambda o: OrganizationFactory.build(slug=o.slug)),
        (User, UserFactory, lambda u: UserFactory.build(email=u.email, organization=u.organization)),
        (
            KnowledgeBaseArticle,
            KnowledgeBaseArticleFactory,
            lambda a: KnowledgeBaseArticleFactory.build(
                slug=a.slug, organization=a.organization, author=None
            ),
        ),
        (SLAPolicy, SLAPolicyFactory, _policy()),
    ],
    ids=["org-slug", "user-email", "article-slug", "sla-period"],
)
def test_a_trashed_row_frees_its_live_only_values(model, make, twin):
    first = make()
    first.soft_delete()
    row = twin(first)
    row.full_clean()
    row.save()


def test_blank_emails_do_not_clash():
    UserFactory(email="", organization=None)
    row = UserFactory.build(email="", organization=None)
    row.full_clean()
    row.save()
