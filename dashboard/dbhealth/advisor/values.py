"""Constants for custom plans, drawn from PostgreSQL's own statistics, never from the workload.

A generic plan knows no placeholder's value: `LIMIT $2` is planned as a tenth of the rows and `col = $1` at
the column's average selectivity, so a top-N page looks cheap whatever index serves it, and the candidate a
custom plan would show (a sort above the scan) may not appear at all. A custom plan needs one value per
placeholder, and they come from what PostgreSQL itself keeps:

- `col <op> $n` in a scanned table's conditions: a value pg_stats holds for that column (the most common
  value of median frequency: a typical one, neither the rarest nor the commonest; for a range, the middle
  histogram bound; without most common values, the middle histogram bound too);
- `LIMIT $n`: the rows the statement returned per call (pg_stat_statements' rows / calls); `OFFSET $n`: 0.

A statement with a placeholder none of these explains (a search pattern, a value in the select list) keeps
its generic plan. The values live in the EXPLAIN's text only: never stored, shown or logged (a failed custom
plan falls back to the generic one without its error message, which could quote a value).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from dashboard.dbhealth.advisor.plans import ATOM, NotPlannable, plan_explain, split_and
from dashboard.dbhealth.advisor.workload import Statement

CONDITION_KEYS = ("Filter", "Index Cond", "Recheck Cond")
PLACEHOLDER = re.compile(r"\$(\d+)")
LIMIT = re.compile(r"\bLIMIT\s+\$(\d+)", re.IGNORECASE)
OFFSET = re.compile(r"\bOFFSET\s+\$(\d+)", re.IGNORECASE)
COMPARISON = {"=", "= ANY", "<>", "<", ">", "<=", ">="}
RANGE = {"<", ">", "<=", ">="}
# A type name as pg_prepared_statements prints it ("bigint", "timestamp with time zone", "text[]").
TYPE_NAME = re.compile(r'^[\w\s".]+(\[\])?$')


@dataclass
class StatisticsCache:
    """pg_stats rows read once per run: (table, column) -> (typical values, range value)."""

    columns: dict[tuple[str, str], tuple[list[str], str | None]] = field(default_factory=dict)

    def values(self, conn: psycopg.Connection, table: str, column: str) -> tuple[list[str], str | None]:
        key = (table, column)
        if key not in self.columns:
            self.columns[key] = _column_values(conn, table, column)
        return self.columns[key]


def _column_values(conn: psycopg.Connection, table: str, column: str) -> tuple[list[str], str | None]:
    row = conn.execute(
        """
        SELECT most_common_vals::text::text[], most_common_freqs, histogram_bounds::text::text[]
        FROM pg_stats WHERE schemaname = 'public' AND tablename = %s AND attname = %s
        """,
        [table, column],
    ).fetchone()
    if row is None:
        return [], None
    common, freqs, bounds = row[0] or [], row[1] or [], row[2] or []
    middle = bounds[len(bounds) // 2] if bounds else None
    # Most common values ordered from the median frequency outwards: the first is a typical value.
    by_freq = sorted(range(len(common)), key=lambda i: freqs[i] if i < len(freqs) else 0.0)
    outwards = sorted(range(len(by_freq)), key=lambda rank: abs(rank - len(by_freq) // 2))
    typical = [common[by_freq[rank]] for rank in outwards] or ([middle] if middle is not None else [])
    if bounds and len(typical) < 8:
        typical += [b for b in bounds[1:-1] if b not in typical][: 8 - len(typical)]
    return typical, middle


def _placeholder_columns(plan: dict) -> dict[int, tuple[str, str, str]]:
    """Placeholder number -> (table, column, operator) for `col <op> $n` in the scans' own conditions."""
    found: dict[int, tuple[str, str, str]] = {}
    stack = [plan]
    while stack:
        node = stack.pop()
        stack.extend(node.get("Plans", []))
        table = node.get("Relation Name")
        if not table:
            continue
        alias = node.get("Alias", table)
        for key in CONDITION_KEYS:
            for atom in split_and(node.get(key) or ""):
                match = ATOM.match(atom)
                if match is None or match["op"] not in COMPARISON:
                    continue
                if match["alias"] and match["alias"] != alias:
                    continue
                rest = match["rest"]
                # Only placeholders compared with the column: `$1`, `($1)::text`, `ANY (ARRAY[$1, $2])`.
                if PLACEHOLDER.sub("", re.sub(r"::[\w\s]+(\[\])?|ANY|ARRAY|[\s()\[\],]", "", rest)):
                    continue
                for number in PLACEHOLDER.findall(rest):
                    found.setdefault(int(number), (table, match["column"], match["op"]))
    return found


def parameter_types(conn: psycopg.Connection, name: str) -> list[str] | None:
    """The types the server inferred for a prepared statement's placeholders."""
    row = conn.execute(
        "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = %s", [name]
    ).fetchone()
    return list(row[0]) if row else None


def custom_arguments(
    conn: psycopg.Connection,
    statement: Statement,
    generic_plan: dict,
    types: list[str],
    cache: StatisticsCache,
) -> str | None:
    """The EXECUTE argument list of a custom plan (typed literals), or None if a placeholder has no value."""
    if not types:
        return None
    columns = _placeholder_columns(generic_plan)
    limits = {int(n) for n in LIMIT.findall(statement.text)}
    offsets = {int(n) for n in OFFSET.findall(statement.text)}
    used: dict[tuple[str, str], int] = {}
    literals = []
    for number, type_name in enumerate(types, start=1):
        if not TYPE_NAME.match(type_name) or type_name.endswith("[]"):
            return None
        if number in limits:
            value = str(max(1, math.ceil(statement.rows / max(statement.calls, 1))))
        elif number in offsets:
            value = "0"
        elif number in columns:
            table, column, op = columns[number]
            typical, middle = cache.values(conn, table, column)
            if op in RANGE and middle is not None:
                value = middle
            elif typical:
                # `col IN ($1, $2, $3)`: different values, so the list is as long as the query's.
                index = used.get((table, column), 0)
                used[(table, column)] = index + 1
                value = typical[index % len(typical)]
            else:
                return None
        else:
            return None
        literals.append(sql.SQL("{}::{}").format(sql.Literal(value), sql.SQL(type_name)).as_string(conn))
    return ", ".join(literals)


def plan_custom(
    conn: psycopg.Connection, statement: Statement, generic_plan: dict, cache: StatisticsCache
) -> tuple[dict, str] | None:
    """The statement's custom plan with values from the statistics, and its arguments (to plan it again
    the same way with a candidate present); None when the generic plan must stand."""
    if not PLACEHOLDER.search(statement.text):
        return None  # nothing to choose: the generic plan is the plan
    chosen: list[str | None] = []

    def choose(name: str) -> str | None:
        types = parameter_types(conn, name) or []
        chosen.append(custom_arguments(conn, statement, generic_plan, types, cache))
        return chosen[-1]

    try:
        plan = plan_explain(conn, statement, None, on_prepared=choose)
    except NotPlannable:
        return None  # its message could quote a value: the generic plan stands, and nothing is noted
    if not chosen or chosen[0] is None:
        return None
    return plan, chosen[0]
