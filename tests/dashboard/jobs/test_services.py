import pytest
from django.db import IntegrityError, transaction
from procrastinate.contrib.django.models import ProcrastinateJob

from dashboard.jobs.models import JobRun
from dashboard.jobs.services import (
    ERROR_MAX_CHARS,
    job_run_begin,
    job_run_fail,
    job_run_finish,
    job_run_progress,
    job_run_start,
    job_run_tracked,
)
from dashboard.tasks import prune_job_runs

pytestmark = pytest.mark.django_db


def test_start_records_the_run_and_queues_the_task_with_its_id(manager):
    run = job_run_start("prune_job_runs", manager, prune_job_runs)
    run.refresh_from_db()
    assert run.status == JobRun.Status.QUEUED
    assert run.started_by == manager
    assert run.organization_id == manager.organization_id
    job = ProcrastinateJob.objects.get(pk=run.procrastinate_job_id)
    assert job.task_name == "dashboard.prune_job_runs"
    assert job.status == "todo"
    assert job.args == {"job_run_id": run.pk}


def test_start_is_atomic_with_the_callers_transaction(manager):
    with pytest.raises(RuntimeError), transaction.atomic():
        run = job_run_start("prune_job_runs", manager, prune_job_runs)
        raise RuntimeError("the request failed after starting the job")
    assert not JobRun.objects.filter(pk=run.pk).exists()
    assert not ProcrastinateJob.objects.filter(pk=run.procrastinate_job_id).exists()


def test_progress_then_finish(manager):
    run = JobRun.objects.create(kind="scan", started_by=manager)
    assert job_run_progress(run.pk, 3, 12)
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_total, run.percent) == ("running", 3, 12, 25)
    assert run.started_at is not None
    started_at = run.started_at

    assert job_run_progress(run.pk, 6)  # total is kept when not repeated
    assert job_run_finish(run.pk, {"violations": 4})
    run.refresh_from_db()
    assert (run.status, run.progress_done, run.percent, run.result) == (
        "succeeded",
        12,
        100,
        {"violations": 4},
    )
    assert run.started_at == started_at
    assert run.finished_at >= started_at


def test_a_finished_run_stays_finished(manager):
    run = JobRun.objects.create(kind="scan", started_by=manager)
    assert job_run_fail(run.pk, "x" * (ERROR_MAX_CHARS + 50))
    assert not job_run_progress(run.pk, 1, 2)
    assert not job_run_begin(run.pk)
    assert not job_run_finish(run.pk, {})
    run.refresh_from_db()
    assert run.status == "failed"
    assert len(run.error) == ERROR_MAX_CHARS


@pytest.mark.parametrize(("done", "total"), [(-1, None), (5, 4), (1, -2)])
def test_invalid_progress_is_refused(manager, done, total):
    run = JobRun.objects.create(kind="scan", started_by=manager)
    with pytest.raises(ValueError):
        job_run_progress(run.pk, done, total)


def test_database_refuses_progress_beyond_total(manager):
    with pytest.raises(IntegrityError), transaction.atomic():
        JobRun.objects.create(kind="scan", started_by=manager, progress_done=5, progress_total=4)


def test_tracked_task_records_success_and_failure(manager):
    @job_run_tracked
    def work(*, job_run_id, fail=False):
        assert JobRun.objects.get(pk=job_run_id).status == "running"
        if fail:
            raise LookupError("no such table")
        return {"ok": True}

    ok = JobRun.objects.create(kind="work", started_by=manager)
    assert work(job_run_id=ok.pk) == {"ok": True}
    ok.refresh_from_db()
    assert (ok.status, ok.result) == ("succeeded", {"ok": True})

    bad = JobRun.objects.create(kind="work", started_by=manager)
    with pytest.raises(LookupError):
        work(job_run_id=bad.pk, fail=True)
    bad.refresh_from_db()
    assert (bad.status, bad.error) == ("failed", "LookupError: no such table")
