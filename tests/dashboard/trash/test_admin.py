"""Deleting in the normal admin moves records to the trash with a reason (MoveToTrashAdminMixin)."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from models_core.models import Ticket, TicketComment, UserPermission
from tests.factories import TicketCommentFactory, TicketFactory, UserPermissionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:models_core_ticket_changelist")


@pytest.fixture
def admin_client(client, platform_superuser):
    client.force_login(platform_superuser)
    return client


def test_the_bulk_action_replaces_delete_selected_and_asks_for_a_reason(admin_client):
    tickets = [TicketFactory() for _ in range(2)]
    TicketCommentFactory(ticket=tickets[0])
    page = admin_client.get(CHANGELIST).content.decode()
    assert 'value="move_to_trash"' in page and 'value="delete_selected"' not in page
    selection = {"action": "move_to_trash", "_selected_action": [t.pk for t in tickets]}
    confirm = admin_client.post(CHANGELIST, selection)
    assert confirm.status_code == 200 and "Why is this going to the trash?" in confirm.content.decode()
    assert Ticket.objects.count() == 2  # nothing happened yet
    assert admin_client.post(CHANGELIST, {**selection, "post": "yes", "reason": " "}).status_code == 200
    response = admin_client.post(CHANGELIST, {**selection, "post": "yes", "reason": "spam"}, follow=True)
    assert "Moved 2 tickets to the trash with 1 related row" in response.content.decode()
    assert Ticket.objects.count() == 0 and TicketComment.all_objects.get().is_deleted
    assert set(Ticket.all_objects.values_list("delete_reason", flat=True)) == {"spam"}
    assert LogEntry.objects.filter(change_message__startswith="Moved to the trash").count() == 2


def test_models_that_are_not_soft_deleted_keep_djangos_delete(admin_client):
    grant = UserPermissionFactory()
    url = reverse("admin:models_core_userpermission_delete", args=[grant.pk])
    assert "Why is this going to the trash?" not in admin_client.get(url).content.decode()
    admin_client.post(url, {"post": "yes"})
    assert not UserPermission.objects.filter(pk=grant.pk).exists()


def test_a_manager_without_delete_rights_cannot_move_to_the_trash(client, manager, organization):
    ticket = TicketFactory(organization=organization)
    client.force_login(manager)
    response = client.post(
        reverse("admin:models_core_ticket_delete", args=[ticket.pk]), {"post": "yes", "reason": "x"}
    )
    assert response.status_code == 403
    assert Ticket.objects.filter(pk=ticket.pk).exists()
