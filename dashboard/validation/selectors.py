"""Reads of the validation reports, always scoped to the viewer's organization.

Platform staff read the scan totals; a user bound to an organization reads only that organization's counts
(ScanOrganizationCount) and rows. No page counts a data table: counts come from the stored scans, and rule
pages read the failing rows with keyset pagination.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import capfirst

from dashboard.scoping import (
    get_object_in_scope,
    is_console_user,
    is_in_scope,
    is_platform_staff,
    scope_to_organization,
)
from dashboard.validation.models import ScanOrganizationCount, ScanResult, ValidationScan, Violation, Waiver
from models_core.keyset import keyset_page
from models_core.locks import advisory_session_ids_held
from models_core.validation import validator
from models_core.validation.rules import ValidationRule

PAGE_SIZE = 50
EXPORT_CAP = 10_000
TREND_SCANS = 30


# Models and rules
# ----------------------------------------------------------------------------------------------------


def live_rows(model: type[models.Model]) -> models.QuerySet:
    """What scans and pages read: live rows (the trash is not validated), unordered."""
    return model._default_manager.all().order_by()


def active_waivers(now: datetime.datetime | None = None) -> models.QuerySet[Waiver]:
    return Waiver.objects.filter(expires_at__gt=now or timezone.now())


def waived_exists(model_label: str, rule_name: str, object_id: Any) -> Exists:
    return Exists(active_waivers().filter(model_label=model_label, rule_name=rule_name, object_id=object_id))


def rule_resolve(model_name: str, rule_name: str) -> tuple[type[models.Model], ValidationRule]:
    """The model (by model_name, e.g. "ticket") and its rule; Http404 for anything unknown."""
    for model in validator.models():
        if model._meta.model_name == model_name:
            rule = validator.get_rule(model, rule_name)
            if rule is not None:
                return model, rule
    raise Http404("No such validation rule.")


def rows_in_scope(model: type[models.Model], user: Any) -> models.QuerySet:
    """Live rows of `model` the user may see."""
    return scope_to_organization(live_rows(model), user)


def admin_change_url(obj: models.Model) -> str | None:
    """The admin page of a record, when its model is registered in the admin."""
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


# Scans
# ----------------------------------------------------------------------------------------------------


def scans_recent(user: Any, limit: int = 10) -> list[ValidationScan]:
    """The latest scans as `user` may see them (`scan_show_to`). A scan checks every organization, and each
    viewer's report is built from it, so every viewer lists them; who started one and why it failed are
    platform details."""
    scans = list(ValidationScan.objects.select_related("started_by", "job_run").order_by("-id")[:limit])
    for scan in scans:
        scan_show_to(scan, user)
    return scans


def scan_show_to(scan: ValidationScan | None, user: Any) -> ValidationScan | None:
    """Set `starter` (who started it, when that person is in the viewer's organization) and `error_shown`
    (the failure text: error messages can quote another organization's rows) for the viewer."""
    if scan is not None:
        scan.starter = scan.started_by if is_in_scope(user, scan.started_by) else None
        scan.error_shown = scan.error if is_platform_staff(user) else ""
    return scan


def scan_job_totals(scan: ValidationScan, organization_id: int | None) -> dict[str, int]:
    """A scan's totals for one organization (None: every organization), for its job's stored result."""
    if organization_id is None:
        return {
            "violations": scan.violations_total,
            "waived": scan.waived_total,
            "new": scan.new_total,
            "resolved": scan.resolved_total,
        }
    sums = ScanOrganizationCount.objects.filter(result__scan=scan, organization_id=organization_id).aggregate(
        **{name: Coalesce(Sum(name), 0) for name in ("violations", "waived", "new", "resolved")}
    )
    return {name: int(value) for name, value in sums.items()}


# A scan being run holds the session lock ("validation_scan_run", its id) for as long as it runs: a killed
# worker or command loses it with its connection, so a dead scan stops blocking at once.
SCAN_RUN_LOCK = "validation_scan_run"
# A queued scan nobody has taken yet blocks new scans while its job is waiting; one without a job (the command
# creates its scan and runs it at once) only this long.
SCAN_UNCLAIMED_GRACE = datetime.timedelta(minutes=1)


def scans_in_progress() -> QuerySet[ValidationScan]:
    """Scans that are really queued or running: running under their lock, or queued with a job still waiting.
    A scan whose worker was killed is neither, whatever its status says."""
    from dashboard.jobs.models import JobRun

    waiting = Q(status=ValidationScan.Status.QUEUED) & (
        Q(job_run__status__in=JobRun.UNFINISHED)
        | Q(job_run__isnull=True, created_at__gte=timezone.now() - SCAN_UNCLAIMED_GRACE)
    )
    return ValidationScan.objects.filter(status__in=ValidationScan.UNFINISHED).filter(
        Q(pk__in=advisory_session_ids_held(SCAN_RUN_LOCK)) | waiting
    )


def scan_in_progress() -> ValidationScan | None:
    """The scan being run or waiting for a worker, if any."""
    return scans_in_progress().select_related("job_run").order_by("-id").first()


def scan_for_report(scan_id: Any = None) -> ValidationScan | None:
    """The scan a report shows: the given one (Http404 if unknown or unfinished), else the latest finished."""
    finished = ValidationScan.objects.filter(status=ValidationScan.Status.SUCCEEDED)
    if scan_id in (None, ""):
        return finished.order_by("-id").first()
    try:
        return finished.get(pk=int(scan_id))
    except (ValueError, TypeError, ValidationScan.DoesNotExist) as exc:
        raise Http404("No such finished scan.") from exc


@dataclass
class ResultRow:
    model: type[models.Model] | None
    model_label: str
    rule_name: str
    message: str
    has_query: bool
    violations: int
    waived: int
    new: int
    resolved: int
    errored: bool
    error_message: str

    @property
    def model_title(self) -> str:
        return capfirst(str(self.model._meta.verbose_name)) if self.model else self.model_label

    @property
    def url(self) -> str | None:
        if self.model is None or validator.get_rule(self.model, self.rule_name) is None:
            return None
        return reverse("dashboard:validation:rule", args=[self.model._meta.model_name, self.rule_name])


def _org_sum(field: str, organization_id: int) -> Coalesce:
    return Coalesce(
        Sum(f"organization_counts__{field}", filter=Q(organization_counts__organization_id=organization_id)),
        0,
    )


def scan_results(scan: ValidationScan, user: Any) -> list[ResultRow]:
    """Counts per (model, rule) of one scan as the user may see them (one query)."""
    results = ScanResult.objects.filter(scan=scan).order_by("model_label", "rule_name")
    if not is_platform_staff(user):
        org_id = getattr(user, "organization_id", None) if is_console_user(user) else None
        if org_id is None:
            return []
        results = results.annotate(
            o_violations=_org_sum("violations", org_id),
            o_waived=_org_sum("waived", org_id),
            o_new=_org_sum("new", org_id),
            o_resolved=_org_sum("resolved", org_id),
        )
    rows = []
    for r in results:
        try:
            model = apps.get_model(r.model_label)
        except LookupError:
            model = None
        scoped = hasattr(r, "o_violations")
        rows.append(
            ResultRow(
                model=model,
                model_label=r.model_label,
                rule_name=r.rule_name,
                message=r.message,
                has_query=r.has_query,
                violations=r.o_violations if scoped else r.violations,
                waived=r.o_waived if scoped else r.waived,
                new=r.o_new if scoped else r.new,
                resolved=r.o_resolved if scoped else r.resolved,
                errored=r.errored,
                error_message=r.error_message,
            )
        )
    # What needs attention first: rules that could not run, then the most violations.
    rows.sort(key=lambda r: (not r.errored, -r.violations, -r.waived, r.model_label, r.rule_name))
    return rows


def scan_trend(user: Any, limit: int = TREND_SCANS) -> list[dict[str, Any]]:
    """Totals of the last `limit` finished scans, oldest first, as the user may see them (one query)."""
    scans = ValidationScan.objects.filter(status=ValidationScan.Status.SUCCEEDED).order_by("-id")[:limit]
    if is_platform_staff(user):
        rows = [
            {"scan": s.pk, "at": s.finished_at, "violations": s.violations_total, "waived": s.waived_total}
            for s in scans
        ]
        return rows[::-1]
    org_id = getattr(user, "organization_id", None) if is_console_user(user) else None
    if org_id is None:
        return []
    counts = (
        ScanOrganizationCount.objects.filter(organization_id=org_id, result__scan_id=OuterRef("pk"))
        .values("organization_id")
        .annotate(v=Sum("violations"), w=Sum("waived"))
    )
    scans = scans.annotate(
        o_violations=Coalesce(Subquery(counts.values("v")[:1]), 0),
        o_waived=Coalesce(Subquery(counts.values("w")[:1]), 0),
    )
    rows = [
        {"scan": s.pk, "at": s.finished_at, "violations": s.o_violations, "waived": s.o_waived} for s in scans
    ]
    return rows[::-1]


# A rule's failing records
# ----------------------------------------------------------------------------------------------------


@dataclass
class FailingRow:
    obj: models.Model
    value: Any
    first_seen_scan: int | None
    waiver: Waiver | None

    @property
    def admin_url(self) -> str | None:
        return admin_change_url(self.obj)

    @property
    def display_value(self) -> str:
        """Quoted text (so blanks show), "∅" for NULL."""
        if self.value is None:
            return "∅"
        return repr(self.value) if isinstance(self.value, str | list | dict) else str(self.value)


def _latest_run_of(model: type[models.Model], rule: ValidationRule) -> int | None:
    return (
        ScanResult.objects.filter(
            model_label=model._meta.label_lower,
            rule_name=rule.name,
            errored=False,
            scan__status=ValidationScan.Status.SUCCEEDED,
        )
        .order_by("-scan_id")
        .values_list("scan_id", flat=True)
        .first()
    )


def failing_rows_queryset(model: type[models.Model], rule: ValidationRule, user: Any) -> models.QuerySet:
    """The failing live rows the user may see, by primary key: the rule's current violations, as its latest
    run left them (validation_violation_open_idx), never a new pass of the rule over the whole table (seconds
    at 10M rows, and the longest exactly when nothing fails). Rules with a `Q` re-check those rows, so a
    record fixed since leaves the list at once; one that broke since shows from the next scan on.
    """
    scoped = rows_in_scope(model, user)
    if _latest_run_of(model, rule) is None:
        return scoped.none()
    ids = Violation.objects.filter(
        model_label=model._meta.label_lower, rule_name=rule.name, resolved_scan=None
    ).values("object_id")
    rows = scoped.filter(pk__in=ids)
    q = rule.violation_q()
    if q is not None:
        rows = rows.filter(q)
    return rows.order_by("pk")


def failing_rows_page(
    model: type[models.Model], rule: ValidationRule, user: Any, after: Any = None, limit: int = PAGE_SIZE
) -> tuple[list[FailingRow], int | None]:
    """One keyset page of failing records (after the primary key `after`) and the key of the next page."""
    qs = failing_rows_queryset(model, rule, user)
    label = model._meta.label_lower
    first_seen = Violation.objects.filter(model_label=label, rule_name=rule.name, object_id=OuterRef("pk"))
    qs = qs.annotate(_first_seen=Subquery(first_seen.values("first_seen_scan_id")[:1]))
    related = [f.name for f in model._meta.concrete_fields if f.is_relation and f.name == rule.field_name]
    if related:
        qs = qs.select_related(*related)
    objects, next_after = keyset_page(qs, after, limit)
    waivers = {
        w.object_id: w
        for w in active_waivers().filter(
            model_label=label, rule_name=rule.name, object_id__in=[o.pk for o in objects]
        )
    }
    rows = [
        FailingRow(obj=o, value=rule.get_value(o), first_seen_scan=o._first_seen, waiver=waivers.get(o.pk))
        for o in objects
    ]
    return rows, next_after


def rule_summary(model: type[models.Model], rule: ValidationRule, user: Any) -> ResultRow | None:
    """The rule's counts in the latest finished scan, as the user may see them."""
    scan = scan_for_report()
    if scan is None:
        return None
    return next(
        (
            row
            for row in scan_results(scan, user)
            if row.model_label == model._meta.label_lower and row.rule_name == rule.name
        ),
        None,
    )


def waivers_in_scope(user: Any, model: type[models.Model], rule: ValidationRule) -> models.QuerySet[Waiver]:
    """Waivers of one rule the user may see (active and expired), newest first."""
    qs = Waiver.objects.filter(model_label=model._meta.label_lower, rule_name=rule.name)
    return scope_to_organization(qs, user).select_related("created_by")


def waiver_get_for_user(user: Any, waiver_id: Any) -> Waiver:
    """One waiver in the user's organization; Http404 for other organizations' and malformed ids."""
    return get_object_in_scope(Waiver.objects.all(), user, waiver_id)
