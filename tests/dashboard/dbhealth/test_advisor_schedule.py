"""The index advisor runs daily on its own: through a real worker, into the history, never twice at once."""

from __future__ import annotations

import pytest
from django.urls import reverse
from procrastinate.contrib.django import app

from dashboard.dbhealth.advisor.selectors import ADVISOR_KIND
from dashboard.dbhealth.advisor.services import advisor_run_start
from dashboard.dbhealth.models import AdvisorRun
from dashboard.dbhealth.tasks import advisor_schedule
from dashboard.jobs.models import JobRun
from dashboard.jobs.selectors import job_run_may_manage
from tests.worker import run_queued_jobs

ADVISOR = reverse("dashboard:dbhealth:advisor")


def test_the_advisor_is_scheduled_daily_on_the_housekeeping_queue_apart_from_the_other_daily_jobs():
    periodic = {task.task.name: task for task in app.periodic_registry.periodic_tasks.values()}
    schedule = periodic["dbhealth.advisor_schedule"]
    assert schedule.task.queue == "housekeeping"
    minute, hour, *every = schedule.cron.split()
    assert every == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()  # once a day
    others = {t.cron for name, t in periodic.items() if name != "dbhealth.advisor_schedule"}
    assert schedule.cron not in others


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_run_goes_through_a_worker_into_the_history(client, dba, make_staff):
    advisor_schedule.defer(timestamp=0)  # what procrastinate's scheduler does once a day
    run_queued_jobs()

    job = JobRun.objects.get(kind=ADVISOR_KIND)
    assert job.status == "succeeded", job.error
    assert job.started_by is None
    # By its id: a job another test queued and left behind (the queue's tables outlive a test) may run too.
    run = AdvisorRun.objects.get(pk=job.result["advisor_run"])
    assert run.status == "done" and run.started_by is None
    # Other platform DBAs may follow (and retry) the schedule's runs, as they may a colleague's.
    assert job_run_may_manage(dba, job)
    assert not job_run_may_manage(make_staff("DBAs"), job)  # an organization-bound DBA: not theirs

    client.force_login(dba)
    history = client.get(ADVISOR).content.decode().split('data-testid="advisor-history"')[1]
    assert "daily schedule" in history and "Done" in history


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["queued", "running"])
def test_the_schedule_skips_while_a_run_is_queued_or_running(dba, status):
    pending = advisor_run_start(user=dba)
    JobRun.objects.filter(pk=pending.pk).update(status=status)

    result = advisor_schedule(timestamp=0)

    assert "already queued or running" in result["skipped"]
    assert list(JobRun.objects.filter(kind=ADVISOR_KIND).values_list("pk", flat=True)) == [pending.pk]


@pytest.mark.django_db
def test_the_schedule_queues_again_once_the_last_run_finished(dba):
    first = advisor_run_start(user=dba)
    JobRun.objects.filter(pk=first.pk).update(status="succeeded")

    result = advisor_schedule(timestamp=0)

    assert JobRun.objects.filter(kind=ADVISOR_KIND).exclude(pk=first.pk).get().pk == result["queued"]


@pytest.mark.django_db
def test_a_dba_run_while_the_scheduled_one_waits_is_refused(client, dba):
    advisor_schedule(timestamp=0)
    client.force_login(dba)
    response = client.post(reverse("dashboard:dbhealth:advisor_run"))
    assert response.status_code == 409
    assert JobRun.objects.filter(kind=ADVISOR_KIND).count() == 1
    assert 'data-testid="advisor-pending"' in client.get(ADVISOR).content.decode()
