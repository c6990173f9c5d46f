"""Writes of the index advisor: run it (as a background job), dismiss an advice, take a dismissal back.

A run reads the costliest statements from pg_stat_statements, plans each one generically, derives candidate
indexes from the plans' costly scans, proves each candidate with a hypothetical index and stores the proven
ones (and the unproven ones, marked, when HypoPG is absent or cannot simulate the method) with their Django
side. It stores normalized statements and costs only: no parameter or row value.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dashboard.dbhealth.advisor import django_side, plans, proof, workload
from dashboard.dbhealth.advisor.selectors import ADVISOR_KIND, advisor_run_pending
from dashboard.dbhealth.models import AdviceDismissal, AdvisorRun, IndexAdvice, TableSnapshot
from dashboard.jobs.models import JobRun
from dashboard.jobs.services import job_run_progress, job_run_start
from models_core.locks import advisory_xact_lock
from models_core.models import User

STATEMENT_MAX_CHARS = 2000


class AdvisorRunPending(Exception):
    """An advisor run is already queued or running: a second one would plan the same workload again."""


def advisor_run_start(*, user: User | None) -> JobRun:
    """Queue an advisor run (it plans dozens of statements: never in a web request); `user` None is the
    daily schedule. Raises AdvisorRunPending while another run is queued or running.

    The check and the queueing hold one lock, so a DBA's click and the schedule cannot both queue a run.
    """
    with transaction.atomic():
        advisory_xact_lock("dbhealth", "advisor_run")
        if advisor_run_pending():
            raise AdvisorRunPending("An advisor run is already queued or running.")
        return job_run_start(ADVISOR_KIND, user, "dbhealth.advisor_run")


def _writes_per_day(table: str) -> float | None:
    """Rows inserted, updated or deleted per day, from the table's snapshots of the last week."""
    since = timezone.now() - timedelta(days=7)
    readings = list(
        # Snapshots taken before write counters were recorded have them NULL.
        TableSnapshot.objects.filter(
            schema_name="public", table_name=table, run__taken_at__gte=since, n_tup_ins__isnull=False
        )
        .order_by("run__taken_at")
        .values_list("run__taken_at", "n_tup_ins", "n_tup_upd", "n_tup_del")
    )
    if len(readings) < 2:
        return None
    (start, *first), (end, *last) = readings[0], readings[-1]
    days = (end - start).total_seconds() / 86400
    written = sum(last) - sum(first)
    if days <= 0 or written < 0:  # a statistics reset in between: no honest rate
        return None
    return written / days


def _plan_all(
    conn: psycopg.Connection, statements: list[workload.Statement], notes: list[str]
) -> tuple[dict[int, dict], dict[int, float]]:
    plans_by_id: dict[int, dict] = {}
    for statement in statements:
        try:
            plans_by_id[statement.queryid] = plans.plan_generic(conn, statement)
        except plans.NotPlannable as exc:
            notes.append(f"Statement {statement.queryid} not planned: {exc}")
    return plans_by_id, {qid: float(plan["Total Cost"]) for qid, plan in plans_by_id.items()}


def _advice_rows(
    conn: psycopg.Connection,
    run: AdvisorRun,
    statements: list[workload.Statement],
    plans_by_id: dict[int, dict],
    before: dict[int, float],
    hypopg: bool,
    job_run_id: int | None,
) -> list[IndexAdvice]:
    tables = set().union(*(plans.relations_in(p) for p in plans_by_id.values())) if plans_by_id else set()
    distinct = plans.column_distinct(conn, tables)
    # Each candidate with the statements whose plans suggested it (dict: first-seen order).
    candidates: dict[plans.Candidate, list[int]] = {}
    for qid, plan in plans_by_id.items():
        for candidate in plans.plan_read(plan, distinct).candidates:
            candidates.setdefault(candidate, []).append(qid)
    existing = {table: django_side.existing_indexes(conn, table) for table in tables}
    by_id = {s.queryid: s for s in statements}
    min_gain = settings.CUSTODIAN_ADVISOR_MIN_GAIN
    rows = []
    for done, (candidate, suggested_by) in enumerate(candidates.items(), start=1):
        if job_run_id is not None:
            job_run_progress(job_run_id, done, len(candidates))
        if django_side.already_served(candidate, existing.get(candidate.table, [])):
            continue
        # Every examined statement that reads the table may use it, not only the one that suggested it.
        on_table = [by_id[qid] for qid, p in plans_by_id.items() if candidate.table in plans.relations_in(p)]
        result = proof.candidate_prove(
            conn,
            candidate,
            on_table,
            before,
            hypopg=hypopg,
            trial_max_bytes=settings.CUSTODIAN_ADVISOR_TRIAL_MAX_BYTES,
        )
        served = [q for q in result.served() if q.cost_after <= (1 - min_gain) * q.cost_before]
        if result.proof != "none" and not served:
            continue  # proven useless: no advice
        shown = served or [
            proof.QueryProof(by_id[qid], before[qid], before[qid], False) for qid in suggested_by
        ]
        side = django_side.django_side(candidate)
        rows.append(
            IndexAdvice(
                run=run,
                fingerprint=candidate.fingerprint,
                table_name=candidate.table,
                method=candidate.method,
                definition=candidate.definition(side.index_name),
                proven=bool(served),
                proof=result.proof,
                unproven_reason=result.reason,
                cost_before=sum(q.cost_before * q.statement.calls for q in shown),
                cost_after=sum(q.cost_after * q.statement.calls for q in shown),
                estimated_size_bytes=result.size_bytes,
                writes_per_day=_writes_per_day(candidate.table),
                queries=[
                    {
                        "queryid": q.statement.queryid,
                        "statement": q.statement.text[:STATEMENT_MAX_CHARS],
                        "calls": q.statement.calls,
                        "mean_ms": round(q.statement.mean_ms, 3),
                        "cost_before": q.cost_before,
                        "cost_after": q.cost_after,
                    }
                    for q in shown
                ],
                model_label=side.model_label,
                meta_entry=side.meta_entry,
                migration=side.migration,
                makes_redundant=django_side.made_redundant(candidate, existing.get(candidate.table, [])),
            )
        )
    return rows


def advisor_run(*, started_by_id: int | None = None, job_run_id: int | None = None) -> AdvisorRun:
    """Run the advisor now and store what it found; the run records why it could not, if it could not."""
    run = AdvisorRun.objects.create(started_at=timezone.now(), started_by_id=started_by_id)
    notes: list[str] = []
    try:
        with workload.advisor_connection() as conn:
            status = workload.advisor_status(conn)
            run.hypopg_available = status.hypopg_available
            if not status.statements_available:
                notes.append(status.statements_reason)
                rows: list[IndexAdvice] = []
            else:
                conn.execute("SET plan_cache_mode = force_generic_plan")
                conn.execute("SET statement_timeout = '30s'")
                run.statements_total = workload.statements_count(conn)
                statements = workload.statements_costliest(conn, settings.CUSTODIAN_ADVISOR_STATEMENTS)
                run.statements_examined = len(statements)
                plans_by_id, before = _plan_all(conn, statements, notes)
                rows = _advice_rows(
                    conn, run, statements, plans_by_id, before, status.hypopg_available, job_run_id
                )
                if not status.hypopg_available:
                    notes.append(status.hypopg_reason)
    except psycopg.Error as exc:
        run.status, run.error = AdvisorRun.Status.FAILED, str(exc)[:2000]
        run.finished_at, run.notes = timezone.now(), notes
        run.save()
        raise
    with transaction.atomic():
        IndexAdvice.objects.bulk_create(rows)
        run.status, run.finished_at, run.notes = AdvisorRun.Status.DONE, timezone.now(), notes
        run.save()
    return run


def advice_dismiss(*, user: User, advice_id: int, reason: str) -> AdviceDismissal:
    """Dismiss one advice (and the same candidate in later runs) with a reason; ValidationError if the
    reason is blank or the advice does not exist. Dismissing twice updates the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why this advice is dismissed.", code="reason_required")
    advice = IndexAdvice.objects.filter(pk=advice_id).first()
    if advice is None:
        raise ValidationError(
            "That advice does not exist (a newer run may have replaced it).", code="missing"
        )
    dismissal, _ = AdviceDismissal.objects.update_or_create(
        fingerprint=advice.fingerprint,
        defaults={
            "definition": advice.definition,
            "reason": reason[:2000],
            "dismissed_by": user,
            "dismissed_at": timezone.now(),
        },
    )
    return dismissal


def advice_dismissal_revoke(*, dismissal_id: int) -> bool:
    """Take a dismissal back, so the advice shows again; False if it was already gone."""
    deleted, _ = AdviceDismissal.objects.filter(pk=dismissal_id).delete()
    return bool(deleted)
