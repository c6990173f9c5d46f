"""Scans: counts equal a direct SQL count, new/resolved between runs, errored rules, streaming, waivers."""

import datetime

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from dashboard.validation import services
from dashboard.validation.models import ScanOrganizationCount, ScanResult, ValidationScan, Violation, Waiver
from dashboard.validation.selectors import SCAN_RUN_LOCK
from models_core.locks import advisory_session_key
from models_core.models import Ticket, User
from models_core.validation import ValidationRule, validator

pytestmark = pytest.mark.django_db


def run_scan(user=None) -> ValidationScan:
    return services.validation_scan_run(services.validation_scan_create(user).pk)


def result(scan, model, rule_name) -> ScanResult:
    return ScanResult.objects.get(scan=scan, model_label=model._meta.label_lower, rule_name=rule_name)


def sql_count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_scan_counts_equal_a_direct_sql_count(legacy_rows):
    scan = run_scan()
    assert scan.status == "succeeded"
    assert (
        result(scan, Ticket, "subject_required").violations
        == sql_count(
            "SELECT count(*) FROM models_core_ticket WHERE deleted_at IS NULL AND subject ~ '^\\s*$'"
        )
        == 3
    )
    assert (
        result(scan, Ticket, "agent_same_organization").violations
        == sql_count(
            "SELECT count(*) FROM models_core_ticket t JOIN models_core_user u ON u.id = t.assigned_agent_id "
            "WHERE t.deleted_at IS NULL AND u.organization_id IS DISTINCT FROM t.organization_id"
        )
        == 1
    )
    # A rule without a query streams the rows; same answer.
    skills = result(scan, User, "skills_string_list")
    assert not skills.has_query and skills.violations == 1 and skills.checked == User.objects.count()
    assert scan.violations_total == sum(r.violations for r in scan.results.all())
    assert scan.rules_total == sum(len(validator.rules_for(m)) for m in validator.models())


def test_counts_per_organization_and_samples(legacy_rows, organization, other_organization):
    scan = run_scan()
    subject = result(scan, Ticket, "subject_required")
    per_org = {c.organization_id: c.violations for c in subject.organization_counts.all()}
    assert per_org == {organization.pk: 2, other_organization.pk: 1}
    assert subject.sample_ids == sorted(t.pk for t in [*legacy_rows["blank"], legacy_rows["other_blank"]])


def test_new_and_resolved_between_runs(legacy_rows):
    first = run_scan()
    assert result(first, Ticket, "subject_required").new == 3
    fixed = legacy_rows["blank"][0]
    Ticket.objects.filter(pk=fixed.pk).update(subject="Now with a subject")
    Ticket.objects.filter(pk=legacy_rows["fine"].pk).update(subject="")

    second = run_scan()
    r = result(second, Ticket, "subject_required")
    assert (r.violations, r.new, r.resolved) == (3, 1, 1)
    still = Violation.objects.get(
        model_label="models_core.ticket", rule_name="subject_required", object_id=legacy_rows["blank"][1].pk
    )
    assert (still.first_seen_scan_id, still.resolved_scan_id) == (first.pk, None)
    gone = Violation.objects.get(
        model_label="models_core.ticket", rule_name="subject_required", object_id=fixed.pk
    )
    assert (gone.first_seen_scan_id, gone.resolved_scan_id) == (first.pk, second.pk)

    # A violation that comes back after being resolved counts as new again.
    Ticket.objects.filter(pk=fixed.pk).update(subject="")
    third = run_scan()
    assert result(third, Ticket, "subject_required").new == 1
    back = Violation.objects.get(
        model_label="models_core.ticket", rule_name="subject_required", object_id=fixed.pk
    )
    assert back.first_seen_scan_id == third.pk


def test_a_rule_that_raises_is_reported_and_the_scan_goes_on(legacy_rows):
    class Broken(ValidationRule):
        kind = "broken"

        def is_valid(self, value, instance):
            raise RuntimeError("boom")

    rule = Broken("description", name="broken")
    validator.add_model_rules(Ticket, [rule])
    try:
        scan = run_scan()
    finally:
        validator._rules["models_core.ticket"].remove(rule)
    broken = result(scan, Ticket, "broken")
    assert broken.errored and "RuntimeError: boom" in broken.error_message
    assert scan.status == "succeeded" and scan.rules_errored == 1
    assert result(scan, Ticket, "subject_required").violations == 3


def test_only_one_scan_at_a_time():
    scan = services.validation_scan_create(None)
    with pytest.raises(services.ScanRefused):
        services.validation_scan_create(None)
    done = services.validation_scan_run(scan.pk)
    # Run again (a job delivered twice): nothing is done twice.
    assert services.validation_scan_run(scan.pk).finished_at == done.finished_at
    assert ScanResult.objects.filter(scan=scan).count() == done.rules_total
    services.validation_scan_create(None)


def test_a_scan_whose_runner_died_does_not_block_and_its_retry_resumes(legacy_rows):
    from dashboard.jobs.services import job_run_fail

    # The worker was killed mid-scan: the scan says "running", its run lock is gone with the connection,
    # its JobRun failed (the stalled-job reconciler).
    scan = services.validation_scan_start(None)
    pairs = services.scan_rules()
    ValidationScan.objects.filter(pk=scan.pk).update(status="running")
    services._rule_scan(scan, *pairs[0])  # the first rule's result was committed before the kill
    job_run_fail(scan.job_run_id, "Its worker stopped")

    # The retry resumes: the stored rule is not run again, the rest are.
    resumed = services.validation_scan_run(scan.pk)
    assert resumed.status == "succeeded" and resumed.rules_total == len(pairs)
    assert ScanResult.objects.filter(scan=scan).count() == len(pairs)

    # A new scan can start at once; an interrupted one is marked, and resuming it after a newer scan is moot.
    dead = services.validation_scan_create(None)
    ValidationScan.objects.filter(pk=dead.pk).update(status="running")
    newer = services.validation_scan_create(None)
    dead.refresh_from_db()
    assert dead.status == "failed" and "Interrupted" in dead.error
    assert services.validation_scan_run(dead.pk).error.startswith(f"Superseded by scan #{newer.pk}")
    assert not ScanResult.objects.filter(scan=dead).exists()


def test_a_scan_being_run_elsewhere_blocks_and_is_not_run_twice():
    from django.db import connections

    scan = services.validation_scan_create(None)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [advisory_session_key(SCAN_RUN_LOCK), scan.pk])
        ValidationScan.objects.filter(pk=scan.pk).update(status="running")
        with pytest.raises(services.ScanRefused, match="already running"):
            services.validation_scan_create(None)
        with pytest.raises(services.ScanRefused, match="being run elsewhere"):
            services.validation_scan_run(scan.pk)
    finally:
        other.close()


def test_waivers_count_apart_and_return_when_they_expire(legacy_rows, org_admin):
    rule = validator.get_rule(Ticket, "subject_required")
    ticket = legacy_rows["blank"][0]
    services.waiver_accept(
        user=org_admin,
        model=Ticket,
        rule=rule,
        instance=ticket,
        reason="Imported from the old system",
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    scan = run_scan()
    r = result(scan, Ticket, "subject_required")
    assert (r.violations, r.waived) == (2, 1)
    count = ScanOrganizationCount.objects.get(result=r, organization=ticket.organization)
    assert (count.violations, count.waived) == (1, 1)
    assert LogEntry.objects.filter(object_id=str(ticket.pk), change_message__contains="Accepted").exists()

    Waiver.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    later = run_scan()
    assert (
        result(later, Ticket, "subject_required").violations,
        result(later, Ticket, "subject_required").waived,
    ) == (3, 0)


def test_waiver_is_refused_for_bad_input(legacy_rows, org_admin):
    rule = validator.get_rule(Ticket, "subject_required")
    soon = timezone.now() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError, match="why"):
        services.waiver_accept(
            user=org_admin,
            model=Ticket,
            rule=rule,
            instance=legacy_rows["blank"][0],
            reason="  ",
            expires_at=soon,
        )
    with pytest.raises(ValidationError, match="future"):
        services.waiver_accept(
            user=org_admin,
            model=Ticket,
            rule=rule,
            instance=legacy_rows["blank"][0],
            reason="ok",
            expires_at=timezone.now(),
        )
    with pytest.raises(ValidationError, match="at most"):
        services.waiver_accept(
            user=org_admin,
            model=Ticket,
            rule=rule,
            instance=legacy_rows["blank"][0],
            reason="ok",
            expires_at=timezone.now() + datetime.timedelta(days=400),
        )
    with pytest.raises(ValidationError, match="does not break"):
        services.waiver_accept(
            user=org_admin,
            model=Ticket,
            rule=rule,
            instance=legacy_rows["fine"],
            reason="ok",
            expires_at=soon,
        )
    assert not Waiver.objects.exists()


def test_revoke_removes_the_waiver_and_logs(legacy_rows, org_admin):
    rule = validator.get_rule(Ticket, "subject_required")
    waiver = services.waiver_accept(
        user=org_admin,
        model=Ticket,
        rule=rule,
        instance=legacy_rows["blank"][0],
        reason="ok",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    services.waiver_revoke(user=org_admin, waiver=waiver)
    assert not Waiver.objects.exists()
    assert LogEntry.objects.filter(change_message__contains="Revoked").exists()


def test_query_rule_scan_is_a_fixed_number_of_queries(legacy_rows, django_assert_max_num_queries):
    """Per query rule: the upsert, the previous-run lookup, the counts, the sample, the writes: independent of
    the number of rows."""
    scan = services.validation_scan_create(None)
    rule = validator.get_rule(Ticket, "subject_required")
    with django_assert_max_num_queries(10):
        services._rule_scan(scan, Ticket, rule)


def test_streaming_reads_in_chunks(legacy_rows, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(services, "STREAM_CHUNK_SIZE", 2)
    scan = services.validation_scan_create(None)
    rule = validator.get_rule(User, "skills_string_list")
    users = User.objects.count()
    with django_assert_max_num_queries(users // 2 * 2 + 12):
        r = services._rule_scan(scan, User, rule)
    assert r.violations == 1 and r.checked == users


def test_command_runs_a_scan(legacy_rows, capsys):
    call_command("validation_scan", "--no-progress")
    out = capsys.readouterr().out
    scan = ValidationScan.objects.get()
    assert f"Scan #{scan.pk}: {scan.violations_total} violations" in out
