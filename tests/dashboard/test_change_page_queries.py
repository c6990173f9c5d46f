"""A ticket's change page at scale: its inline rows (comments, attachments, paged 20 at a time) add no
queries of their own. Each row used to look up its ticket again (the comment's name reads it) and the row's
person and comment again (their autocomplete and id boxes show the chosen row's name): up to 80 queries
more for a full page of each."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import TicketAttachmentFactory, TicketCommentFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def change_page_queries(client, ticket) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/models_core/ticket/{ticket.pk}/change/")
    assert response.status_code == 200
    return [q["sql"] for q in captured]


def ticket_with(organization, rows: int):
    ticket = TicketFactory(organization=organization)
    for _ in range(rows):
        author = UserFactory(organization=organization, is_staff=True, role="agent")
        comment = TicketCommentFactory(ticket=ticket, author=author)
        TicketAttachmentFactory(ticket=ticket, comment=comment, uploaded_by=author)
    return ticket


@pytest.mark.parametrize("role", ["manager", "platform"])
def test_the_inline_rows_cost_no_queries_of_their_own(client, manager, platform_superuser, role):
    client.force_login(manager if role == "manager" else platform_superuser)
    small = ticket_with(manager.organization, 1)
    change_page_queries(client, small)  # what a session reads once (permissions) is not the page's
    one = change_page_queries(client, small)
    many = change_page_queries(client, ticket_with(manager.organization, 6))
    assert len(many) == len(one), "\n".join(many[len(one) - 3 :])


def row_options(page: str, comments) -> dict[int, list[tuple[str, str]]]:
    """Each comment's author options as its inline row renders them."""
    from tests.htmlforms import untouched_form

    data, options = untouched_form(page, "ticket_form")
    rows = {}
    for comment in comments:
        prefix = next(
            k[: -len("-id")] for k, v in data.items() if k.endswith("-id") and v == [str(comment.pk)]
        )
        rows[comment.pk] = [option for option in options[f"{prefix}-author"] if option[0]]
    return rows


def test_each_row_shows_what_its_own_lookup_showed(client, org_admin, organization, other_organization):
    # The rows' lookups are one query for the whole formset; what each row shows is still its own: a
    # trashed author only where it is that row's value, marked; another organization's author never.
    trashed = UserFactory(organization=organization, role="agent", first_name="Ada", last_name="Agent")
    live = UserFactory(organization=organization, role="agent", first_name="Liv", last_name="Live")
    foreign = UserFactory(
        organization=other_organization, role="agent", first_name="Secret", last_name="Name"
    )
    ticket = TicketFactory(organization=organization)
    with_trashed = TicketCommentFactory(ticket=ticket, author=trashed)
    with_live = TicketCommentFactory(ticket=ticket, author=live)
    with_foreign = TicketCommentFactory(ticket=ticket, author=live)
    type(with_foreign).all_objects.filter(pk=with_foreign.pk).update(author=foreign)  # a legacy link
    trashed.soft_delete(reason="left")
    client.force_login(org_admin)
    page = client.get(f"/models_core/ticket/{ticket.pk}/change/").content.decode()
    rows = row_options(page, [with_trashed, with_live, with_foreign])
    assert rows[with_trashed.pk] == [(str(trashed.pk), "Ada Agent (in the trash)")]
    assert rows[with_live.pk] == [(str(live.pk), "Liv Live")]
    assert rows[with_foreign.pk] == []
    assert "Secret Name" not in page


def test_a_trashed_author_picked_for_another_row_is_not_shown_when_the_form_comes_back(
    client, org_admin, organization
):
    # devtools: the live comment's author set to a trashed agent (another row's value); the save is refused
    # and the page comes back with the POST's values: that row shows no name for the trashed agent.
    from tests.htmlforms import untouched_form

    trashed = UserFactory(organization=organization, role="agent", first_name="Ada", last_name="Agent")
    ticket = TicketFactory(organization=organization)
    kept = TicketCommentFactory(ticket=ticket, author=trashed)
    live = TicketCommentFactory(ticket=ticket, author=None)
    trashed.soft_delete(reason="left")
    client.force_login(org_admin)
    url = f"/models_core/ticket/{ticket.pk}/change/"
    data, _ = untouched_form(client.get(url).content.decode(), "ticket_form")
    prefix = next(k[:-3] for k, v in data.items() if k.endswith("-id") and v == [str(live.pk)])
    data[f"{prefix}-author"] = [str(trashed.pk)]
    data["_save"] = ["Save"]
    response = client.post(url, data)
    assert response.status_code == 200
    rows = row_options(response.content.decode(), [kept, live])
    assert rows[kept.pk] == [(str(trashed.pk), "Ada Agent (in the trash)")]
    assert rows[live.pk] == []
