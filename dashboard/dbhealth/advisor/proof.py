"""Proving a candidate: plan the statements again with the index present, without building it.

HypoPG makes a btree (or hash, brin) index visible to the planner only, in this backend's memory. It cannot
simulate GIN, so a GIN candidate (trigram search, jsonb containment) on a small table is built for real in a
transaction that is always rolled back (`lock_timeout` keeps it from queueing behind writers, and the
table-size cap bounds how long it blocks them); above the cap it stays unproven and says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from dashboard.dbhealth.advisor.plans import Candidate, NotPlannable, index_names_in, plan_explain
from dashboard.dbhealth.advisor.workload import Statement

HYPOPG_METHODS = {"btree", "hash", "brin"}


@dataclass
class QueryProof:
    statement: Statement
    cost_before: float
    cost_after: float
    uses_index: bool
    rows_after: float = 1.0  # rows the plan with the index returns per call


@dataclass
class Proof:
    proof: str  # hypopg, trial, none
    size_bytes: int | None = None
    queries: list[QueryProof] = field(default_factory=list)
    reason: str = ""

    def served(self) -> list[QueryProof]:
        return [q for q in self.queries if q.uses_index and q.cost_after < q.cost_before]


def _plan_costs(
    conn: psycopg.Connection,
    statements: list[Statement],
    arguments: dict[int, str],
    markers: tuple[str, ...],
    index_name: str | None,
) -> list[tuple[Statement, float, bool, float]]:
    costs = []
    for statement in statements:
        try:
            # With the same constants as the plan before (custom), or none (generic).
            plan = plan_explain(conn, statement, arguments.get(statement.queryid))
        except NotPlannable:
            continue
        names = index_names_in(plan)
        # Every one of the indexes must be in the plan (an OR's arms are used together, by a BitmapOr).
        used = all(any(m in n for n in names) for m in markers) if markers else index_name in names
        costs.append((statement, float(plan["Total Cost"]), used, float(plan.get("Plan Rows", 1))))
    return costs


def _proof_from(
    before: dict[int, float], after: list[tuple[Statement, float, bool, float]]
) -> list[QueryProof]:
    return [
        QueryProof(statement, before[statement.queryid], cost, used, rows)
        for statement, cost, used, rows in after
        if statement.queryid in before
    ]


def candidate_prove(
    conn: psycopg.Connection,
    candidate: Candidate,
    statements: list[Statement],
    before: dict[int, float],
    *,
    arguments: dict[int, str],
    hypopg: bool,
    trial_max_bytes: int,
) -> Proof:
    """Plan `statements` with `candidate` present; `before` holds their costs without it (by queryid),
    `arguments` the constants their custom plans were made with (advisor.values)."""
    if candidate.method in HYPOPG_METHODS:
        if not hypopg:
            return Proof("none", reason="HypoPG is not installed in this database, so nothing was tested.")
        row = conn.execute(
            "SELECT indexrelid FROM hypopg_create_index(%s)", [candidate.definition()]
        ).fetchone()
        oid = row[0]
        try:
            size = conn.execute("SELECT hypopg_relation_size(%s)", [oid]).fetchone()[0]
            # HypoPG names its indexes "<oid>btree_table_col": the marker finds it in a plan.
            after = _plan_costs(conn, statements, arguments, (f"<{oid}>",), None)
        finally:
            conn.execute("SELECT hypopg_drop_index(%s)", [oid])
        return Proof("hypopg", int(size), _proof_from(before, after))
    table_bytes = conn.execute("SELECT pg_table_size(%s::regclass)", [candidate.table]).fetchone()[0]
    if table_bytes > trial_max_bytes:
        return Proof(
            "none",
            reason=f"HypoPG cannot simulate {candidate.method.upper()} indexes, and the table is "
            f"{table_bytes >> 20} MB, above the {trial_max_bytes >> 20} MB trial-build cap "
            "(CUSTODIAN_ADVISOR_TRIAL_MAX_BYTES).",
        )
    name = f"custodian_advisor_trial_{candidate.fingerprint[:12]}"
    try:
        with conn.transaction(force_rollback=True):
            conn.execute("SET LOCAL lock_timeout = '1s'")
            conn.execute("SET LOCAL statement_timeout = '60s'")
            conn.execute(candidate.definition(name))
            size = conn.execute("SELECT pg_relation_size(%s::regclass)", [name]).fetchone()[0]
            after = _plan_costs(conn, statements, arguments, (), name)
    except psycopg.Error as exc:
        return Proof(
            "none", reason=f"The trial build failed: {exc.diag.message_primary or type(exc).__name__}."
        )
    return Proof("trial", int(size), _proof_from(before, after))


def group_prove(
    conn: psycopg.Connection,
    group: tuple[Candidate, ...],
    statements: list[Statement],
    before: dict[int, float],
    *,
    arguments: dict[int, str],
    hypopg: bool,
) -> tuple[Proof, list[int]]:
    """Plan `statements` with every index of `group` present at once (the arms of an OR: a BitmapOr needs
    them all, so none proves anything alone); the proof and each index's hypothetical size."""
    if not hypopg:
        return Proof("none", reason="HypoPG is not installed in this database, so nothing was tested."), []
    oids: list[int] = []
    try:
        for candidate in group:
            row = conn.execute(
                "SELECT indexrelid FROM hypopg_create_index(%s)", [candidate.definition()]
            ).fetchone()
            oids.append(row[0])
        sizes = [int(conn.execute("SELECT hypopg_relation_size(%s)", [oid]).fetchone()[0]) for oid in oids]
        after = _plan_costs(conn, statements, arguments, tuple(f"<{oid}>" for oid in oids), None)
    finally:
        for oid in oids:
            conn.execute("SELECT hypopg_drop_index(%s)", [oid])
    return Proof("hypopg", sum(sizes), _proof_from(before, after)), sizes
