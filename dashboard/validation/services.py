"""Writes of the validation reports: start and run scans, accept (waive) and revoke violations.

A scan walks every (model, rule) of the CentralizedValidator over live rows:
- a rule with a `Q` collects its failing keys by one parallel CREATE TEMPORARY TABLE ... AS SELECT (the data
  table is read once, by the database);
- a rule without one reads the table in keyset chunks (bounded memory) through `is_valid()` and adds each
  chunk's failing ids to the same table;
then dashboard.validation.sightings writes only what changed against the rule's current violations (new,
resolved), and the counts are aggregated over the violation table.
Each rule runs in its own savepoint: a rule that raises is recorded as errored (its writes rolled back) and
the scan goes on.

Pruning the history: dashboard.validation.history.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

from django.contrib.admin.models import CHANGE
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from dashboard.adminlog import admin_log_write
from dashboard.jobs.services import Progress, job_run_start
from dashboard.validation import sightings
from dashboard.validation.models import (
    SAMPLE_SIZE,
    ScanOrganizationCount,
    ScanResult,
    ValidationScan,
    Violation,
    Waiver,
)
from dashboard.validation.selectors import SCAN_RUN_LOCK, live_rows, scans_in_progress, waived_exists
from models_core.keyset import keyset_chunks
from models_core.locks import advisory_session_lock, advisory_xact_lock
from models_core.tenancy import organization_path
from models_core.validation import validator
from models_core.validation.rules import ValidationRule

logger = logging.getLogger(__name__)

STREAM_CHUNK_SIZE = 2000
MAX_WAIVER_DAYS = 366


class ScanRefused(Exception):
    """A scan cannot start now (another one is queued or running)."""


# Starting a scan
# ----------------------------------------------------------------------------------------------------


def validation_scan_create(user: Any) -> ValidationScan:
    """A new queued scan; ScanRefused while another one is queued or running (double submits included)."""
    with transaction.atomic():
        # Two clicks (or two web processes) must not both pass the check below.
        advisory_xact_lock("validation", "scan_start")
        running = scans_in_progress().first()
        if running is not None:
            raise ScanRefused(f"Scan #{running.pk} is already {running.get_status_display().lower()}.")
        # Scans whose worker or command died say so, rather than "Running" for ever.
        ValidationScan.objects.filter(status__in=ValidationScan.UNFINISHED).update(
            status=ValidationScan.Status.FAILED,
            finished_at=Now(),
            error="Interrupted: the worker or command running it stopped.",
        )
        return ValidationScan.objects.create(started_by=user)


def validation_scan_start(user: Any) -> ValidationScan:
    """Create a scan and queue it for a worker, with a JobRun the pages follow (one transaction)."""
    with transaction.atomic():
        scan = validation_scan_create(user)
        scan.job_run = job_run_start("validation_scan", user, "validation.scan", scan_id=scan.pk)
        scan.save(update_fields=["job_run"])
    return scan


# Running a scan
# ----------------------------------------------------------------------------------------------------


def scan_rules() -> list[tuple[type[models.Model], ValidationRule]]:
    return [(model, rule) for model in validator.models() for rule in validator.rules_for(model)]


def validation_scan_run(scan_id: int, progress: Progress | None = None) -> ValidationScan:
    """Run a scan to the end; marked failed (and the error re-raised) if it cannot go on.

    Safe to run again (a retried job): a succeeded scan is returned as it is; an interrupted or failed one
    resumes, skipping the rules whose results it already stored (each rule is its own transaction), unless
    a newer scan exists, which makes it moot (marked failed, "superseded"). ScanRefused while another
    session runs the same scan.
    """
    with advisory_session_lock(SCAN_RUN_LOCK, scan_id) as held:
        if not held:
            raise ScanRefused(f"Scan #{scan_id} is being run elsewhere.")
        scan = ValidationScan.objects.filter(pk=scan_id).first()
        if scan is None:
            raise ScanRefused(f"Scan #{scan_id} does not exist any more.")
        if scan.status == ValidationScan.Status.SUCCEEDED:
            return scan
        if scan.status != ValidationScan.Status.QUEUED:
            newer = ValidationScan.objects.filter(pk__gt=scan_id).exclude(status=ValidationScan.Status.FAILED)
            if newer.exists():
                ValidationScan.objects.filter(pk=scan_id).update(
                    status=ValidationScan.Status.FAILED,
                    finished_at=Coalesce(F("finished_at"), Now()),
                    error=f"Superseded by scan #{newer.order_by('pk').first().pk}; not resumed.",
                )
                scan.refresh_from_db()
                return scan
        ValidationScan.objects.filter(pk=scan_id).update(
            status=ValidationScan.Status.RUNNING,
            started_at=Coalesce(F("started_at"), Now()),
            finished_at=None,
            error="",
        )
        return _scan_rules_run(scan_id, progress)


def _scan_rules_run(scan_id: int, progress: Progress | None) -> ValidationScan:
    scan = ValidationScan.objects.get(pk=scan_id)
    pairs = scan_rules()
    stored = set(ScanResult.objects.filter(scan=scan).values_list("model_label", "rule_name"))
    try:
        for done, (model, rule) in enumerate(pairs):
            if progress is not None:
                progress(done, len(pairs))
            if (model._meta.label_lower, rule.name) not in stored:
                _rule_scan(scan, model, rule)
        if progress is not None:
            progress(len(pairs), len(pairs))
        totals = ScanResult.objects.filter(scan=scan).aggregate(
            rules=Count("pk"),
            errored=Count("pk", filter=Q(errored=True)),
            violations=Sum("violations", default=0),
            waived=Sum("waived", default=0),
            new=Sum("new", default=0),
            resolved=Sum("resolved", default=0),
        )
    except Exception as exc:
        ValidationScan.objects.filter(pk=scan_id).update(
            status=ValidationScan.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    ValidationScan.objects.filter(pk=scan_id).update(
        status=ValidationScan.Status.SUCCEEDED,
        finished_at=timezone.now(),
        rules_total=totals["rules"],
        rules_errored=totals["errored"],
        violations_total=totals["violations"],
        waived_total=totals["waived"],
        new_total=totals["new"],
        resolved_total=totals["resolved"],
    )
    scan.refresh_from_db()
    return scan


def _rule_scan(scan: ValidationScan, model: type[models.Model], rule: ValidationRule) -> ScanResult:
    label = model._meta.label_lower
    started = time.monotonic()
    result = ScanResult(
        scan=scan,
        model_label=label,
        rule_name=rule.name,
        field_name=rule.field_name,
        message=rule.message[:500],
        has_query=False,
    )
    try:
        with transaction.atomic():
            q = rule.violation_q()
            result.has_query = q is not None
            if q is not None:
                failing = sightings.failing_keys_collect(model, q)
            else:
                result.checked, failing = _failing_keys_stream(model, rule)
            resolved = sightings.violations_record(scan, label, rule.name, failing=failing)
            counts = _counts_by_organization(scan, label, rule.name, resolved, current=failing > 0)
            result.violations = sum(c.violations for c in counts)
            result.waived = sum(c.waived for c in counts)
            result.new = sum(c.new for c in counts)
            result.resolved = sum(c.resolved for c in counts)
            if failing:
                result.sample_ids = list(
                    Violation.objects.filter(model_label=label, rule_name=rule.name, resolved_scan=None)
                    .order_by("object_id")
                    .values_list("object_id", flat=True)[:SAMPLE_SIZE]
                )
            result.duration_ms = int((time.monotonic() - started) * 1000)
            result.save()
            for count in counts:
                count.result = result
            ScanOrganizationCount.objects.bulk_create(counts)
    except Exception as exc:
        logger.exception("Validation rule %s.%s failed during scan %s", label, rule.name, scan.pk)
        result.pk = None
        result.errored = True
        result.error_message = f"{type(exc).__name__}: {exc}"[:4000]
        result.violations = result.waived = result.new = result.resolved = 0
        result.sample_ids = []
        result.duration_ms = int((time.monotonic() - started) * 1000)
        result.save()
    return result


def _failing_keys_stream(model: type[models.Model], rule: ValidationRule) -> tuple[int, int]:
    """Check every live row in keyset chunks (never more than one chunk in memory) into the keys table;
    returns (rows checked, rows failing)."""
    org = organization_path(model)
    base = live_rows(model)
    if org:
        base = base.annotate(row_org_id=F(org))
    sightings.failing_keys_start()
    checked = failing = 0
    for chunk in keyset_chunks(base, STREAM_CHUNK_SIZE):
        failing += sightings.failing_keys_add(
            (row.pk, getattr(row, "row_org_id", None)) for row in chunk if not rule.check(row)
        )
        checked += len(chunk)
    return checked, failing


def _counts_by_organization(
    scan: ValidationScan, label: str, rule_name: str, resolved: dict[int | None, int], *, current: bool
) -> list[ScanOrganizationCount]:
    """Per organization: the rule's current violations, waived and new (unless `current` is False: nothing
    failed, so there are none), and those this run resolved."""
    counts: dict[int | None, ScanOrganizationCount] = {}
    rows = (
        Violation.objects.filter(model_label=label, rule_name=rule_name, resolved_scan=None)
        .annotate(_waived=waived_exists(label, rule_name, OuterRef("object_id")))
        .values("organization_id")
        .annotate(
            violations=Count("pk", filter=Q(_waived=False)),
            waived=Count("pk", filter=Q(_waived=True)),
            new=Count("pk", filter=Q(first_seen_scan=scan)),
        )
        .order_by()
    )
    for row in rows if current else ():
        counts[row["organization_id"]] = ScanOrganizationCount(
            organization_id=row["organization_id"],
            violations=row["violations"],
            waived=row["waived"],
            new=row["new"],
        )
    for organization_id, n in resolved.items():
        count = counts.setdefault(organization_id, ScanOrganizationCount(organization_id=organization_id))
        count.resolved = n
    return list(counts.values())


# Waivers
# ----------------------------------------------------------------------------------------------------


def waiver_accept(
    *,
    user: Any,
    model: type[models.Model],
    rule: ValidationRule,
    instance: models.Model,
    reason: str,
    expires_at: datetime.datetime,
) -> Waiver:
    """Accept `instance`'s violation of `rule` until `expires_at`; replaces an earlier waiver of the pair.

    The caller has already scoped `instance` to the user's organization. Refused (ValidationError) for a
    record that does not break the rule, an empty reason or an expiry not in the next MAX_WAIVER_DAYS days.
    """
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = "Say why this violation is accepted."
    elif len(reason) > 500:
        errors["reason"] = "Keep the reason under 500 characters."
    now = timezone.now()
    if expires_at <= now:
        errors["expires_at"] = "The expiry must be in the future."
    elif expires_at > now + datetime.timedelta(days=MAX_WAIVER_DAYS):
        errors["expires_at"] = f"A waiver may last at most {MAX_WAIVER_DAYS} days."
    if errors:
        raise ValidationError(errors)
    if rule.check(instance):
        raise ValidationError(
            f"{model._meta.verbose_name.capitalize()} {instance.pk} does not break this rule."
        )
    org = organization_path(model)
    organization_id = (
        live_rows(model)
        .filter(pk=instance.pk)
        .annotate(row_org_id=F(org))
        .values_list("row_org_id", flat=True)
        .first()
        if org
        else None
    )
    with transaction.atomic():
        waiver, _ = Waiver.objects.update_or_create(
            model_label=model._meta.label_lower,
            rule_name=rule.name,
            object_id=instance.pk,
            defaults={
                "organization_id": organization_id,
                "reason": reason,
                "expires_at": expires_at,
                "created_by": user,
            },
        )
        admin_log_write(
            user,
            [instance],
            flag=CHANGE,
            message=lambda obj: (
                f"Accepted violation of rule {rule.name} until {expires_at:%Y-%m-%d}: {reason}"
            ),
        )
    return waiver


def waiver_revoke(*, user: Any, waiver: Waiver) -> None:
    """End a waiver now: the violation counts again from the next scan (and at once on the rule page)."""
    from django.apps import apps

    with transaction.atomic():
        model = apps.get_model(waiver.model_label)
        instance = model._base_manager.filter(pk=waiver.object_id).first()
        waiver.delete()
        if instance is not None:
            admin_log_write(
                user,
                [instance],
                flag=CHANGE,
                message=lambda obj: f"Revoked the waiver of rule {waiver.rule_name}",
            )
