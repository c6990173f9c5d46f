"""Writes of the validation reports: start and run scans, accept (waive) and revoke violations.

A scan walks every (model, rule) of the CentralizedValidator over live rows:
- a rule with a `Q` collects its failing keys by one parallel CREATE TEMPORARY TABLE ... AS SELECT (the data
  table is read once, by the database), upserts them into the violation table only when there are any, then
  aggregates over the violation table;
- a rule without one reads the table in keyset chunks (bounded memory) through `is_valid()`, and upserts each
  chunk's failing ids the same way.
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
from django.db import connection, models, transaction
from django.db.models import Count, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, Now
from django.utils import timezone

from dashboard.adminlog import admin_log_write
from dashboard.jobs.services import Progress, job_run_start
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


def _previous_run(scan: ValidationScan, model_label: str, rule_name: str) -> tuple[int | None, int]:
    """The rule's last successful run before this scan ("new" and "resolved" are measured against it), and
    how many violations it stored (waived ones included): none means nothing can be resolved now."""
    previous = (
        ScanResult.objects.filter(
            model_label=model_label, rule_name=rule_name, errored=False, scan_id__lt=scan.pk
        )
        .order_by("-scan_id")
        .values_list("scan_id", F("violations") + F("waived"))
        .first()
    )
    return previous if previous is not None else (None, 0)


def _rule_scan(scan: ValidationScan, model: type[models.Model], rule: ValidationRule) -> ScanResult:
    label = model._meta.label_lower
    previous, previous_stored = _previous_run(scan, label, rule.name)
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
                failing = _violations_upsert_query(scan, model, rule, q, previous)
            else:
                result.checked = _violations_upsert_stream(scan, model, rule, previous)
                failing = None  # not counted while streaming
            # Most rules find nothing, as in their previous run: then no row can be read back, and the
            # rule costs its one parallel pass over the data table and the writes of its result.
            counts = _counts_by_organization(
                scan, label, rule.name, previous if previous_stored else None, current=failing != 0
            )
            result.violations = sum(c.violations for c in counts)
            result.waived = sum(c.waived for c in counts)
            result.new = sum(c.new for c in counts)
            result.resolved = sum(c.resolved for c in counts)
            if failing != 0:
                result.sample_ids = list(
                    Violation.objects.filter(model_label=label, rule_name=rule.name, last_seen_scan=scan)
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


_UPSERT_TAIL = """
    ON CONFLICT (model_label, rule_name, object_id) DO UPDATE SET
        last_seen_scan_id = EXCLUDED.last_seen_scan_id,
        organization_id = EXCLUDED.organization_id,
        first_seen_scan_id = CASE
            WHEN validation_violation.last_seen_scan_id = %s THEN validation_violation.first_seen_scan_id
            ELSE EXCLUDED.first_seen_scan_id
        END
"""
# A violation seen in the rule's previous run keeps its first sighting; one that had been resolved (or whose
# previous run is unknown) starts again as new.


def _failing_rows(model: type[models.Model], q: Q) -> models.QuerySet:
    org = organization_path(model)
    org_value = F(org) if org else Value(None, output_field=models.BigIntegerField())
    return live_rows(model).filter(q).annotate(row_org_id=org_value).values_list("pk", "row_org_id")


# The failing keys of one query rule, for the length of the rule's transaction (dropped at its end, or with
# its savepoint when the rule raises): the data table is read once, and only the violation table is written.
FAILING_TABLE = "validation_scan_failing"


def _violations_upsert_query(
    scan: ValidationScan, model: type[models.Model], rule: ValidationRule, q: Q, previous: int | None
) -> int:
    """Store the rule's failing rows; returns how many fail.

    PostgreSQL 15 plans the SELECT of an INSERT ... SELECT without parallel workers, but CREATE TABLE AS
    may use them: the failing keys are collected by one parallel pass over the data table (what a
    hand-written count costs) into a temporary table, and the upsert reads that table, never the data table
    again. A rule that finds nothing (most of them) writes nothing. The keys stay in the database, so memory
    does not grow with the number of failing rows.
    """
    # ON COMMIT DROP outside a transaction would drop the table before the upsert could read it.
    assert connection.in_atomic_block, "a query rule runs inside its own transaction"
    select_sql, select_params = _failing_rows(model, q).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {FAILING_TABLE} (object_id, organization_id) ON COMMIT DROP AS "
            f"{select_sql}",
            select_params,
        )
        failing = cursor.rowcount
        if failing:
            cursor.execute(
                "INSERT INTO validation_violation "
                "(model_label, rule_name, object_id, organization_id, first_seen_scan_id, last_seen_scan_id) "
                f"SELECT %s, %s, object_id, organization_id, %s, %s FROM {FAILING_TABLE} {_UPSERT_TAIL}",
                [model._meta.label_lower, rule.name, scan.pk, scan.pk, previous],
            )
        cursor.execute(f"DROP TABLE {FAILING_TABLE}")
    return failing


def _violations_upsert_ids(
    scan: ValidationScan,
    model: type[models.Model],
    rule: ValidationRule,
    rows: list[tuple[int, int | None]],
    previous: int | None,
) -> None:
    if not rows:
        return
    sql = (
        "INSERT INTO validation_violation "
        "(model_label, rule_name, object_id, organization_id, first_seen_scan_id, last_seen_scan_id) "
        "SELECT %s, %s, u.object_id, u.organization_id, %s, %s "
        "FROM unnest(%s::bigint[], %s::bigint[]) AS u(object_id, organization_id)" + _UPSERT_TAIL
    )
    ids = [pk for pk, _ in rows]
    orgs = [org for _, org in rows]
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.label_lower, rule.name, scan.pk, scan.pk, ids, orgs, previous])


def _violations_upsert_stream(
    scan: ValidationScan, model: type[models.Model], rule: ValidationRule, previous: int | None
) -> int:
    """Check every live row in keyset chunks (never more than one chunk in memory); returns rows checked."""
    org = organization_path(model)
    base = live_rows(model)
    if org:
        base = base.annotate(row_org_id=F(org))
    checked = 0
    for chunk in keyset_chunks(base, STREAM_CHUNK_SIZE):
        failing = [(row.pk, getattr(row, "row_org_id", None)) for row in chunk if not rule.check(row)]
        _violations_upsert_ids(scan, model, rule, failing, previous)
        checked += len(chunk)
    return checked


def _counts_by_organization(
    scan: ValidationScan, label: str, rule_name: str, previous: int | None, *, current: bool = True
) -> list[ScanOrganizationCount]:
    """Per organization: this scan's violations, waived and new (unless `current` is False: nothing
    failed), and the previous run's violations not seen again (resolved; none without `previous`)."""
    counts: dict[int | None, ScanOrganizationCount] = {}
    rows = (
        Violation.objects.filter(model_label=label, rule_name=rule_name, last_seen_scan=scan)
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
    if previous is not None:
        resolved = (
            Violation.objects.filter(model_label=label, rule_name=rule_name, last_seen_scan_id=previous)
            .values("organization_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in resolved:
            count = counts.setdefault(
                row["organization_id"], ScanOrganizationCount(organization_id=row["organization_id"])
            )
            count.resolved = row["n"]
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
