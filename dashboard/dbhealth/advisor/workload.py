"""The advisor's inputs: what pg_stat_statements says the database spends its time on, and whether HypoPG is
there to test candidates.

Statements are PostgreSQL's normalized text (every constant replaced by $n), so nothing read here holds a
parameter or row value. The advisor works on its own connection (`advisor_connection`), never Django's:
hypothetical indexes live in the backend's memory until reset, and must not change the plans of the
application's own queries.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass

import psycopg

from dashboard.sidedb import side_connection

# Statements the advisor may EXPLAIN: reads and the writes whose WHERE an index serves. EXPLAIN without
# ANALYZE executes nothing.
PLANNABLE = re.compile(r"^\s*(select|with|update|delete)\b", re.IGNORECASE)
# Our own catalog reads and the queue's polling are not workload worth indexing for.
IGNORED = re.compile(
    r"\b(pg_catalog|pg_stat|information_schema|hypopg|procrastinate_|custodian_advisor_probe)", re.IGNORECASE
)

ENABLE_STATEMENTS = (
    "Add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart PostgreSQL, then run "
    "CREATE EXTENSION pg_stat_statements; in this database (the private cluster of scripts/pg.sh does both)."
)
ENABLE_HYPOPG = (
    "Install HypoPG (Debian: apt-get install postgresql-15-hypopg) and run CREATE EXTENSION hypopg; in this "
    "database. Without it candidates are listed but not proven."
)


@dataclass(frozen=True)
class Statement:
    queryid: int
    text: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int = 0  # returned or affected, over all calls


@dataclass(frozen=True)
class AdvisorStatus:
    statements_available: bool
    statements_reason: str
    hypopg_available: bool
    hypopg_reason: str


def advisor_connection() -> AbstractContextManager[psycopg.Connection]:
    """A private connection to the same database, closed (and so its hypothetical indexes gone) on exit."""
    return side_connection()


def _extension_installed(conn: psycopg.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name]).fetchone()
    return row is not None


def advisor_status(conn: psycopg.Connection) -> AdvisorStatus:
    """Whether the workload can be read and candidates proven here, and what to do if not."""
    statements_ok, statements_reason = False, ENABLE_STATEMENTS
    if _extension_installed(conn, "pg_stat_statements"):
        try:
            conn.execute("SELECT 1 FROM pg_stat_statements LIMIT 1")
            statements_ok, statements_reason = True, ""
        except psycopg.Error as exc:  # installed but not preloaded: the view raises
            statements_reason = f"{exc.diag.message_primary or exc}. {ENABLE_STATEMENTS}"
    hypopg_ok = _extension_installed(conn, "hypopg")
    return AdvisorStatus(statements_ok, statements_reason, hypopg_ok, "" if hypopg_ok else ENABLE_HYPOPG)


def statements_count(conn: psycopg.Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
        "WHERE d.datname = current_database()"
    ).fetchone()
    return int(row[0])


def statements_costliest(conn: psycopg.Connection, limit: int) -> list[Statement]:
    """This database's plannable statements that cost the most in total execution time."""
    rows = conn.execute(
        """
        SELECT s.queryid, s.query, SUM(s.calls), SUM(s.total_exec_time),
               SUM(s.total_exec_time) / SUM(s.calls), SUM(s.rows)
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = current_database() AND s.calls > 0
        GROUP BY s.queryid, s.query
        ORDER BY SUM(s.total_exec_time) DESC
        LIMIT %s
        """,
        [limit * 4],  # some are filtered out below (catalog reads, utility statements)
    ).fetchall()
    statements = [
        Statement(int(r[0]), r[1], int(r[2]), float(r[3]), float(r[4]), int(r[5]))
        for r in rows
        if r[0] is not None and PLANNABLE.match(r[1] or "") and not IGNORED.search(r[1])
    ]
    return statements[:limit]
