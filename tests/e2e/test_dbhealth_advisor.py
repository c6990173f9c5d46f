"""Browser test of the index advisor: a DBA reads an advice, dismisses it with a reason, takes it back."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dashboard.dbhealth.models import AdviceDismissal, AdvisorRun, IndexAdvice
from dashboard.jobs.models import JobRun

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dba_reads_dismisses_and_restores_an_advice_and_queues_a_run(page, sign_in, dba):
    run = AdvisorRun.objects.create(
        started_at=timezone.now(), finished_at=timezone.now(), status="done", statements_examined=3
    )
    IndexAdvice.objects.create(
        run=run,
        fingerprint="a" * 32,
        table_name="models_core_ticket",
        method="btree",
        definition="CREATE INDEX idx_ticket_org_del_id_60cd1 ON models_core_ticket USING btree "
        "(organization_id, deleted_at DESC, id DESC) WHERE deleted_at IS NOT NULL",
        proven=True,
        proof="hypopg",
        cost_before=900,
        cost_after=100,
        estimated_size_bytes=8192,
        queries=[
            {
                "queryid": 1,
                "statement": "SELECT id FROM models_core_ticket WHERE organization_id = $1",
                "calls": 3,
                "mean_ms": 2.5,
                "cost_before": 300,
                "cost_after": 33,
            }
        ],
        model_label="models_core.Ticket",
        meta_entry="models.Index(fields=['organization', '-deleted_at', '-id'], name='idx_ticket_odi')",
        migration="class Migration(migrations.Migration): ...",
    )
    sign_in(dba)
    page.locator("#nav-sidebar").get_by_role("link", name="Index advisor").click()
    page.wait_for_url("**/dashboard/dbhealth/advisor/")
    expect(page.get_by_test_id("hypopg-status")).to_contain_text("Available")
    advice = page.get_by_test_id("proven-advice").get_by_test_id("advice")
    expect(advice.get_by_test_id("advice-definition")).to_contain_text(
        "(organization_id, deleted_at DESC, id DESC)"
    )
    expect(advice).to_contain_text("9.0\u00d7 cheaper")
    expect(advice.get_by_test_id("advice-meta")).to_contain_text(
        "fields=['organization', '-deleted_at', '-id']"
    )

    # Keyboard only: type the reason, press Enter to submit the dismissal.
    advice.get_by_label("Reason to dismiss").fill("The trash list is rewritten next sprint")
    advice.get_by_label("Reason to dismiss").press("Enter")
    expect(page.get_by_text("Dismissed: CREATE INDEX")).to_be_visible()
    expect(page.get_by_test_id("proven-advice")).to_have_count(0)
    expect(page.get_by_test_id("dismissals")).to_contain_text("The trash list is rewritten next sprint")
    assert AdviceDismissal.objects.get().dismissed_by == dba

    page.get_by_test_id("dismissals").get_by_role("button", name="Take back").click()
    expect(page.get_by_test_id("proven-advice")).to_be_visible()

    page.get_by_role("button", name="Run the advisor").click()
    expect(page.get_by_test_id("advisor-pending")).to_be_visible()
    assert JobRun.objects.filter(kind="dbhealth_advisor").count() == 1
