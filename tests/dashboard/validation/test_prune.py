"""Pruning the validation history: old scans go, each rule's latest run and current violations stay."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.validation import services
from dashboard.validation.history import validation_history_prune
from dashboard.validation.models import ScanOrganizationCount, ScanResult, ValidationScan, Violation, Waiver
from models_core.models import Ticket, User
from models_core.validation import validator

pytestmark = pytest.mark.django_db

INDEX = reverse("dashboard:validation:index")
SUBJECT = reverse("dashboard:validation:rule", args=["ticket", "subject_required"])
SKILLS = reverse("dashboard:validation:rule", args=["user", "skills_string_list"])


def run_scan() -> ValidationScan:
    return services.validation_scan_run(services.validation_scan_create(None).pk)


def age(scan: ValidationScan, days: int) -> None:
    ValidationScan.objects.filter(pk=scan.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=days)
    )


def violation(row, rule_name: str) -> Violation:
    return Violation.objects.get(model_label=row._meta.label_lower, rule_name=rule_name, object_id=row.pk)


def waiver(row, rule_name: str, expires_in_days: int) -> Waiver:
    return Waiver.objects.create(
        model_label=row._meta.label_lower,
        rule_name=rule_name,
        object_id=row.pk,
        organization_id=row.organization_id,
        reason="accepted",
        expires_at=timezone.now() + datetime.timedelta(days=expires_in_days),
    )


@pytest.fixture
def history(legacy_rows, monkeypatch):
    """Four scans, three of them past the window; the latest errors on the skills rule, so the third stays
    that rule's latest run."""
    first = run_scan()
    fixed = legacy_rows["blank"][0]
    Ticket.objects.filter(pk=fixed.pk).update(subject="Fixed")
    second = run_scan()  # `fixed` resolved in `second`
    third = run_scan()
    skills_rule = validator.get_rule(User, "skills_string_list")

    def boom(instance):
        raise RuntimeError("boom")

    with monkeypatch.context() as patch:
        patch.setattr(skills_rule, "check", boom)
        fourth = run_scan()
    for scan in (first, second, third):
        age(scan, 200)
    return {"scans": (first, second, third, fourth), "fixed": fixed, **legacy_rows}


def test_old_scans_and_resolved_violations_go_latest_runs_and_current_violations_stay(history, settings):
    settings.CUSTODIAN_VALIDATION_HISTORY_DAYS = 180
    first, second, third, fourth = history["scans"]
    assert ScanResult.objects.get(scan=fourth, rule_name="skills_string_list").errored
    current = violation(history["blank"][1], "subject_required")
    assert (current.first_seen_scan_id, current.resolved_scan_id) == (first.pk, None)

    pruned = validation_history_prune()

    # `third` is still the skills rule's latest run (the next scan measures resolved against it).
    assert set(ValidationScan.objects.values_list("pk", flat=True)) == {third.pk, fourth.pk}
    assert pruned["scans"] == 2
    assert not ScanResult.objects.filter(scan_id__in=[first.pk, second.pk]).exists()
    assert not ScanOrganizationCount.objects.filter(result__scan_id__in=[first.pk, second.pk]).exists()
    assert pruned["results"] > 0 and pruned["organization_counts"] > 0
    # The violation resolved in `second` (first seen in `first`) is gone; the current ones stay.
    assert pruned["violations"] == 1
    assert not Violation.objects.filter(object_id=history["fixed"].pk, rule_name="subject_required").exists()
    current.refresh_from_db()
    # First seen moved to the rule's earliest kept run (it was failing there), not deleted by the cascade.
    assert (current.first_seen_scan_id, current.resolved_scan_id) == (third.pk, None)
    skills = violation(history["skills"], "skills_string_list")
    assert (skills.first_seen_scan_id, skills.resolved_scan_id) == (third.pk, None)

    # The next scan still tells new from resolved against each rule's current violations.
    Ticket.objects.filter(pk=history["blank"][1].pk).update(subject="Fixed too")
    fifth = run_scan()
    subject = ScanResult.objects.get(scan=fifth, rule_name="subject_required")
    assert (subject.violations, subject.new, subject.resolved) == (1, 0, 1)
    skills_result = ScanResult.objects.get(scan=fifth, rule_name="skills_string_list")
    assert (skills_result.violations, skills_result.new, skills_result.resolved) == (1, 0, 0)


def test_pages_render_after_a_prune(history, client, manager, platform_superuser):
    first, _, third, _ = history["scans"]
    validation_history_prune(older_than_days=180)
    client.force_login(manager)
    page = client.get(INDEX)
    assert page.status_code == 200
    rows = {(r.model_label, r.rule_name): r for r in page.context["rows"]}
    assert rows["models_core.ticket", "subject_required"].violations == 1  # `fixed` and the other org's
    rule = client.get(SUBJECT)
    assert rule.status_code == 200
    assert [row.obj.pk for row in rule.context["rows"]] == [history["blank"][1].pk]
    assert [row.first_seen_scan for row in rule.context["rows"]] == [third.pk]
    # The skills rule lists the rows of its latest run, kept although past the window.
    assert [row.obj.pk for row in client.get(SKILLS).context["rows"]] == [history["skills"].pk]
    assert client.get(INDEX, {"scan": third.pk}).status_code == 200
    assert client.get(INDEX, {"scan": first.pk}).status_code == 404
    client.force_login(platform_superuser)
    assert client.get(INDEX).status_code == 200


def test_waivers_in_force_stay_long_expired_ones_go(history):
    blank, other = history["blank"][1], history["other_blank"]
    active = waiver(blank, "subject_required", 30)
    recent = waiver(other, "subject_required", -10)
    old = waiver(history["foreign_agent"], "agent_same_organization", -200)
    Waiver.objects.filter(pk=active.pk).update(created_at=timezone.now() - datetime.timedelta(days=300))

    assert validation_history_prune(older_than_days=180)["waivers"] == 1
    assert set(Waiver.objects.values_list("pk", flat=True)) == {active.pk, recent.pk}
    assert not Waiver.objects.filter(pk=old.pk).exists()


def test_the_latest_report_and_scans_in_progress_are_never_pruned(legacy_rows):
    only = run_scan()
    age(only, 400)
    queued = services.validation_scan_create(None)
    pruned = validation_history_prune(older_than_days=0)
    assert pruned["scans"] == 0 and pruned["violations"] == 0
    assert set(ValidationScan.objects.values_list("pk", flat=True)) == {only.pk, queued.pk}
    assert Violation.objects.filter(first_seen_scan=only, resolved_scan=None).count() == 5


def test_prune_is_a_fixed_number_of_queries(history, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        validation_history_prune(older_than_days=180)
