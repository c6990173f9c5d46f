"""Shared test factories: every test builds its rows through these (one factory per model)."""

import datetime

import factory
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
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

DEFAULT_PASSWORD = "correct-horse-battery"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    subscription_tier = Organization.SubscriptionTier.PROFESSIONAL


class UserFactory(factory.django.DjangoModelFactory):
    """An agent of a new organization; CustomerFactory (or role=User.Role.CUSTOMER) makes a customer."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    organization = factory.SubFactory(OrganizationFactory)
    role = User.Role.AGENT
    # Only staff roles may be anything but offline (check_user_availability_only_for_agents).
    availability_status = factory.LazyAttribute(
        lambda u: User.Availability.OFFLINE if u.role == User.Role.CUSTOMER else User.Availability.AVAILABLE
    )
    password = factory.LazyFunction(lambda: make_password(DEFAULT_PASSWORD))


class CustomerFactory(UserFactory):
    role = User.Role.CUSTOMER


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket; its number comes from the organization's counter on save."""

    class Meta:
        model = Ticket

    organization = factory.SubFactory(OrganizationFactory)
    subject = factory.Sequence(lambda n: f"Printer on floor {n} is on fire")
    description = "It started this morning."
    customer = factory.SubFactory(CustomerFactory, organization=factory.SelfAttribute("..organization"))
    priority = Ticket.Priority.MEDIUM
    status = Ticket.Status.NEW


class TicketCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketComment

    ticket = factory.SubFactory(TicketFactory)
    author = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..ticket.organization"))
    content = factory.Sequence(lambda n: f"Have you tried turning it off and on again? ({n})")
    comment_type = TicketComment.CommentType.PUBLIC


class TicketAttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketAttachment

    ticket = factory.SubFactory(TicketFactory)
    comment = None
    uploaded_by = factory.SelfAttribute("ticket.customer")
    filename = factory.Sequence(lambda n: f"screenshot-{n}.png")
    file = factory.LazyAttribute(lambda a: ContentFile(b"\x89PNG fake", name=a.filename))
    content_type = "image/png"
    size = 9


class KnowledgeBaseArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeBaseArticle

    organization = factory.SubFactory(OrganizationFactory)
    author = factory.SubFactory(UserFactory, organization=factory.SelfAttribute("..organization"))
    title = factory.Sequence(lambda n: f"How to reset your password ({n})")
    slug = factory.Sequence(lambda n: f"reset-password-{n}")
    content = "Click on 'Forgot password'."
    status = KnowledgeBaseArticle.Status.PUBLISHED


class SLAPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SLAPolicy

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Standard {n}")
    priority = Ticket.Priority.HIGH
    first_response_minutes = 60
    resolution_minutes = 480
    validity = factory.LazyFunction(lambda: DateRange(datetime.date(2025, 1, 1), None))
    is_active = True


class UserSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    session_key = factory.Sequence(lambda n: f"session{n:032d}")
    ip_address = "192.0.2.10"
    user_agent = "Mozilla/5.0"


class UserPermissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserPermission

    user = factory.SubFactory(UserFactory)
    permission = factory.Sequence(lambda n: f"trash.permission_{n}")
    granted_by = None


def build_tenant(tickets: int = 1, comments_per_ticket: int = 1) -> Organization:
    """An organization with an agent (and session, permission), a customer, tickets with comments and
    attachments (one on a comment), an article and an SLA policy."""
    org = OrganizationFactory()
    agent = UserFactory(organization=org)
    UserSessionFactory(user=agent)
    UserPermissionFactory(user=agent)
    customer = CustomerFactory(organization=org)
    for _ in range(tickets):
        ticket = TicketFactory(organization=org, customer=customer, assigned_agent=agent)
        for _ in range(comments_per_ticket):
            comment = TicketCommentFactory(ticket=ticket, author=agent)
        TicketAttachmentFactory(ticket=ticket, comment=comment)
        TicketAttachmentFactory(ticket=ticket)
    KnowledgeBaseArticleFactory(organization=org, author=agent)
    SLAPolicyFactory(organization=org)
    return org
