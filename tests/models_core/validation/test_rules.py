"""Each rule on valid, invalid, boundary and null values; the Q path agrees with the per-instance path."""

import datetime
import itertools

import pytest
from django.db.models import Q

from models_core.models import Organization, Ticket, TicketAttachment, TicketComment, User
from models_core.validation import (
    ChoiceValidationRule,
    EmailValidationRule,
    ForeignKeyValidationRule,
    RangeValidationRule,
    RequiredValidationRule,
    RoleBasedValidationRule,
    TimestampValidationRule,
    ValidationRule,
    validator,
)
from tests.factories import (
    CustomerFactory,
    OrganizationFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def bound(rule: ValidationRule, model) -> ValidationRule:
    rule.model = model  # what the registry does
    return rule


def failing_ids(model, rule) -> set[int]:
    return set(model._default_manager.filter(rule.violation_q()).values_list("pk", flat=True))


def python_failing_ids(model, rule) -> set[int]:
    return {row.pk for row in model._default_manager.all() if not rule.check(row)}


@pytest.mark.parametrize(
    ("value", "valid"),
    [("Printer", True), ("  x ", True), ("", False), ("   ", False), ("\t\n", False), (None, False)],
)
def test_required(value, valid):
    rule = bound(RequiredValidationRule("subject"), Ticket)
    assert rule.is_valid(value, Ticket()) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("ana@example.com", True),
        ("a.b+c@mail.example.org", True),
        ("", True),  # blank allowed by default
        (None, True),
        ("ana@example", False),
        ("ana example@x.com", False),
        ("a@@b.com", False),
        ("@example.com", False),
        ("ana@example.", False),
    ],
)
def test_email(value, valid):
    assert bound(EmailValidationRule("email"), User).is_valid(value, User()) is valid


def test_email_not_blank():
    rule = bound(EmailValidationRule("email", allow_blank=False), User)
    assert not rule.is_valid("", User())
    assert rule.is_valid("a@b.co", User())


@pytest.mark.parametrize(
    ("value", "valid"),
    [("open", True), ("closed", True), ("", False), ("OPEN", False), ("x", False), (None, False)],
)
def test_choice(value, valid):
    assert bound(ChoiceValidationRule("status"), Ticket).is_valid(value, Ticket()) is valid


def test_choice_with_explicit_choices_and_null():
    rule = bound(ChoiceValidationRule("status", choices=["a"], allow_null=True), Ticket)
    assert (
        rule.is_valid(None, Ticket()) and rule.is_valid("a", Ticket()) and not rule.is_valid("open", Ticket())
    )
    assert "a" in rule.message


@pytest.mark.parametrize(
    ("value", "valid"), [(1, True), (5, True), (3, True), (0, False), (6, False), (-1, False), (None, True)]
)
def test_range(value, valid):
    rule = bound(RangeValidationRule("customer_satisfaction_score", min_value=1, max_value=5), Ticket)
    assert rule.is_valid(value, Ticket()) is valid


def test_range_null_not_allowed_and_uncomparable():
    rule = bound(RangeValidationRule("size", min_value=0, allow_null=False), TicketAttachment)
    assert not rule.is_valid(None, TicketAttachment())
    assert not rule.is_valid("ten", TicketAttachment())
    with pytest.raises(ValueError):
        RangeValidationRule("size")


@pytest.mark.parametrize(
    ("value", "after", "valid"),
    [
        (T0, T0, True),  # boundary: equal
        (T0 + datetime.timedelta(seconds=1), T0, True),
        (T0 - datetime.timedelta(microseconds=1), T0, False),
        (None, T0, True),
        (T0, None, True),
    ],
)
def test_timestamp(value, after, valid):
    rule = bound(TimestampValidationRule("resolved_at", after="created_at"), Ticket)
    assert rule.is_valid(value, Ticket(created_at=after)) is valid


@pytest.mark.parametrize(
    ("role", "tier", "valid"),
    [
        ("customer", "premium", True),
        ("customer", "basic", True),
        ("agent", "basic", True),
        ("agent", "premium", False),
        ("admin", "enterprise", False),
        (None, "premium", False),
    ],
)
def test_role_based(role, tier, valid):
    rule = bound(
        RoleBasedValidationRule("customer_tier", allowed_roles=["customer"], neutral_value="basic"), User
    )
    assert rule.is_valid(tier, User(role=role, customer_tier=tier)) is valid


def test_role_based_needs_one_kind_of_privilege():
    with pytest.raises(ValueError):
        RoleBasedValidationRule("comment_type", allowed_roles=["agent"])


def test_foreign_key_same_organization_live_and_limited():
    ticket = TicketFactory()
    rule = validator.get_rule(Ticket, "agent_same_organization")
    assert rule.is_valid(None, ticket)  # unassigned
    agent = UserFactory(organization=ticket.organization)
    assert rule.is_valid(agent.pk, ticket)
    assert not rule.is_valid(UserFactory().pk, ticket)  # another organization
    assert not rule.is_valid(CustomerFactory(organization=ticket.organization).pk, ticket)  # not staff
    agent.soft_delete()
    assert not rule.is_valid(agent.pk, ticket)  # in the trash
    assert not rule.is_valid(10**12, ticket)  # dangling


def test_foreign_key_required():
    rule = bound(ForeignKeyValidationRule("assigned_agent", required=True), Ticket)
    assert not rule.is_valid(None, Ticket())


def test_custom_rule_without_query_has_no_q():
    rule = validator.get_rule(Ticket, "tags_string_list")
    assert not rule.has_query
    assert rule.is_valid(["a", "b"], Ticket())
    for bad in (["a", "a"], ["", "x"], [1], {"a": 1}, "a", None):
        assert not rule.is_valid(bad, Ticket()), bad


# The Q path and the per-instance path agree on the same generated rows
# ----------------------------------------------------------------------------------------------------


def _tickets_matrix():
    """Tickets over every combination of the values the ticket rules look at, written past validation."""
    org = OrganizationFactory()
    other = OrganizationFactory()
    agent = UserFactory(organization=org)
    customer = CustomerFactory(organization=org)
    foreign_customer = CustomerFactory(organization=other)
    trashed_agent = UserFactory(organization=org)
    trashed_agent.soft_delete()
    subjects = ["Fine", "", "   "]
    agents = [None, agent, trashed_agent, customer, UserFactory(organization=other)]
    customers = [customer, foreign_customer]
    times = [None, T0 - datetime.timedelta(days=1), T0, T0 + datetime.timedelta(days=1)]
    statuses = ["open", "resolved", "closed"]
    tags = [[], ["a"], ["a", "a"], [""], {"x": 1}]
    scores = [None, 1, 5]
    combos = list(itertools.product(subjects, agents, customers, times, statuses))
    numbers = org.reserve_ticket_numbers(len(combos))
    # bulk_create, as legacy importers do: no save(), no validation, only the database's constraints.
    Ticket.objects.bulk_create(
        Ticket(
            organization=org,
            ticket_number=number,
            subject=subject,
            assigned_agent=agent_,
            customer=customer_,
            created_at=T0,
            updated_at=T0,
            first_responded_at=times[i % len(times)],
            resolved_at=resolved if resolved is None or resolved >= T0 else None,
            status=status,
            tags=tags[i % len(tags)],
            customer_satisfaction_score=scores[i % len(scores)],
        )
        for i, (number, (subject, agent_, customer_, resolved, status)) in enumerate(
            zip(numbers, combos, strict=True)
        )
    )


@pytest.mark.parametrize("model", [Ticket, User, Organization, TicketComment, TicketAttachment])
def test_query_and_instance_paths_agree(model):
    _tickets_matrix()
    org = Organization.objects.first()
    # Rows for the other models, including ones that break rules without breaking constraints.
    User.objects.filter(pk=UserFactory(organization=org).pk).update(email="not-an-email", skills=["x", "x"])
    UserFactory(organization=org, email="")
    customer = CustomerFactory(organization=org, customer_tier="premium")
    Organization.objects.filter(pk=OrganizationFactory().pk).update(name=" ", settings={"retention_days": 5})
    ticket = Ticket.objects.first()
    TicketCommentFactory(ticket=ticket, comment_type="internal", author=customer)
    TicketCommentFactory(ticket=ticket, comment_type="internal", author=None)
    TicketCommentFactory(ticket=ticket, comment_type="public", author=None)
    TicketComment.objects.filter(pk=TicketCommentFactory(ticket=ticket).pk).update(content="")
    other_ticket = TicketFactory(organization=org, customer=ticket.customer)
    foreign_comment = TicketCommentFactory(ticket=other_ticket)
    TicketAttachmentFactory(ticket=ticket, comment=foreign_comment)
    TicketAttachmentFactory(ticket=ticket, size=200 * 1024 * 1024, filename="")

    rules = validator.rules_for(model)
    assert rules
    for rule in rules:
        if not rule.has_query:
            continue
        assert failing_ids(model, rule) == python_failing_ids(model, rule), rule.name


def test_the_matrix_breaks_every_ticket_rule_it_can():
    _tickets_matrix()
    broken = {
        rule.name for rule in validator.rules_for(Ticket) if rule.has_query and failing_ids(Ticket, rule)
    }
    assert {
        "subject_required",
        "first_responded_at_after_created_at",
        "resolution_recorded",
        "customer_same_organization",
        "agent_same_organization",
    } <= broken


def test_every_rule_q_is_a_q():
    for model in validator.models():
        for rule in validator.rules_for(model):
            q = rule.violation_q()
            assert q is None or isinstance(q, Q), rule


def test_rules_find_the_legacy_kinds_the_demo_data_plants():
    """The kinds seed_demo writes around validation, built here the same way (bulk writes, no clean())."""
    from django.utils import timezone

    from models_core.models import KnowledgeBaseArticle
    from tests.factories import KnowledgeBaseArticleFactory

    org = OrganizationFactory()
    agent = UserFactory(organization=org, max_concurrent_tickets=1)
    customer = CustomerFactory(organization=org)
    t1, t2 = (TicketFactory(organization=org, customer=customer, assigned_agent=agent) for _ in range(2))
    Ticket.objects.filter(pk=t1.pk).update(
        status="open", sla_breach=False, resolution_due=timezone.now() - datetime.timedelta(hours=3)
    )
    User.objects.filter(pk=customer.pk).update(email="kim.at.example.com")
    draft = KnowledgeBaseArticleFactory(organization=org, status="draft", content="")
    published = KnowledgeBaseArticleFactory(organization=org, status="published", content="Text")
    KnowledgeBaseArticle.objects.filter(pk=published.pk).update(content="")
    Organization.objects.filter(pk=org.pk).update(settings={"retention_days": "soon"})

    expected = {
        (Ticket, "sla_breach_recorded"): {t1.pk},
        (User, "open_tickets_within_capacity"): {agent.pk},
        (User, "email_format"): {customer.pk},
        (KnowledgeBaseArticle, "published_content_required"): {published.pk},
    }
    for (model, name), ids in expected.items():
        rule = validator.get_rule(model, name)
        assert failing_ids(model, rule) == ids == python_failing_ids(model, rule), name
    assert draft.pk not in failing_ids(
        KnowledgeBaseArticle, validator.get_rule(KnowledgeBaseArticle, "published_content_required")
    )
    assert python_failing_ids(Organization, validator.get_rule(Organization, "retention_settings")) == {
        org.pk
    }
    assert t2.pk not in failing_ids(Ticket, validator.get_rule(Ticket, "sla_breach_recorded"))
