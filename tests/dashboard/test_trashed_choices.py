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


def test_changing_the_customer_keeps_the_trashed_agent(
    client, org_admin, organization, ticket_with_trashed_people
):
    """The agent rule reads the ticket's organization, not its customer: picking a new customer of a ticket
    whose agent is in the trash neither refuses the save nor touches the agent."""
    ticket, _, agent, _ = ticket_with_trashed_people
    new_customer = CustomerFactory(organization=organization)
    client.force_login(org_admin)
    response, _ = submit_untouched(client, ticket, customer=new_customer.pk)
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert (ticket.customer_id, ticket.assigned_agent_id) == (new_customer.pk, agent.pk)


def test_moving_a_ticket_with_a_trashed_agent_to_another_organization_is_refused(
    client, platform_superuser, other_organization, ticket_with_trashed_people
):
    """The agent rule reads the organization: once it changes, the kept agent is checked (and refused)."""
    ticket, _, _agent, _ = ticket_with_trashed_people
    stranger = CustomerFactory(organization=other_organization)
    client.force_login(platform_superuser)
    response, _ = submit_untouched(client, ticket, organization=other_organization.pk, customer=stranger.pk)
    assert response.status_code == 200
    assert "assigned_agent" in response.context["adminform"].form.errors
    assert Ticket.objects.get(pk=ticket.pk).organization_id != other_organization.pk


def test_making_a_trashed_customers_comment_an_internal_note_is_refused(
    client, org_admin, ticket_with_trashed_people
):
    """The internal-note rule reads the comment type and its author's role: changing the type checks the
    author kept in the trash; a customer's comment does not become an internal note."""
    _ticket, comment, _, customer = ticket_with_trashed_people
    TicketComment.all_objects.filter(pk=comment.pk).update(author=customer)
    client.force_login(org_admin)
    response, _ = submit_untouched(client, comment, comment_type="internal")
    assert response.status_code == 200
    assert "comment_type" in response.context["adminform"].form.errors
    assert TicketComment.objects.get(pk=comment.pk).comment_type == "public"


def test_making_it_internal_through_the_ticket_inline_is_refused_too(
    client, org_admin, ticket_with_trashed_people
):
    ticket, comment, _, customer = ticket_with_trashed_people
    TicketComment.all_objects.filter(pk=comment.pk).update(author=customer)
    client.force_login(org_admin)
    page = client.get(change_url(ticket))
    data, _ = untouched_form(page.content.decode(), "ticket_form")
    prefix = next(
        key[: -len("-id")]
        for key, value in data.items()
        if key.endswith("-id") and value == [str(comment.pk)]
    )
    data[f"{prefix}-comment_type"] = ["internal"]
    data["_save"] = ["Save"]
    response = client.post(change_url(ticket), data)
    assert response.status_code == 200
    assert TicketComment.objects.get(pk=comment.pk).comment_type == "public"


@pytest.mark.parametrize(
    ("model_name", "link"),
    [
        ("ticketcomment", "author"),
        ("ticketattachment", "uploaded_by"),
        ("knowledgebasearticle", "author"),
        ("usersession", "user"),
        ("userpermission", "user"),
        ("userpermission", "granted_by"),
    ],
)
def test_every_change_form_keeps_a_trashed_link_on_an_unchanged_save(
    client, platform_superuser, organization, model_name, link
):
    """Every admin form over a foreign key to users: an untouched link to a trashed user is kept."""
    from tests.factories import TicketAttachmentFactory, UserPermissionFactory, UserSessionFactory

    person = UserFactory(organization=organization, role="agent")
    ticket = TicketFactory(organization=organization, customer=CustomerFactory(organization=organization))
    make = {
        "ticketcomment": lambda: TicketCommentFactory(ticket=ticket, author=person),
        "ticketattachment": lambda: TicketAttachmentFactory(ticket=ticket, uploaded_by=person),
        "knowledgebasearticle": lambda: KnowledgeBaseArticleFactory(organization=organization, author=person),
        "usersession": lambda: UserSessionFactory(user=person),
        "userpermission": lambda: UserPermissionFactory(
            **(
                {"user": person}
                if link == "user"
                else {"user": UserFactory(organization=organization), "granted_by": person}
            )
        ),
    }
    obj = make[model_name]()
    person.soft_delete(reason="left")
    client.force_login(platform_superuser)
    response, _ = submit_untouched(client, obj)
    assert response.status_code == 302, response.context["adminform"].form.errors
    obj = type(obj)._base_manager.get(pk=obj.pk)
    assert getattr(obj, f"{link}_id") == person.pk
