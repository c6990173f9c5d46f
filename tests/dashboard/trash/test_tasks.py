"""The trash's background jobs report progress and results on their JobRun, and re-check permissions."""

import pytest

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
