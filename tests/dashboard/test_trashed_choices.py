"""An unchanged admin save keeps links to trashed rows (finding 1).

Peer: django-safedelete's `test_admin.py` / `test_foreignkey.py` (a soft-deleted related object stays
reachable through the foreign key); here the admin's choice widgets also keep it selectable, marked.
"""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from models_core.models import KnowledgeBaseArticle, Ticket, TicketComment
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)
from tests.htmlforms import untouched_form

pytestmark = pytest.mark.django_db


def change_url(obj) -> str:
    return reverse(f"admin:models_core_{obj._meta.model_name}_change", args=[obj.pk])


def submit_untouched(client, obj, **changes):
    page = client.get(change_url(obj))
    assert page.status_code == 200
    data, options = untouched_form(page.content.decode(), f"{obj._meta.model_name}_form")
    data.update({name: [str(value)] for name, value in changes.items()})
    data["_save"] = ["Save"]
    return client.post(change_url(obj), data), options


@pytest.fixture
def ticket_with_trashed_people(organization):
    agent = UserFactory(organization=organization, role="agent", first_name="Ada", last_name="Agent")
    customer = CustomerFactory(organization=organization, first_name="Cy", last_name="Customer")
    ticket = TicketFactory(organization=organization, customer=customer, assigned_agent=agent)
    comment = TicketCommentFactory(ticket=ticket, author=agent)
    agent.soft_delete(reason="left")
    customer.soft_delete(reason="gdpr")
    return ticket, comment, agent, customer


def test_unchanged_ticket_save_keeps_trashed_agent_customer_and_comment_author(
    client, org_admin, ticket_with_trashed_people
):
    ticket, comment, agent, customer = ticket_with_trashed_people
    client.force_login(org_admin)
    response, options = submit_untouched(client, ticket)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket.refresh_from_db()
    comment.refresh_from_db()
    assert ticket.assigned_agent_id == agent.pk and ticket.customer_id == customer.pk
    assert comment.author_id == agent.pk
    # The current values are shown, marked.
    assert (str(agent.pk), "Ada Agent (in the trash)") in options["assigned_agent"]
    assert (str(customer.pk), "Cy Customer (in the trash)") in options["customer"]
    log = LogEntry.objects.filter(object_id=str(ticket.pk)).order_by("-pk").first()
    assert "agent" not in log.get_change_message().lower()
    assert "customer" not in log.get_change_message().lower()


def test_unchanged_article_save_keeps_its_trashed_author(client, org_admin, organization):
    author = UserFactory(organization=organization, role="agent")
    article = KnowledgeBaseArticleFactory(organization=organization, author=author)
    author.soft_delete()
    client.force_login(org_admin)
    response, _ = submit_untouched(client, article)
    assert response.status_code == 302
    assert KnowledgeBaseArticle.objects.get(pk=article.pk).author_id == author.pk


def test_an_other_trashed_row_cannot_be_picked_by_a_forged_post(
    client, org_admin, organization, other_organization, ticket_with_trashed_people
):
    """Only the current value stays selectable: a devtools-edited form naming another trashed user, or a
    trashed user of another organization, is refused."""
    ticket, _, agent, _ = ticket_with_trashed_people
    other_trashed = UserFactory(organization=organization, role="agent")
    other_trashed.soft_delete()
    foreign_trashed = UserFactory(organization=other_organization, role="agent")
    foreign_trashed.soft_delete()
    client.force_login(org_admin)
    for forged in (other_trashed, foreign_trashed):
        response, _ = submit_untouched(client, ticket, assigned_agent=forged.pk)
        assert response.status_code == 200
        assert "assigned_agent" in response.context["adminform"].form.errors
        assert Ticket.objects.get(pk=ticket.pk).assigned_agent_id == agent.pk


def test_a_trashed_current_value_of_another_organization_is_not_shown(
    client, org_admin, organization, other_organization
):
    """A legacy link to another tenant's trashed user: its name never shows, nothing is written."""
    foreign = UserFactory(
        organization=other_organization, role="agent", first_name="Secret", last_name="Name"
    )
    ticket = TicketFactory(organization=organization, assigned_agent=foreign)
    foreign.soft_delete()
    client.force_login(org_admin)
    page = client.get(change_url(ticket)).content.decode()
    assert "Secret Name" not in page


def test_moving_a_comment_to_a_trashed_author_via_the_inline_is_refused(
    client, org_admin, ticket_with_trashed_people
):
    ticket, _, agent, _ = ticket_with_trashed_people
    live = TicketCommentFactory(ticket=ticket, author=None)
    client.force_login(org_admin)
    page = client.get(change_url(ticket))
    data, _ = untouched_form(page.content.decode(), "ticket_form")
    prefix = next(
        key[: -len("-id")] for key, value in data.items() if key.endswith("-id") and value == [str(live.pk)]
    )
    data[f"{prefix}-author"] = [str(agent.pk)]  # devtools: pick the trashed agent for the live comment
    data["_save"] = ["Save"]
    response = client.post(change_url(ticket), data)
    assert response.status_code == 200
    assert TicketComment.objects.get(pk=live.pk).author_id is None
