"""The index advisor's page and POSTs: who may, bad input, dismissals and their undo."""

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.dbhealth.models import AdviceDismissal, AdvisorRun, IndexAdvice
from dashboard.jobs.models import JobRun

pytestmark = pytest.mark.django_db

ADVISOR = reverse("dashboard:dbhealth:advisor")
RUN = reverse("dashboard:dbhealth:advisor_run")


@pytest.fixture
def advice():
    run = AdvisorRun.objects.create(started_at=timezone.now(), finished_at=timezone.now(), status="done")
    return IndexAdvice.objects.create(
        run=run,
        fingerprint="f" * 32,
        table_name="models_core_ticket",
        method="btree",
        definition="CREATE INDEX idx_x ON models_core_ticket USING btree (organization_id)",
        proven=True,
        proof="hypopg",
        cost_before=1000,
        cost_after=10,
        queries=[
            {
                "queryid": 1,
                "statement": "SELECT 1 WHERE a = $1",
                "calls": 3,
                "mean_ms": 1.0,
                "cost_before": 1000,
                "cost_after": 10,
            }
        ],
        model_label="models_core.Ticket",
        meta_entry='models.Index(fields=["organization"], name="idx_x")',
        migration="AddIndexConcurrently(...)",
    )


def test_the_page_shows_the_latest_advice_and_whether_hypopg_and_the_workload_are_there(client, dba, advice):
    client.force_login(dba)
    response = client.get(ADVISOR)
    body = response.content.decode()
    assert response.status_code == 200
    assert advice.definition in body
    assert 'data-testid="statements-status"' in body and "Available" in body
    assert "models.Index(fields=[&quot;organization&quot;], name=&quot;idx_x&quot;)" in body


@pytest.mark.parametrize("method,url", [("get", ADVISOR), ("post", RUN)])
def test_organization_bound_staff_and_staff_without_the_permission_get_403(
    client, make_staff, manager, method, url
):
    for user in (make_staff("DBAs"), manager):
        client.force_login(user)
        assert getattr(client, method)(url).status_code == 403


def test_run_queues_one_job_and_a_second_run_while_it_waits_is_refused(client, dba):
    client.force_login(dba)
    assert client.post(RUN).status_code == 302
    assert JobRun.objects.filter(kind="dbhealth_advisor").count() == 1
    assert client.post(RUN).status_code == 409
    assert client.get(RUN).status_code == 405


def test_dismiss_needs_a_reason_and_hides_the_advice_until_taken_back(client, dba, advice):
    client.force_login(dba)
    dismiss = reverse("dashboard:dbhealth:advice_dismiss", args=[advice.pk])
    assert client.post(dismiss, {"reason": "   "}).status_code == 400
    assert client.post(dismiss, {"reason": "We search by subject elsewhere"}).status_code == 302
    dismissal = AdviceDismissal.objects.get()
    assert dismissal.dismissed_by == dba and dismissal.fingerprint == advice.fingerprint

    body = client.get(ADVISOR).content.decode()
    assert 'data-testid="proven-advice"' not in body and "We search by subject elsewhere" in body

    revoke = reverse("dashboard:dbhealth:advice_dismissal_revoke", args=[dismissal.pk])
    assert client.post(revoke).status_code == 302
    assert 'data-testid="proven-advice"' in client.get(ADVISOR).content.decode()
    assert client.post(revoke).status_code == 404  # replayed


def test_dismissing_an_advice_that_does_not_exist_is_404(client, dba):
    client.force_login(dba)
    url = reverse("dashboard:dbhealth:advice_dismiss", args=[999999])
    assert client.post(url, {"reason": "x"}).status_code == 404


def _advisor_runs(runs: int, advice_each: int, dismissed: int, by) -> None:
    for r in range(runs):
        run = AdvisorRun.objects.create(
            started_at=timezone.now(), finished_at=timezone.now(), status="done", started_by=by
        )
        for n in range(advice_each):
            IndexAdvice.objects.create(
                run=run,
                fingerprint=f"{r}-{n}",
                table_name="models_core_ticket",
                method="btree",
                definition=f"CREATE INDEX idx_{r}_{n} ON models_core_ticket USING btree (organization_id)",
                proven=n % 3 != 0,
                proof="hypopg" if n % 3 else "none",
                cost_before=1000 + n,
                cost_after=10,
                queries=[
                    {
                        "queryid": q,
                        "statement": f"SELECT {q} WHERE a = $1",
                        "calls": 3,
                        "mean_ms": 1.0,
                        "cost_before": 1000,
                        "cost_after": 10,
                    }
                    for q in range(5)
                ],
                makes_redundant=["idx_ticket_org"],
                model_label="models_core.Ticket",
            )
    for n in range(dismissed):
        AdviceDismissal.objects.create(
            fingerprint=f"{runs - 1}-{n}",
            definition="CREATE INDEX ...",
            reason="no",
            dismissed_by=by,
            dismissed_at=timezone.now(),
        )


def test_the_page_reads_any_number_of_runs_advice_dismissals_indexes_and_statements_in_the_same_queries(
    client, dba
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(dba)
    counts = []
    for runs, advice_each, dismissed, indexes in ((1, 1, 0, 0), (25, 12, 6, 60)):
        IndexAdvice.objects.all().delete()
        AdvisorRun.objects.all().delete()
        AdviceDismissal.objects.all().delete()
        _advisor_runs(runs, advice_each, dismissed, dba)
        with connection.cursor() as cursor:
            if indexes:
                cursor.execute("CREATE TABLE advisor_wide (a int, b int, c int)")
            for n in range(indexes):  # more indexes, and as many more distinct statements
                cursor.execute(
                    f"CREATE INDEX advisor_wide_{n} ON advisor_wide ({'abc'[n % 3]}, {'bca'[n % 3]})"
                )
                cursor.execute(
                    f"SELECT count(*) FROM advisor_wide WHERE a = {n} AND b IN ({', '.join(['1'] * (n + 1))})"
                )
        client.get(ADVISOR)  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(ADVISOR)
        assert response.status_code == 200
        # The latest run's advice, every one not dismissed, proven or not, each with its statements.
        assert response.content.decode().count('data-testid="advice"') == advice_each - dismissed
        counts.append(len(queries))
    # The workload (pg_stat_statements) and the catalog are read on the advisor's own connection, once.
    assert counts[0] == counts[1], counts
