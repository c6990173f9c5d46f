"""Reads of the index advisor: the latest run's advice (dismissed ones apart), the runs' history, the
dismissals, and whether the advisor can work on this database."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q

from dashboard.dbhealth.advisor import workload
from dashboard.dbhealth.models import AdviceDismissal, AdvisorRun, IndexAdvice
from dashboard.jobs.models import JobRun

HISTORY_LENGTH = 20
ADVISOR_KIND = "dbhealth_advisor"  # the JobRun kind of a run


@dataclass
class AdviceListing:
    run: AdvisorRun | None
    proven: list[IndexAdvice]
    unproven: list[IndexAdvice]
    dismissed: list[tuple[IndexAdvice, AdviceDismissal]]


def advisor_status_read() -> workload.AdvisorStatus:
    with workload.advisor_connection() as conn:
        return workload.advisor_status(conn)


def advisor_run_latest() -> AdvisorRun | None:
    return AdvisorRun.objects.filter(status=AdvisorRun.Status.DONE).select_related("started_by").first()


def advice_listing(run: AdvisorRun | None) -> AdviceListing:
    """The run's advice, the largest gain first; advice whose candidate was dismissed listed apart."""
    if run is None:
        return AdviceListing(None, [], [], [])
    advice = list(IndexAdvice.objects.filter(run=run))
    dismissals = {
        d.fingerprint: d
        for d in AdviceDismissal.objects.filter(
            fingerprint__in=[a.fingerprint for a in advice]
        ).select_related("dismissed_by")
    }
    proven = sorted(
        (a for a in advice if a.proven and a.fingerprint not in dismissals),
        key=lambda a: a.cost_before - a.cost_after,
        reverse=True,
    )
    unproven = [a for a in advice if not a.proven and a.fingerprint not in dismissals]
    dismissed = [(a, dismissals[a.fingerprint]) for a in advice if a.fingerprint in dismissals]
    return AdviceListing(run, proven, unproven, dismissed)


def advisor_run_history(limit: int = HISTORY_LENGTH) -> list[AdvisorRun]:
    return list(
        AdvisorRun.objects.select_related("started_by").annotate(
            proven_count=Count("advice", filter=Q(advice__proven=True)),
            unproven_count=Count("advice", filter=Q(advice__proven=False)),
        )[:limit]
    )


def advice_dismissal_list() -> list[AdviceDismissal]:
    return list(AdviceDismissal.objects.select_related("dismissed_by"))


def advisor_run_pending() -> bool:
    return JobRun.objects.filter(kind=ADVISOR_KIND).exclude(status__in=JobRun.FINISHED).exists()
