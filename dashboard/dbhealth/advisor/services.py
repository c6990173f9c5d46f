"""Writes of the index advisor: run it (as a background job), dismiss an advice, take a dismissal back.

A run reads the costliest statements from pg_stat_statements, plans each one generically, derives candidate
indexes from the plans' costly scans, proves each candidate with a hypothetical index and stores the proven
ones (and the unproven ones, marked, when HypoPG is absent or cannot simulate the method) with their Django
side. It stores normalized statements and costs only: no parameter or row value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from dashboard.dbhealth.advisor import django_side, plans, proof, timing, values, workload
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


@dataclass
class _Planned:
    plans: dict[int, dict] = field(default_factory=dict)  # queryid -> plan root
    costs: dict[int, float] = field(default_factory=dict)
    arguments: dict[int, str] = field(default_factory=dict)  # custom plans' constants, this run only


def _plan_all(conn: psycopg.Connection, statements: list[workload.Statement], notes: list[str]) -> _Planned:
    """Each statement's custom plan with constants from the statistics where every placeholder has one,
    else its generic plan (advisor.values)."""
    planned = _Planned()
    cache = values.StatisticsCache()
    for statement in statements:
        try:
            plan = plans.plan_generic(conn, statement)
        except plans.NotPlannable as exc:
            notes.append(f"Statement {statement.queryid} not planned: {exc}")
            continue
        custom = values.plan_custom(conn, statement, plan, cache)
        if custom is not None:
            plan, planned.arguments[statement.queryid] = custom
        planned.plans[statement.queryid] = plan
        planned.costs[statement.queryid] = float(plan["Total Cost"])
    return planned


def _advice_rows(
    conn: psycopg.Connection,
    run: AdvisorRun,
    statements: list[workload.Statement],
    planned: _Planned,
    hypopg: bool,
    job_run_id: int | None,
) -> list[IndexAdvice]:
    plans_by_id, before = planned.plans, planned.costs
    floor = timing.CallFloor(conn)
    tables = set().union(*(plans.relations_in(p) for p in plans_by_id.values())) if plans_by_id else set()
    distinct = plans.column_distinct(conn, tables)
    # Each candidate (or group of OR arms, proven together) with the statements whose plans suggested it
    # (dict: first-seen order).
    units: dict[tuple[plans.Candidate, ...], list[int]] = {}
    for qid, plan in plans_by_id.items():
        reading = plans.plan_read(plan, distinct)
        for unit in [(candidate,) for candidate in reading.candidates] + reading.groups:
            units.setdefault(unit, []).append(qid)
    existing = {table: django_side.existing_indexes(conn, table) for table in tables}
    by_id = {s.queryid: s for s in statements}
    min_gain = settings.CUSTODIAN_ADVISOR_MIN_GAIN
    rows: dict[str, IndexAdvice] = {}
    for done, (unit, suggested_by) in enumerate(units.items(), start=1):
        if job_run_id is not None:
            job_run_progress(job_run_id, done, len(units))
        table = unit[0].table
        # An OR's arm that an existing index serves needs nothing new: a BitmapOr takes that index.
        missing = tuple(c for c in unit if not django_side.already_served(c, existing.get(table, [])))
        if not missing:
            continue
        # Every examined statement that reads the table may use it, not only the one that suggested it.
        on_table = [by_id[qid] for qid, p in plans_by_id.items() if table in plans.relations_in(p)]
        if len(missing) == 1:
            result = proof.candidate_prove(
                conn,
                missing[0],
                on_table,
                before,
                arguments=planned.arguments,
                hypopg=hypopg,
                trial_max_bytes=settings.CUSTODIAN_ADVISOR_TRIAL_MAX_BYTES,
            )
            if result.proof == "hypopg" and not result.served() and missing[0].predicate:
                # HypoPG's partial indexes never serve a join's parameterized lookups (a real one does):
                # the same index without its predicate stands in. Its cost is an upper bound of the
                # partial one's (the partial index is smaller), so the proof is conservative.
                twin = replace(missing[0], predicate="")
                if not django_side.already_served(twin, existing.get(table, [])):
                    stand_in = proof.candidate_prove(
                        conn,
                        twin,
                        on_table,
                        before,
                        arguments=planned.arguments,
                        hypopg=hypopg,
                        trial_max_bytes=settings.CUSTODIAN_ADVISOR_TRIAL_MAX_BYTES,
                    )
                    result = stand_in if stand_in.served() else result
            sizes: list[int | None] = [result.size_bytes]
        else:
            result, group_sizes = proof.group_prove(
                conn, missing, on_table, before, arguments=planned.arguments, hypopg=hypopg
            )
            sizes = list(group_sizes) or [None] * len(missing)
        served = [q for q in result.served() if q.cost_after <= (1 - min_gain) * q.cost_before]
        if result.proof != "none" and not served:
            continue  # proven useless: no advice
        shown = served or [
            proof.QueryProof(by_id[qid], before[qid], before[qid], False) for qid in suggested_by
        ]
        # Estimated time per call with the index; unproven: the time it takes now.
        ms_after = [
            timing.ms_with_index(
                q.statement.mean_ms, q.cost_before, q.cost_after, floor.ms(table, q.rows_after)
            )
            if served
            else q.statement.mean_ms
            for q in shown
        ]
        queries = [
            {
                "queryid": q.statement.queryid,
                "statement": q.statement.text[:STATEMENT_MAX_CHARS],
                "calls": q.statement.calls,
                "mean_ms": round(q.statement.mean_ms, 4),
                "cost_before": q.cost_before,
                "cost_after": q.cost_after,
                "ms_after": round(after_ms, 4),
            }
            for q, after_ms in zip(shown, ms_after, strict=True)
        ]
        sides = [django_side.django_side(candidate) for candidate in missing]
        definitions = [c.definition(side.index_name) for c, side in zip(missing, sides, strict=True)]
        for candidate, side, definition, size in zip(missing, sides, definitions, sizes, strict=True):
            if candidate.fingerprint in rows:
                continue  # advised already, alone or with another OR
            rows[candidate.fingerprint] = IndexAdvice(
                run=run,
                fingerprint=candidate.fingerprint,
                table_name=candidate.table,
                method=candidate.method,
                definition=definition,
                proven=bool(served),
                proof=result.proof,
                unproven_reason=result.reason,
                cost_before=sum(q.cost_before * q.statement.calls for q in shown),
                cost_after=sum(q.cost_after * q.statement.calls for q in shown),
                estimated_size_bytes=size,
                writes_per_day=_writes_per_day(candidate.table),
                queries=queries,
                proven_with=[d for d in definitions if d != definition],
                model_label=side.model_label,
                meta_entry=side.meta_entry,
                migration=side.migration,
                makes_redundant=django_side.made_redundant(candidate, existing.get(candidate.table, [])),
            )
    return list(rows.values())


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
                planned = _plan_all(conn, statements, notes)
                rows = _advice_rows(conn, run, statements, planned, status.hypopg_available, job_run_id)
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
