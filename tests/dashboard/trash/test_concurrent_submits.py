"""A purge or restore that another request (or a double click) finished first: clear answers, never a 500,
and the person who clicked twice sees what their first click did."""

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from dashboard.trash import plans, services
from dashboard.trash.models import PurgeRecord
from models_core.models import Ticket
from tests.factories import OrganizationFactory, TicketCommentFactory, TicketFactory

pytestmark = pytest.mark.django_db


def fresh(obj):
    return type(obj).all_objects.get(pk=obj.pk)


@pytest.fixture
def trashed_ticket(organization):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete()
    return fresh(ticket)


def test_a_purge_preview_of_a_row_purged_meanwhile_is_404_not_500(
    trashed_ticket, org_admin, client, monkeypatch
):
    real = plans.trash_purge_preview

    def purged_meanwhile(user, items):
        # Another request purges the selection between this one reading it and previewing its cascade.
        services.trash_purge(org_admin, [fresh(i) for i in items], "race")
        return real(user, items)

    monkeypatch.setattr(plans, "trash_purge_preview", purged_meanwhile)
    client.force_login(org_admin)
    response = client.get(
        reverse("dashboard:trash:purge"), {"items": f"models_core.ticket:{trashed_ticket.pk}"}
    )
    assert response.status_code == 404
    assert "not in the trash any more: restored or purged meanwhile" in response.content.decode()


def test_a_purge_preview_of_a_comment_whose_ticket_went_meanwhile(
    organization, org_admin, client, monkeypatch
):
    ticket = TicketFactory(organization=organization)
    comment = TicketCommentFactory(ticket=ticket)
    comment.soft_delete()
    ticket.soft_delete()
    real = plans.trash_purge_preview

    def purged_meanwhile(user, items):
        services.trash_purge(org_admin, [fresh(ticket)], "race")
        return real(user, items)

    monkeypatch.setattr(plans, "trash_purge_preview", purged_meanwhile)
    client.force_login(org_admin)
    response = client.get(
        reverse("dashboard:trash:purge"), {"items": f"models_core.ticketcomment:{comment.pk}"}
    )
    assert response.status_code == 404
    assert "not in the trash any more: restored or purged meanwhile" in response.content.decode()


def test_a_purge_preview_of_a_ticket_whose_organization_went_meanwhile(
    platform_superuser, client, monkeypatch
):

    org = OrganizationFactory()
    ticket = TicketFactory(organization=org)
    ticket.soft_delete()
    org.soft_delete()
    real = plans.trash_purge_preview

    def purged_meanwhile(user, items):
        services.trash_purge(platform_superuser, [fresh(org)], "race")
        return real(user, items)

    monkeypatch.setattr(plans, "trash_purge_preview", purged_meanwhile)
    client.force_login(platform_superuser)
    response = client.get(reverse("dashboard:trash:purge"), {"items": f"models_core.ticket:{ticket.pk}"})
    assert response.status_code == 404
    assert "not in the trash any more: restored or purged meanwhile" in response.content.decode()


def purge_post(client, obj, **extra):
    data = {"items": f"models_core.{obj._meta.model_name}:{obj.pk}", "reason": "gdpr", **extra}
    return client.post(reverse("dashboard:trash:purge"), data, follow=True)


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_repeated_purge_submit_shows_the_first_ones_result(trashed_ticket, org_admin, client):
    client.force_login(org_admin)
    [first] = shown(purge_post(client, trashed_ticket))
    assert first.startswith("Purged 1 of 1: Ticket #")
    # The second POST of a double click finds the row gone: it answers with what the first did.
    second = purge_post(client, trashed_ticket)
    assert second.status_code == 200
    [row] = shown(second)
    assert row.startswith("Purged 1 of 1: Ticket #") and "2 ticket comments" in row
    assert "— by your earlier request at" in row
    assert PurgeRecord.objects.count() == 1


def test_a_colleague_who_submits_second_is_told_who_purged_it(trashed_ticket, org_admin, make_staff, client):
    client.force_login(org_admin)
    purge_post(client, trashed_ticket)
    colleague = make_staff("Admins", username="colleague")
    client.force_login(colleague)
    [row] = shown(purge_post(client, trashed_ticket))
    assert f"Already purged by {org_admin.username} at" in row and "nothing left to do" in row


def test_another_organizations_purge_is_not_told(
    trashed_ticket, org_admin, make_staff, other_organization, client
):
    client.force_login(org_admin)
    purge_post(client, trashed_ticket)
    client.force_login(make_staff("Admins", organization=other_organization))
    response = purge_post(client, trashed_ticket)
    assert response.status_code == 404
    assert org_admin.username not in response.content.decode()


def test_a_repeated_restore_submit_shows_the_first_ones_result(trashed_ticket, org_admin, client):
    client.force_login(org_admin)
    data = {"items": f"models_core.ticket:{trashed_ticket.pk}"}
    client.post(reverse("dashboard:trash:restore"), data, follow=True)
    second = client.post(reverse("dashboard:trash:restore"), data, follow=True)
    assert second.status_code == 200
    [row] = shown(second)
    assert row.startswith("Restored 1 of 1: Ticket #") and "(by your earlier request at" in row
    assert Ticket.objects.filter(pk=trashed_ticket.pk).exists()


def test_a_second_job_of_a_double_submit_reports_the_first_ones_purge(trashed_ticket, org_admin):
    named = services.trash_items_named([trashed_ticket])
    [first] = services.trash_purge_named(org_admin, named, "gdpr")
    [second] = services.trash_purge_named(org_admin, named, "gdpr")
    assert first.ok and second.ok
    assert "by your earlier request" in second.message


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_both_answer_with_the_one_purge(organization, make_staff):
    """The double click for real: two POSTs in two threads, the second waiting on the first's row locks."""
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete()
    user = make_staff("Admins", username="clicker")
    answers: list = []
    barrier = threading.Barrier(2)

    def submit():
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            answers.append(purge_post(client, ticket))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [200, 200]
    for answer in answers:
        [row] = shown(answer)
        assert row.startswith("Purged 1 of 1: Ticket #"), row
    assert PurgeRecord.objects.count() == 1
    assert not Ticket.all_objects.filter(pk=ticket.pk).exists()
