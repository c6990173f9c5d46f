"""Candidates the advisor reads off join keys and OR conditions, from plans and from a real workload."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.dbhealth.advisor import plans
from dashboard.dbhealth.advisor.services import advisor_run
from dashboard.dbhealth.models import IndexAdvice
from tests.dashboard.dbhealth.advisor_data import sql as _sql
from tests.dashboard.dbhealth.advisor_data import workload as _workload

COMMENT = "models_core_ticketcomment"
TICKET = "models_core_ticket"


def _seq_scan(table: str, alias: str, cost: float, condition: str = "") -> dict:
    node = {"Node Type": "Seq Scan", "Relation Name": table, "Alias": alias, "Total Cost": cost}
    return {**node, "Filter": condition} if condition else node


def test_the_hashed_side_of_a_join_read_whole_gets_its_join_key():
    plan = {
        "Node Type": "Hash Join",
        "Total Cost": 1000.0,
        "Hash Cond": "(c.ticket_id = t.id)",
        "Plans": [
            {
                "Node Type": "Index Scan",
                "Relation Name": TICKET,
                "Alias": "t",
                "Total Cost": 8.0,
                "Index Cond": "(organization_id = $1)",
            },
            {
                "Node Type": "Hash",
                "Total Cost": 900.0,
                "Plans": [_seq_scan(COMMENT, "c", 900.0, "(deleted_at IS NULL)")],
            },
        ],
    }

    candidates = plans.plan_read(plan, {}).candidates

    assert candidates == [plans.Candidate(COMMENT, "btree", ("ticket_id",), (), "deleted_at IS NULL")]


def test_a_nested_loops_inner_side_filtered_by_the_join_gets_its_key_then_its_own_equality_columns():
    plan = {
        "Node Type": "Nested Loop",
        "Total Cost": 5000.0,
        "Join Filter": "(c.ticket_id = t.id)",
        "Plans": [
            _seq_scan(TICKET, "t", 10.0, "(ticket_number = $1)"),
            {
                "Node Type": "Materialize",
                "Total Cost": 4000.0,
                "Plans": [_seq_scan(COMMENT, "c", 4000.0, "((comment_type)::text = $2)")],
            },
        ],
    }

    candidates = plans.plan_read(plan, {}).candidates

    assert plans.Candidate(COMMENT, "btree", ("comment_type",)) in candidates
    assert plans.Candidate(COMMENT, "btree", ("ticket_id", "comment_type")) in candidates


def test_an_or_of_indexable_arms_yields_one_candidate_per_arm_proven_together():
    plan = _seq_scan(
        TICKET,
        TICKET,
        500.0,
        "((deleted_at IS NULL) AND (organization_id = $1) "
        "AND ((customer_id = $2) OR (assigned_agent_id = $3)))",
    )

    reading = plans.plan_read(plan, {TICKET: {"organization_id": 50.0}})

    live = "deleted_at IS NULL"
    assert reading.groups == [
        (
            plans.Candidate(TICKET, "btree", ("organization_id", "customer_id"), (), live),
            plans.Candidate(TICKET, "btree", ("organization_id", "assigned_agent_id"), (), live),
        )
    ]


def test_an_or_with_an_arm_no_index_serves_yields_nothing():
    plan = _seq_scan(TICKET, TICKET, 500.0, "((customer_id = $1) OR ((subject)::text <> $2))")

    reading = plans.plan_read(plan, {})

    assert reading.groups == [] and reading.candidates == []


@pytest.fixture
def comments(tickets):
    """Five comments per ticket, the FK index on ticket_id gone (as if the model had db_index=False)."""
    _sql(
        f"""
        INSERT INTO {COMMENT} (is_active, deleted_at, delete_reason, deletion_metadata, can_be_restored,
            content, comment_type, created_at, ticket_id, organization_id)
        SELECT true, NULL, '', '{{}}', true, 'Comment ' || n, 'public', now(), t.id, t.organization_id
        FROM {TICKET} t CROSS JOIN generate_series(1, 5) AS n
        """
    )
    _sql(f"ANALYZE {COMMENT}")
    return tickets


@pytest.mark.django_db(transaction=True)
def test_a_foreign_key_without_an_index_is_advised_from_the_join_that_reads_it_whole(comments, without_index):
    without_index("models_core_ticketcomment_ticket_id_731f8556")
    _workload(
        f"SELECT c.id FROM {TICKET} t JOIN {COMMENT} c ON c.ticket_id = t.id "
        "WHERE t.organization_id = %s AND t.ticket_number = %s AND c.deleted_at IS NULL",
        [[org.pk, 40 + n] for n, org in enumerate(comments)] * 3,
    )

    run = advisor_run()

    proven = [a for a in IndexAdvice.objects.filter(run=run, proven=True) if a.table_name == COMMENT]
    assert [a.definition.split(" ON ")[1] for a in proven] == [
        f"{COMMENT} USING btree (ticket_id) WHERE deleted_at IS NULL"
    ], [a.definition for a in IndexAdvice.objects.filter(run=run)]
    assert proven[0].proof == "hypopg" and proven[0].cost_after < proven[0].cost_before / 2
    assert "condition=models.Q(deleted_at__isnull=True)" in proven[0].meta_entry


@pytest.mark.django_db(transaction=True)
def test_an_or_of_two_unindexed_columns_is_advised_as_one_index_per_arm(tickets):
    # Neither ticket_number alone (the unique index leads with the organization) nor created_at has an
    # index: either arm alone leaves a whole-table read, both together make a BitmapOr.
    _sql(f"UPDATE {TICKET} SET created_at = now() - ticket_number * interval '1 minute'")
    _sql(f"ANALYZE {TICKET}")
    _workload(
        f"SELECT id FROM {TICKET} WHERE ticket_number = %s OR created_at = %s",
        [[n, datetime(2001, 1, n, tzinfo=UTC)] for n in range(1, 6)],
    )

    run = advisor_run()

    advice = list(IndexAdvice.objects.filter(run=run, proven=True))
    assert sorted(a.definition.split(" ON ")[1] for a in advice) == [
        f"{TICKET} USING btree (created_at)",
        f"{TICKET} USING btree (ticket_number)",
    ], [a.definition for a in IndexAdvice.objects.filter(run=run)]
    for one in advice:
        assert one.proof == "hypopg" and one.cost_after < one.cost_before / 2
        assert one.proven_with == [other.definition for other in advice if other != one]
