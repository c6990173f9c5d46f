"""The trash's background jobs report progress and results on their JobRun, and re-check permissions."""

import pytest
from django.contrib.admin.models import LogEntry

from dashboard.jobs.models import JobRun
from dashboard.trash.models import PurgeRecord
from dashboard.trash.tasks import trash_purge_expired_task, trash_purge_task, trash_restore_task
from models_core.models import Ticket
from tests.factories import TicketCommentFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trashed(organization):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory(ticket=ticket)
    ticket.soft_delete()
    return ticket


def test_restore_job_finishes_with_each_outcome(manager, trashed):
    run = JobRun.objects.create(kind="trash_restore", started_by=manager)
    trash_restore_task(
        user_id=manager.pk, items=[f"models_core.ticket:{trashed.pk}"], parent_batches=[], job_run_id=run.pk
    )
    run.refresh_from_db()
    assert run.status == JobRun.Status.SUCCEEDED and run.percent == 100
    assert run.result["outcomes"][0]["ok"] is True
    assert Ticket.objects.filter(pk=trashed.pk).exists()


def test_purge_job_fails_when_the_user_lost_the_right(manager, trashed):
    run = JobRun.objects.create(kind="trash_purge", started_by=manager)
    with pytest.raises(PermissionError):
        trash_purge_task(user_id=manager.pk, items=[f"models_core.ticket:{trashed.pk}"], job_run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED and "no longer purge" in run.error
    assert Ticket.all_objects.filter(pk=trashed.pk).exists()


def test_the_periodic_purge_takes_what_is_due(trashed):
    from django.utils import timezone

    Ticket.all_objects.filter(pk=trashed.pk).update(auto_delete_at=timezone.now())
    result = trash_purge_expired_task(timestamp=0)
    assert result["purged"]["models_core.Ticket"] == 1
    assert PurgeRecord.objects.get().trigger == PurgeRecord.Trigger.RETENTION


def test_a_restore_retried_late_leaves_a_later_deletion_alone(manager, organization):
    """Killed at 21:40, retried at 22:26: the ticket was restored and deleted again at 22:10 in between."""
    from dashboard.trash.services import trash_items_named

    ticket = TicketFactory(organization=organization)
    ticket.soft_delete()
    named = trash_items_named([Ticket.all_objects.get(pk=ticket.pk)])
    Ticket.all_objects.get(pk=ticket.pk).restore()
    Ticket.objects.get(pk=ticket.pk).soft_delete(reason="deleted again at 22:10")
    later_batch = Ticket.all_objects.get(pk=ticket.pk).deletion_batch

    run = JobRun.objects.create(kind="trash_restore", started_by=manager)
    result = trash_restore_task(user_id=manager.pk, items=named, parent_batches=[], job_run_id=run.pk)
    assert result["outcomes"][0]["ok"] is False and "Deleted again since" in result["outcomes"][0]["message"]
    assert Ticket.all_objects.get(pk=ticket.pk).deletion_batch == later_batch  # still in the trash


def test_a_restore_run_twice_restores_once(manager, trashed):
    from dashboard.trash.services import trash_items_named

    named = trash_items_named([Ticket.all_objects.get(pk=trashed.pk)])
    first = JobRun.objects.create(kind="trash_restore", started_by=manager)
    trash_restore_task(user_id=manager.pk, items=named, parent_batches=[], job_run_id=first.pk)
    second = JobRun.objects.create(kind="trash_restore", started_by=manager)
    result = trash_restore_task(user_id=manager.pk, items=named, parent_batches=[], job_run_id=second.pk)
    # The second run restores nothing and says what the first did.
    [outcome] = result["outcomes"]
    assert outcome["ok"] and "Restored by your earlier request at" in outcome["message"]
    assert Ticket.objects.filter(pk=trashed.pk).exists()
    assert LogEntry.objects.filter(change_message__startswith="Restored from the trash").count() == 1
