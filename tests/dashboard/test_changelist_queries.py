"""The helpdesk admin's changelists at scale: searches that trigram indexes serve (ILIKE, not
UPPER(col) LIKE), the default orders and the organization filter read from an index, no list of every
organization on the page."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from models_core.models import Organization, Ticket, TicketComment, User
from tests.factories import OrganizationFactory, TicketCommentFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_client(client):
    client.force_login(UserFactory(organization=None, is_staff=True, is_superuser=True, role=User.Role.ADMIN))
    return client


def _searches(client, url: str, table: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, {"q": "vpn"}).status_code == 200
    return [q["sql"] for q in captured if f'FROM "{table}"' in q["sql"] and "vpn" in q["sql"].lower()]


@pytest.mark.parametrize(
    ("model", "table"),
    [
        ("ticket", "models_core_ticket"),
        ("ticketcomment", "models_core_ticketcomment"),
        ("knowledgebasearticle", "models_core_knowledgebasearticle"),
        ("user", "models_core_user"),
        ("organization", "models_core_organization"),
    ],
)
def test_searches_are_ilike_which_the_trigram_indexes_serve(platform_client, model, table):
    TicketCommentFactory(ticket=TicketFactory(subject="VPN drops"), content="vpn again")
    sqls = _searches(platform_client, f"/models_core/{model}/", table)
    assert sqls
    for sql in sqls:
        assert "ILIKE" in sql and "UPPER(" not in sql


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    return queryset.explain()


def test_one_organizations_tickets_newest_first_come_from_an_index():
    org, other = OrganizationFactory(), OrganizationFactory()
    TicketFactory.create_batch(3, organization=org)
    # Many more tickets of another organization, newer, so walking the primary key backwards is no option.
    customer = UserFactory(organization=other)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO models_core_ticket (is_active, delete_reason, deletion_metadata, can_be_restored, "
            "ticket_number, subject, description, status, priority, tags, custom_fields, sla_breach, "
            "created_at, updated_at, customer_id, organization_id) "
            "SELECT true, '', '{}', true, g, 'S', '', 'open', 'low', '[]', '{}', false, now(), now(), %s, %s "
            "FROM generate_series(1, 3000) g",
            [customer.pk, other.pk],
        )
        cursor.execute("ANALYZE models_core_ticket")
    plan = _plan(Ticket.objects.filter(organization=org).order_by("-id")[:51])
    assert "idx_ticket_org_id" in plan and "Sort" not in plan


def test_the_comment_list_order_comes_from_an_index():
    org, other = OrganizationFactory(), OrganizationFactory()
    TicketCommentFactory.create_batch(3, ticket=TicketFactory(organization=org))
    # Many more comments of another organization, older, so walking the all-organizations index and filtering
    # is no option for the planner (on a near-empty table it is as cheap as the right index, and chosen).
    ticket = TicketFactory(organization=other)
    early = timezone.now() - datetime.timedelta(days=30)
    TicketComment.objects.bulk_create(
        TicketComment(ticket=ticket, content="x", created_at=early) for _ in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE models_core_ticketcomment")
    plan = _plan(TicketComment.objects.order_by("created_at", "id")[:51])
    assert "idx_comment_live_created" in plan and "Sort" not in plan
    plan = _plan(TicketComment.objects.filter(organization=org).order_by("created_at", "id")[:51])
    assert "idx_comment_org_created" in plan and "Sort" not in plan


def test_the_organization_filter_searches_instead_of_listing_every_organization(platform_client):
    for i in range(30):
        OrganizationFactory(name=f"Tenant {i:03}")
    assert Organization.objects.count() >= 30
    for url in ("/models_core/ticket/", "/models_core/user/"):
        body = platform_client.get(url).content.decode()
        assert "Tenant 008" not in body
