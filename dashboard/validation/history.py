"""Writes of the validation history: pruning scans, resolved violations and expired waivers past their
retention (settings.CUSTODIAN_VALIDATION_HISTORY_DAYS), keeping what the reports still read."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, OuterRef, Q, Subquery
from django.utils import timezone

from dashboard.validation.models import ScanOrganizationCount, ScanResult, ValidationScan, Violation, Waiver
from dashboard.validation.selectors import scans_in_progress

# Most scans one prune removes: their ids are passed as query parameters (the rest go on the next run).
PRUNE_MAX_SCANS = 5000


# Pruning
# ----------------------------------------------------------------------------------------------------


def _scans_to_keep() -> models.QuerySet[ValidationScan]:
    """Scans that must outlive the retention, whatever their age.

    - each rule's latest non-errored run, in any scan: its counts are the rule's current state, and its
      current violations were first seen in it or before it;
    - each rule's latest non-errored run in a succeeded scan: the rule page lists its rows (_latest_run_of);
    - the latest succeeded scan: the overview shows it;
    - scans still queued or running.
    Removed rules keep their last run too (one scan each, at most), which is what "latest" means for them.
    """
    runs = ScanResult.objects.filter(errored=False).values("model_label", "rule_name").order_by()
    latest_run = runs.annotate(latest=Max("scan_id")).values("latest")
    latest_succeeded_run = (
        runs.filter(scan__status=ValidationScan.Status.SUCCEEDED)
        .annotate(latest=Max("scan_id"))
        .values("latest")
    )
    succeeded = ValidationScan.objects.filter(status=ValidationScan.Status.SUCCEEDED)
    latest_report = succeeded.order_by("-id").values("pk")[:1]
    return ValidationScan.objects.filter(
        Q(pk__in=Subquery(latest_run))
        | Q(pk__in=Subquery(latest_succeeded_run))
        | Q(pk__in=Subquery(latest_report))
        | Q(pk__in=scans_in_progress().values("pk"))
    )


def validation_history_prune(older_than_days: int | None = None) -> dict[str, int]:
    """Delete scans created more than `older_than_days` ago (CUSTODIAN_VALIDATION_HISTORY_DAYS) and their
    results, the resolved violations first seen or resolved in them, and waivers expired before the window;
    set-based.

    Current violations stay. One first seen in a pruned scan (the FK cascades: deleting the scan would
    delete the violation) has its first sighting moved to the rule's earliest kept run after it, where it
    was failing too (a current violation failed in every run of the rule since its first sighting; the
    rule's latest run is always kept). Nothing counted from it changes: "new" in a scan means first seen in
    that very scan, and stored counts are not recomputed.
    """
    days = older_than_days if older_than_days is not None else settings.CUSTODIAN_VALIDATION_HISTORY_DAYS
    cutoff = timezone.now() - datetime.timedelta(days=days)
    db = ValidationScan.objects.db
    with transaction.atomic():
        # The ids are read once, so every DELETE below works on the same scans even if a scan finishes
        # meanwhile (which would change what "latest" means between statements).
        scan_ids = list(
            ValidationScan.objects.filter(created_at__lt=cutoff)
            .exclude(pk__in=_scans_to_keep().values("pk"))
            .order_by("pk")
            .values_list("pk", flat=True)[:PRUNE_MAX_SCANS]
        )
        violations = moved = counts = results = scans = 0
        if scan_ids:  # (an empty IN () is no query at all, and _raw_delete then returns None)
            resolved = Violation.objects.filter(resolved_scan__isnull=False)
            violations = resolved.filter(
                Q(resolved_scan_id__in=scan_ids) | Q(first_seen_scan_id__in=scan_ids)
            )._raw_delete(db)
            earliest_kept_run = (
                ScanResult.objects.filter(
                    model_label=OuterRef("model_label"),
                    rule_name=OuterRef("rule_name"),
                    errored=False,
                    scan_id__gt=OuterRef("first_seen_scan_id"),
                )
                .exclude(scan_id__in=scan_ids)
                .order_by("scan_id")
                .values("scan_id")[:1]
            )
            moved = Violation.objects.filter(first_seen_scan_id__in=scan_ids, resolved_scan=None).update(
                first_seen_scan_id=Subquery(earliest_kept_run)
            )
            # Children first, each one DELETE ... WHERE ... IN (...), so the collector fetches nothing.
            counts = ScanOrganizationCount.objects.filter(result__scan_id__in=scan_ids)._raw_delete(db)
            results = ScanResult.objects.filter(scan_id__in=scan_ids)._raw_delete(db)
            scans = ValidationScan.objects.filter(pk__in=scan_ids)._raw_delete(db)
        # A waiver in force is never touched; an expired one is history like the scans.
        waivers = Waiver.objects.filter(expires_at__lt=cutoff)._raw_delete(db)
    return {
        "scans": scans,
        "results": results,
        "organization_counts": counts,
        "violations": violations,
        "first_seen_moved": moved,
        "waivers": waivers,
    }
