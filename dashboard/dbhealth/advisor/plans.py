"""Plans of normalized statements, and the candidate indexes read off them.

A normalized statement has $n placeholders and no values. PostgreSQL 15 has no EXPLAIN (GENERIC_PLAN), so a
statement is PREPAREd (the server infers each placeholder's type) and EXPLAINed with plan_cache_mode =
force_generic_plan (NULL arguments stand in: the generic plan never looks at them), or with
force_custom_plan and constants drawn from PostgreSQL's own statistics (advisor.values).

Candidates follow the usual btree rule (equality columns first, most distinct first, then one range column,
then the sort keys a Sort above the scan needs), a partial predicate for the constant conditions the model
layer always adds (`deleted_at IS NULL`), the join key of a side a join reads whole, one index per arm of
an OR (a group, proven together), trigram GIN for ILIKE/LIKE searches and GIN jsonb_path_ops for JSON
containment.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from dashboard.dbhealth.advisor.workload import Statement

SCAN_NODES = {"Seq Scan", "Bitmap Heap Scan", "Index Scan", "Index Only Scan"}
PLACEHOLDER = re.compile(r"\$(\d+)")
# One comparison as EXPLAIN prints it: `(col = $1)`, `((alias.col)::text ~~* $2)`, `(col IS NULL)`, ...
ATOM = re.compile(
    r"""^\(*
        (?:(?P<alias>\w+)\.)?(?P<column>\w+)\)?(?:::[\w\s]+(?:\[\])?)?\)?\s*
        (?P<op>=\ ANY|<>\ ALL|<>|=|<=|>=|<|>|~~\*|~~|@>|IS\ NULL|IS\ NOT\ NULL)
        \s*(?P<rest>.*?)\)*$""",
    re.VERBOSE,
)
SORT_KEY = re.compile(r"^(?:(?P<alias>\w+)\.)?(?P<column>\w+)(?P<desc>\s+DESC)?(?:\s+NULLS\s+\w+)?$")
# Constant predicates on these columns are the model layer's own (soft delete); they make partial indexes.
PARTIAL_COLUMNS = {"deleted_at"}


@dataclass(frozen=True)
class Candidate:
    table: str
    method: str  # btree or gin
    columns: tuple[str, ...]  # "col" or "col DESC"
    opclasses: tuple[str, ...] = ()
    predicate: str = ""  # e.g. "deleted_at IS NULL"

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(c.split()[0] for c in self.columns)

    @property
    def fingerprint(self) -> str:
        raw = json.dumps([self.table, self.method, self.columns, self.opclasses, self.predicate])
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def definition(self, name: str | None = None) -> str:
        parts = [
            f"{col} {opclass}".strip()
            for col, opclass in zip(self.columns, self.opclasses or ("",) * len(self.columns), strict=True)
        ]
        head = f"CREATE INDEX {name} ON" if name else "CREATE INDEX ON"
        sql = f"{head} {self.table} USING {self.method} ({', '.join(parts)})"
        return f"{sql} WHERE {self.predicate}" if self.predicate else sql


@dataclass
class PlanReading:
    cost: float
    candidates: list[Candidate] = field(default_factory=list)
    index_names: set[str] = field(default_factory=set)
    groups: list[tuple[Candidate, ...]] = field(default_factory=list)  # to be proven together (OR arms)


class NotPlannable(Exception):
    """The statement cannot be prepared or explained here (its reason is safe to show: no values)."""


def _placeholders(text: str) -> int:
    return max((int(n) for n in PLACEHOLDER.findall(text)), default=0)


def plan_generic(conn: psycopg.Connection, statement: Statement, name: str = "custodian_advisor") -> dict:
    """The generic plan of a normalized statement, as EXPLAIN's JSON root node (with "Total Cost")."""
    return plan_explain(conn, statement, None, name)


def plan_explain(
    conn: psycopg.Connection,
    statement: Statement,
    arguments: str | None,
    name: str = "custodian_advisor",
    on_prepared: Callable[[str], str | None] | None = None,
) -> dict:
    """EXPLAIN a normalized statement: its generic plan (`arguments` None: NULLs stand in, and the generic
    plan never looks at them), or its custom plan for `arguments` (typed literals, see advisor.values).

    `on_prepared(name)` runs while the statement is prepared and may return the arguments to plan with
    (the server has inferred the placeholders' types by then); None keeps the generic plan.
    """
    try:
        conn.execute(f"DEALLOCATE {name}") if _prepared(conn, name) else None
        # Statement text comes from pg_stat_statements (the server's own normalized text), not from a user.
        conn.execute(f"PREPARE {name} AS {statement.text}")
        try:
            if on_prepared is not None:
                arguments = on_prepared(name)
            if arguments is None:
                arguments = ", ".join(["NULL"] * _placeholders(statement.text))
                mode = "force_generic_plan"
            else:
                mode = "force_custom_plan"
            conn.execute(f"SET plan_cache_mode = {mode}")
            row = conn.execute(
                f"EXPLAIN (FORMAT JSON) EXECUTE {name}{f'({arguments})' if arguments else ''}"
            ).fetchone()
        finally:
            conn.execute(f"DEALLOCATE {name}")
            conn.execute("SET plan_cache_mode = force_generic_plan")
    except psycopg.Error as exc:
        raise NotPlannable(exc.diag.message_primary or type(exc).__name__) from exc
    document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return document[0]["Plan"]


def _prepared(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [name]).fetchone() is not None


def split_and(condition: str) -> list[str]:
    """Top-level AND operands of a parenthesised condition."""
    return _split_top(condition, " AND ")


def split_or(condition: str) -> list[str]:
    """Top-level OR operands (a condition without an OR is its only operand)."""
    return _split_top(condition, " OR ")


def _split_top(condition: str, word: str) -> list[str]:
    text = condition.strip()
    while text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "'":
            i = text.index("'", i + 1) if "'" in text[i + 1 :] else len(text)
        elif depth == 0 and text.startswith(word, i):
            parts.append(text[start:i].strip())
            start = i + len(word)
            i += len(word) - 1
        i += 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


@dataclass
class _Conditions:
    equality: list[str] = field(default_factory=list)
    ranges: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    containment: list[str] = field(default_factory=list)
    predicates: list[str] = field(default_factory=list)
    # `a = $1 OR b = $2`: one _Conditions per arm; a BitmapOr needs an index for every arm.
    alternatives: list[list[_Conditions]] = field(default_factory=list)


def _read_conditions(texts: list[str], alias: str) -> _Conditions:
    found = _Conditions()
    for text in texts:
        for atom in split_and(text):
            arms = split_or(atom)
            if len(arms) > 1:
                read = [_read_conditions([arm], alias) for arm in arms]
                # Every arm must be indexable, or the scan reads the whole table anyway.
                if all(arm.equality or arm.ranges for arm in read):
                    found.alternatives.append(read)
                continue
            match = ATOM.match(atom)
            if match is None or (match["alias"] and match["alias"] != alias):
                continue
            column, op = match["column"], match["op"]
            # A comparison with another relation's column is a join: the key is this side's column.
            if op in ("=", "= ANY"):
                found.equality.append(column)
            elif op in ("<", ">", "<=", ">="):
                found.ranges.append(column)
            elif op in ("~~*", "~~"):
                found.searches.append(column)
            elif op == "@>":
                found.containment.append(column)
            elif op in ("IS NULL", "IS NOT NULL") and column in PARTIAL_COLUMNS:
                found.predicates.append(f"{column} {op}")
    return found


def _sort_columns(sort_keys: list[str], alias: str) -> list[str] | None:
    columns = []
    for key in sort_keys:
        match = SORT_KEY.match(key.strip())
        if match is None or (match["alias"] and match["alias"] != alias):
            return None  # sorted by an expression or another table's column: no index gives this order
        columns.append(match["column"] + (" DESC" if match["desc"] else ""))
    return columns


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _btree_columns(
    equality: list[str], ranges: list[str], order: list[str] | None, distinct: dict[str, float]
) -> list[str]:
    # Most distinct first: for equality it does not change the lookup, and it lets the index serve more.
    columns = sorted(_unique(equality), key=lambda c: -distinct.get(c, 0.0))
    ranges = [c for c in _unique(ranges) if c not in columns]
    # A sort helps after the equality columns unless a range on another column comes first.
    if order and (not ranges or order[0].split()[0] == ranges[0]):
        columns += [c for c in order if c.split()[0] not in columns]
    elif ranges:
        columns.append(ranges[0])
    return columns


def _scan_candidates(
    node: dict, sort_keys: list[str] | None, distinct: dict[str, float], join_columns: list[str]
) -> tuple[list[Candidate], list[tuple[Candidate, ...]]]:
    """The scan's candidates, and the groups that only help together (one index per arm of an OR)."""
    table = node["Relation Name"]
    alias = node.get("Alias", table)
    texts = [node[k] for k in ("Filter", "Index Cond", "Recheck Cond") if node.get(k)]
    conditions = _read_conditions(texts, alias)
    predicate = " AND ".join(sorted(set(conditions.predicates)))
    candidates: list[Candidate] = []
    order = _sort_columns(sort_keys, alias) if sort_keys else None
    columns = _btree_columns(conditions.equality, conditions.ranges, order, distinct)
    if columns:
        candidates.append(Candidate(table, "btree", tuple(columns), predicate=predicate))
    # The join key of a side read whole (hashed, or filtered in a loop): an index on it lets a nested
    # loop look each row up instead; the scan's own equality columns follow it.
    for column in join_columns:
        keyed = (column, *[c for c in _btree_columns(conditions.equality, [], None, distinct) if c != column])
        joined = Candidate(table, "btree", keyed, predicate=predicate)
        if joined not in candidates:
            candidates.append(joined)
    for column in _unique(conditions.searches):
        candidates.append(Candidate(table, "gin", (column,), ("gin_trgm_ops",), predicate))
    for column in _unique(conditions.containment):
        candidates.append(Candidate(table, "gin", (column,), ("jsonb_path_ops",), predicate))
    groups = []
    for arms in conditions.alternatives:
        # Each arm keeps the conditions ANDed with the whole OR (a BitmapOr's arms may use them too); no
        # order: a BitmapOr returns rows in physical order.
        group = tuple(
            Candidate(
                table,
                "btree",
                tuple(_btree_columns(conditions.equality + arm.equality, arm.ranges, None, distinct)),
                predicate=predicate,
            )
            for arm in arms
        )
        if len(set(group)) == len(group) and group not in groups:
            groups.append(group)
    return candidates, groups


JOIN_NODES = {"Hash Join", "Merge Join", "Nested Loop"}
JOIN_KEYS = ("Hash Cond", "Merge Cond", "Join Filter")
# Nodes between a join and the scan one of its sides reads.
PASS_THROUGH = {"Hash", "Sort", "Materialize", "Memoize", "Gather", "Incremental Sort"}
COLUMN_REF = re.compile(r"^\(*(?:(?P<alias>\w+)\.)?(?P<column>\w+)\)?(?:::[\w\s]+(?:\[\])?)?\)*$")


def _side_scan(node: dict) -> dict | None:
    while node.get("Node Type") in PASS_THROUGH and len(node.get("Plans", [])) == 1:
        node = node["Plans"][0]
    if node.get("Node Type") in ("Seq Scan", "Bitmap Heap Scan") and node.get("Relation Name"):
        return node  # read whole or by another column: not yet looked up by the join key
    return None


def _join_columns(plan: dict) -> dict[int, list[str]]:
    """id(scan node) -> the columns it is joined on by `a.x = b.y`, for each side of each join."""
    found: dict[int, list[str]] = {}
    stack = [plan]
    while stack:
        node = stack.pop()
        children = node.get("Plans", [])
        stack.extend(children)
        if node.get("Node Type") not in JOIN_NODES:
            continue
        pairs: list[tuple[str | None, str]] = []
        for key in JOIN_KEYS:
            for atom in split_and(node.get(key) or ""):
                match = ATOM.match(atom)
                other = COLUMN_REF.match(match["rest"]) if match and match["op"] == "=" else None
                if other is None:
                    continue
                pairs += [(match["alias"], match["column"]), (other["alias"], other["column"])]
        for child in children:
            scan = _side_scan(child)
            if scan is None:
                continue
            alias = scan.get("Alias", scan["Relation Name"])
            columns = [column for side, column in pairs if side == alias]
            if columns:
                found.setdefault(id(scan), []).extend(c for c in columns if c not in found.get(id(scan), []))
    return found


def _walk(node: dict, sort_keys: list[str] | None, found: list[tuple[dict, list[str] | None]]) -> None:
    kind = node.get("Node Type")
    children = node.get("Plans", [])
    if kind in SCAN_NODES and node.get("Relation Name"):
        found.append((node, sort_keys))
    if kind == "Sort":
        keys = node.get("Sort Key")
    elif kind in ("Limit", "Aggregate", "Gather", "Gather Merge", "Incremental Sort") and len(children) == 1:
        keys = sort_keys if kind != "Incremental Sort" else node.get("Sort Key")
    else:
        keys = None  # a join or anything else between a Sort and a scan breaks the order's link
    for child in children:
        _walk(child, keys, found)


def index_names_in(plan: dict) -> set[str]:
    names: set[str] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if node.get("Index Name"):
            names.add(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return names


def plan_read(plan: dict, distinct: dict[str, dict[str, float]], min_share: float = 0.1) -> PlanReading:
    """The plan's cost, the indexes it uses and the candidates for its costly scans.

    A scan is worth an index only if it carries at least `min_share` of the statement's cost.
    """
    total = float(plan["Total Cost"])
    scans: list[tuple[dict, list[str] | None]] = []
    _walk(plan, None, scans)
    joins = _join_columns(plan)
    reading = PlanReading(cost=total, index_names=index_names_in(plan))
    for node, sort_keys in scans:
        if total > 0 and float(node["Total Cost"]) < min_share * total:
            continue
        candidates, groups = _scan_candidates(
            node, sort_keys, distinct.get(node["Relation Name"], {}), joins.get(id(node), [])
        )
        for candidate in candidates:
            if candidate not in reading.candidates:
                reading.candidates.append(candidate)
        for group in groups:
            if group not in reading.groups:
                reading.groups.append(group)
    return reading


def column_distinct(conn: psycopg.Connection, tables: set[str]) -> dict[str, dict[str, float]]:
    """Distinct values per column from pg_stats (negative n_distinct is a fraction of the rows)."""
    if not tables:
        return {}
    rows = conn.execute(
        """
        SELECT s.tablename, s.attname,
               CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * GREATEST(c.reltuples, 1) ELSE s.n_distinct END
        FROM pg_stats s
        JOIN pg_class c ON c.relname = s.tablename
        JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = s.schemaname
        WHERE s.schemaname = 'public' AND s.tablename = ANY(%s)
        """,
        [list(tables)],
    ).fetchall()
    result: dict[str, dict[str, float]] = {}
    for table, column, value in rows:
        result.setdefault(table, {})[column] = float(value or 0)
    return result


def relations_in(plan: dict) -> set[str]:
    names: set[str] = set()
    stack = [plan]
    while stack:
        node = stack.pop()
        if node.get("Relation Name"):
            names.add(node["Relation Name"])
        stack.extend(node.get("Plans", []))
    return names
