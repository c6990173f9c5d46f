import pytest
from django.core.management import call_command

from models_core.models import Ticket, User
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

ALL_FACTORIES = [
    OrganizationFactory,
    UserFactory,
    CustomerFactory,
    TicketFactory,
    TicketCommentFactory,
    TicketAttachmentFactory,
    KnowledgeBaseArticleFactory,
    SLAPolicyFactory,
    UserSessionFactory,
    UserPermissionFactory,
]


def test_migrations_are_up_to_date():
    call_command("makemigrations", "models_core", check=True, dry_run=True, verbosity=0)


@pytest.mark.parametrize("factory_class", ALL_FACTORIES, ids=lambda f: f.__name__)
def test_every_factory_builds_a_valid_row(factory_class):
    row = factory_class()
    row.full_clean()
    assert str(row)


def test_ticket_numbers_count_up_per_organization():
    org, other = OrganizationFactory(), OrganizationFactory()
    numbers = [TicketFactory(organization=org).ticket_number for _ in range(3)]
    assert numbers == [1, 2, 3]
    assert TicketFactory(organization=other).ticket_number == 1


def test_user_defaults_satisfy_the_role_rules():
    customer = User.objects.create_user("plain", "plain@example.com", "pw")
    assert (customer.role, customer.availability_status, customer.customer_tier) == (
        "customer",
        "offline",
        "basic",
    )
    customer.full_clean()


def test_ticket_str_and_trash_label():
    ticket = TicketFactory(subject="Broken")
    assert str(ticket) == f"#{ticket.ticket_number} Broken"
    assert ticket.trash_label == f"#{ticket.ticket_number}"
    assert Ticket.objects.get(pk=ticket.pk).customer.role == User.Role.CUSTOMER


def test_reserved_ticket_numbers_follow_the_counter():
    org = OrganizationFactory()
    TicketFactory(organization=org)
    assert list(org.reserve_ticket_numbers(3)) == [2, 3, 4]
    assert TicketFactory(organization=org).ticket_number == 5
