"""Report pages per group and organization: permissions, scoping, export, waivers, bad input."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.validation import services
from dashboard.validation.models import ValidationScan, Waiver
from models_core.models import Ticket
from models_core.validation import validator

pytestmark = pytest.mark.django_db

INDEX = reverse("dashboard:validation:index")
SUBJECT = reverse("dashboard:validation:rule", args=["ticket", "subject_required"])


def scan():
    return services.validation_scan_run(services.validation_scan_create(None).pk)


@pytest.mark.parametrize(("who", "status"), [("manager", 200), ("org_admin", 200), ("dba", 403)])
def test_overview_permission_per_group(client, request, who, status, legacy_rows):
    scan()
    client.force_login(request.getfixturevalue(who))
    assert client.get(INDEX).status_code == status
    assert client.get(SUBJECT).status_code == status


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(INDEX)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_overview_counts_are_scoped_to_the_organization(client, manager, platform_superuser, legacy_rows):
    scan()
    client.force_login(manager)
    page = client.get(INDEX)
    rows = {(r.model_label, r.rule_name): r for r in page.context["rows"]}
    assert rows["models_core.ticket", "subject_required"].violations == 2  # not the other organization's 1
    assert "validation-by-rule" in page.content.decode()
    client.force_login(platform_superuser)
    rows = {(r.model_label, r.rule_name): r for r in client.get(INDEX).context["rows"]}
    assert rows["models_core.ticket", "subject_required"].violations == 3


def test_overview_query_count_does_not_grow_with_data(
    client, manager, legacy_rows, django_assert_max_num_queries
):
    scan()
    scan()
    client.force_login(manager)
    with django_assert_max_num_queries(20):
        assert client.get(INDEX).status_code == 200


def test_rule_page_lists_only_the_viewers_failing_records(client, manager, legacy_rows):
    scan()
    client.force_login(manager)
    page = client.get(SUBJECT)
    ids = {row.obj.pk for row in page.context["rows"]}
    assert ids == {t.pk for t in legacy_rows["blank"]}
    assert legacy_rows["other_blank"].pk not in ids


def test_rule_page_keyset_pagination(client, manager, legacy_rows, monkeypatch):
    from dashboard.validation import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 1)
    monkeypatch.setattr(selectors.failing_rows_page, "__defaults__", (None, 1))
    scan()
    client.force_login(manager)
    first = client.get(SUBJECT)
    assert len(first.context["rows"]) == 1 and first.context["next_after"]
    second = client.get(SUBJECT, {"after": first.context["next_after"]})
    assert second.context["rows"][0].obj.pk != first.context["rows"][0].obj.pk
    assert client.get(SUBJECT, {"after": "abc"}).status_code == 400


def test_rule_without_query_lists_the_latest_scan(client, manager, legacy_rows):
    client.force_login(manager)
    url = reverse("dashboard:validation:rule", args=["user", "skills_string_list"])
    assert client.get(url).context["rows"] == []  # nothing scanned yet
    scan()
    assert [row.obj.pk for row in client.get(url).context["rows"]] == [legacy_rows["skills"].pk]


@pytest.mark.parametrize(
    "path", [["ticket", "nope"], ["nomodel", "subject_required"], ["user", "subject_required"]]
)
def test_unknown_rules_are_404(client, manager, path):
    client.force_login(manager)
    assert client.get(reverse("dashboard:validation:rule", args=path)).status_code == 404


def test_export_csv_and_xlsx_are_scoped(client, manager, legacy_rows):
    scan()
    client.force_login(manager)
    export = reverse("dashboard:validation:export", args=["ticket", "subject_required"])
    csv = client.get(export, {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().strip().splitlines()
    assert lines[0] == "id,record,organization_id,field,value,rule"
    assert {int(line.split(",")[0]) for line in lines[1:]} == {t.pk for t in legacy_rows["blank"]}

    xlsx = client.get(export, {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3  # header + the organization's two tickets
    assert client.get(export, {"format": "pdf"}).status_code == 400


def test_scan_start_is_post_only_admin_only_and_refuses_a_double_submit(client, manager, org_admin):
    start = reverse("dashboard:validation:scan_start")
    client.force_login(manager)
    assert client.post(start).status_code == 403
    client.force_login(org_admin)
    assert client.get(start).status_code == 405
    assert client.post(start).status_code == 302
    scan_ = ValidationScan.objects.get()
    assert scan_.status == "queued" and scan_.job_run.kind == "validation_scan"
    again = client.post(start)
    assert again.status_code == 409 and "already queued" in again.content.decode()
    assert ValidationScan.objects.count() == 1
    assert client.get(INDEX).context["running"] == scan_


def test_waiver_flow_and_its_refusals(client, org_admin, manager, legacy_rows):
    scan()
    waive = reverse("dashboard:validation:waive", args=["ticket", "subject_required"])
    ticket = legacy_rows["blank"][0]
    until = (timezone.now() + datetime.timedelta(days=10)).date().isoformat()
    client.force_login(manager)
    assert client.post(waive, {"object_id": ticket.pk, "reason": "x", "expires_at": until}).status_code == 403

    client.force_login(org_admin)
    # Another organization's record answers like a record that does not exist.
    other = {"object_id": legacy_rows["other_blank"].pk, "reason": "x", "expires_at": until}
    assert client.post(waive, other).status_code == 404
    assert client.post(waive, {"object_id": "abc", "reason": "x", "expires_at": until}).status_code == 404
    bad_date = client.post(waive, {"object_id": ticket.pk, "reason": "x", "expires_at": "tomorrow"})
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.content.decode()
    assert client.post(waive, {"object_id": ticket.pk, "reason": "", "expires_at": until}).status_code == 400

    response = client.post(waive, {"object_id": ticket.pk, "reason": "Legacy import", "expires_at": until})
    assert response.status_code == 302
    waiver = Waiver.objects.get()
    assert waiver.organization_id == ticket.organization_id and waiver.created_by == org_admin
    page = client.get(SUBJECT)
    assert next(r for r in page.context["rows"] if r.obj.pk == ticket.pk).waiver == waiver

    revoke = reverse("dashboard:validation:revoke", args=[waiver.pk])
    assert client.get(revoke).status_code == 405
    assert client.post(revoke).status_code == 302
    assert not Waiver.objects.exists()


def test_another_organizations_waiver_cannot_be_revoked(client, org_admin, legacy_rows, platform_superuser):
    rule = validator.get_rule(Ticket, "subject_required")
    waiver = services.waiver_accept(
        user=platform_superuser,
        model=Ticket,
        rule=rule,
        instance=legacy_rows["other_blank"],
        reason="ok",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    client.force_login(org_admin)
    assert client.post(reverse("dashboard:validation:revoke", args=[waiver.pk])).status_code == 404
    assert Waiver.objects.filter(pk=waiver.pk).exists()


def test_overview_of_an_unknown_scan_is_404(client, manager):
    client.force_login(manager)
    assert client.get(INDEX, {"scan": "abc"}).status_code == 404
    assert client.get(INDEX, {"scan": "999"}).status_code == 404


def test_while_a_scan_runs_the_page_says_so_once_and_run_scan_is_disabled(client, org_admin):
    services.validation_scan_create(org_admin)  # queued, not finished: no report yet
    client.force_login(org_admin)
    page = client.get(INDEX).content.decode()
    assert 'data-testid="scan-running"' in page
    assert 'data-testid="no-scan"' not in page
    assert "Run a scan to see" not in page
    assert 'disabled aria-disabled="true" data-testid="run-scan"' in page


def test_rule_page_names_the_field_in_words_and_offers_no_export_of_nothing(client, manager):
    scan()  # no ticket breaks the rule
    client.force_login(manager)
    page = client.get(
        reverse("dashboard:validation:rule", args=["ticket", "customer_satisfaction_score_range"])
    )
    page = page.content.decode()
    assert "Customer satisfaction score</th>" in page
    assert "customer_satisfaction_score</th>" not in page
    assert 'data-testid="rule-exports"' not in page
