"""DB health's constraint violations: what the recorder stored (scoped to the viewer's organization), per
constraint, SQLSTATE, organization and day, and the background counts of existing rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDay

from dashboard.dbhealth import declarations
from dashboard.dbhealth.models import (
    ConstraintViolation,
)
from dashboard.jobs.models import JobRun
from dashboard.scoping import scope_to_organization

SQLSTATE_NAMES = {
    "23000": "integrity constraint violation",
    "23001": "restrict violation",
    "23502": "not-null violation",
    "23503": "foreign key violation",
    "23505": "unique violation",
    "23514": "check violation",
    "23P01": "exclusion violation",
}


def violations_visible_to(user: Any) -> Any:
    """Violation records this user may see: all for platform staff, their organization's otherwise."""
    return scope_to_organization(ConstraintViolation.objects.all(), user)


def violation_label(constraint_name: str, column_name: str) -> str:
    return constraint_name or (f"NOT NULL {column_name}" if column_name else "(unnamed)")


def violations_per_constraint_daily(user: Any, since: datetime) -> list[dict]:
    """[{day, constraint_name, column_name, kind, count}] for the chart, aggregated in SQL."""
    return list(
        violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .annotate(day=TruncDay("occurred_at"))
        .values("day", "constraint_name", "column_name", "kind")
        .annotate(count=Count("id"))
        .order_by("day", "constraint_name")
    )


def violations_by_sqlstate(user: Any, since: datetime) -> list[dict]:
    return list(
        violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .values("sqlstate", "kind")
        .annotate(count=Count("id"))
        .order_by("sqlstate", "kind")
    )


def violations_by_organization(user: Any, since: datetime, top: int = 15) -> list[dict]:
    """The organizations with the most violations, with their names (no other tenant data)."""
    from models_core.models import Organization

    rows = list(
        violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .values("organization_id")
        .annotate(count=Count("id"))
        .order_by("-count", "organization_id")[:top]
    )
    names = dict(
        Organization.all_objects.filter(
            pk__in=[r["organization_id"] for r in rows if r["organization_id"]]
        ).values_list("pk", "name")
    )
    for row in rows:
        org = row["organization_id"]
        row["label"] = (
            names.get(org, f"organization #{org}") if org else "no organization (platform or system)"
        )
    return rows


def violation_constraint_summary(user: Any, since: datetime) -> list[dict]:
    """Each declared constraint (and any other name that was hit) with its counts in the window."""
    counts = {
        (row["constraint_name"], row["column_name"]): row
        for row in violations_visible_to(user)
        .filter(occurred_at__gte=since)
        .values("constraint_name", "column_name", "table_name", "sqlstate")
        .annotate(
            errors=Count("id", filter=Q(kind=ConstraintViolation.Kind.ERROR)),
            prevented=Count("id", filter=Q(kind=ConstraintViolation.Kind.PREVENTED)),
            last_seen=Max("occurred_at"),
        )
    }
    declared = declarations.declared_constraints()
    rows = []
    seen: set[int] = set()
    for (name, column), hit in counts.items():
        item = declared.get(name)
        if item is not None:
            seen.add(id(item))
        rows.append(_summary_row(name, column, hit, item))
    for item in declared.values():
        if id(item) not in seen:
            seen.add(id(item))
            rows.append(_summary_row(item.name, "", None, item))
    return sorted(rows, key=lambda r: (-(r["errors"] + r["prevented"]), r["table"], r["label"]))


def _summary_row(
    name: str, column: str, hit: dict | None, item: declarations.DeclaredConstraint | None
) -> dict:

    return {
        "name": name,
        "label": violation_label(name, column),
        "table": item.table if item else (hit or {}).get("table_name", ""),
        "kind": item.kind if item else SQLSTATE_NAMES.get((hit or {}).get("sqlstate", ""), ""),
        "declaration": item.declaration if item else "not declared in Django",
        "message": item.message if item else "",
        "errors": hit["errors"] if hit else 0,
        "prevented": hit["prevented"] if hit else 0,
        "last_seen": hit["last_seen"] if hit else None,
        "checkable": item is not None and item.kind in {"check", "unique", "exclusion", "foreign key"},
    }


def violations_recent(user: Any, limit: int = 25) -> list[ConstraintViolation]:
    return list(violations_visible_to(user)[:limit])


CONSTRAINT_CHECK_KIND = "dbhealth_constraint_check"


def recent_constraint_checks(user: Any, limit: int = 10) -> list[dict]:
    """The latest "check existing data" runs with the constraint each one is about."""
    from procrastinate.contrib.django.models import ProcrastinateJob

    runs = list(JobRun.objects.filter(kind=CONSTRAINT_CHECK_KIND).select_related("started_by")[:limit])
    args = dict(
        ProcrastinateJob.objects.filter(
            pk__in=[r.procrastinate_job_id for r in runs if r.procrastinate_job_id]
        ).values_list("pk", "args")
    )
    return [
        {
            "run": run,
            "constraint": (run.result or {}).get("constraint")
            or (args.get(run.procrastinate_job_id) or {}).get("constraint", ""),
            "violating_rows": (run.result or {}).get("violating_rows"),
        }
        for run in runs
    ]


def constraint_check_pending(name: str) -> bool:
    """Is a "check existing data" run for `name` queued or running?"""
    from procrastinate.contrib.django.models import ProcrastinateJob

    pending = JobRun.objects.filter(kind=CONSTRAINT_CHECK_KIND).exclude(status__in=JobRun.FINISHED)
    return ProcrastinateJob.objects.filter(
        pk__in=pending.values("procrastinate_job_id"), args__constraint=name
    ).exists()
