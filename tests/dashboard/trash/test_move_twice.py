"""Moving to the trash twice, or saving what someone else just moved there, loses nothing and logs nothing."""

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.urls import reverse

from dashboard.helpdesk.admin.tickets import TicketAdmin
from dashboard.trash.services import trash_soft_delete
from models_core.models import Ticket
from tests.concurrency import run_blocked_behind
from tests.factories import TicketFactory


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_moves_to_the_trash_move_and_log_once(staff_groups, make_staff):
    """Two staff submit "move to trash" for one ticket at once: the second waits for the first, then says
    nothing was moved and writes no admin-log entry naming a batch that never existed."""
    user = make_staff("Admins", organization=None, is_superuser=True)
    ticket = TicketFactory()
    queryset = Ticket.objects.filter(pk=ticket.pk)
    with pytest.raises(ValidationError, match="already in the trash"):
        run_blocked_behind(
            lambda: trash_soft_delete(user, queryset, "first"),
            lambda: trash_soft_delete(user, queryset, "second"),
        )
    assert LogEntry.objects.filter(object_id=str(ticket.pk)).count() == 1
    assert Ticket.all_objects.get(pk=ticket.pk).delete_reason == "first"


@pytest.mark.django_db
def test_a_replayed_delete_post_says_nothing_was_moved(client, platform_superuser):
    ticket = TicketFactory()
    client.force_login(platform_superuser)
    url = reverse("admin:models_core_ticket_delete", args=[ticket.pk])
    client.post(url, {"post": "yes", "reason": "spam"})
    page = client.post(url, {"post": "yes", "reason": "spam"}, follow=True).content.decode()
    assert "Moved 0" not in page
    assert LogEntry.objects.filter(object_id=str(ticket.pk)).count() == 1


@pytest.mark.django_db
def test_saving_a_ticket_someone_moved_to_the_trash_is_a_message_not_a_500(
    client, platform_superuser, monkeypatch
):
    """Session A opened the change form, session B moved the ticket to the trash while A's POST was being
    handled (between loading the row and writing it): A gets a clear message, the ticket stays trashed."""
    ticket = TicketFactory()
    client.force_login(platform_superuser)
    url = reverse("admin:models_core_ticket_change", args=[ticket.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "organization": ticket.organization_id,
            "customer": ticket.customer_id,
            "subject": "A's edit",
            "tags": "[]",
            "custom_fields": "{}",
        }
    )
    for prefix in ("comments", "attachments"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    original = TicketAdmin.save_model

    def save_model_after_b(self, request, obj, form, change):
        trash_soft_delete(platform_superuser, Ticket.objects.filter(pk=obj.pk), "B was faster")
        return original(self, request, obj, form, change)

    monkeypatch.setattr(TicketAdmin, "save_model", save_model_after_b)
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "moved to the trash after you opened it" in response.content.decode()
    row = Ticket.all_objects.get(pk=ticket.pk)
    # The whole request rolled back: B's move too (it ran inside A's transaction here), A's edit not written.
    assert row.subject != "A's edit"
