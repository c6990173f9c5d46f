"""The index advisor against a real workload: pg_stat_statements, HypoPG and the project's own tables.

The advisor reads through its own connection, so these tests commit their data (transactional_db) and put
back every index or extension they remove.
"""

from __future__ import annotations

import pytest
from django.db import connection

from dashboard.dbhealth.advisor import plans
from dashboard.dbhealth.advisor.services import advisor_run
from dashboard.dbhealth.advisor.workload import advisor_connection, advisor_status
from dashboard.dbhealth.models import IndexAdvice
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "advisor-secret-value-7731"


def _sql(statement: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
def tickets():
    """6,000 tickets over four organizations, a tenth in the trash, with fresh statistics."""
    orgs = [OrganizationFactory() for _ in range(4)]
    customer = UserFactory(organization=orgs[0])
    _sql(
        """
        INSERT INTO models_core_ticket (is_active, deleted_at, delete_reason, deletion_metadata,
            can_be_restored, ticket_number, subject, description, status, priority, tags, custom_fields,
            sla_breach, created_at, updated_at, customer_id, organization_id)
        SELECT g %% 10 <> 0, CASE WHEN g %% 10 = 0 THEN now() - g * interval '1 minute' END, '', '{}', true,
            g, 'Subject ' || md5(g::text), 'Description', 'open', 'low', '[]', '{}', false,
            now(), now(), %s, (ARRAY[%s, %s, %s, %s])[1 + g %% 4]
        FROM generate_series(1, 6000) AS g
        """,
        [customer.pk, *[o.pk for o in orgs]],
    )
    _sql("ANALYZE models_core_ticket")
    return orgs


@pytest.fixture
def without_index():
    """Drop one of the project's own indexes for the test, and build it again afterwards."""
    dropped: list[str] = []

    def drop(name: str) -> str:
        definition = _sql("SELECT pg_get_indexdef(%s::regclass)", [name])[0][0]
        _sql(f"DROP INDEX {name}")
        dropped.append(definition)
        return definition

    yield drop
    for definition in dropped:
        _sql(definition)


def _workload(statement: str, params_list: list[list]) -> None:
    _sql("SELECT pg_stat_statements_reset()")
    for params in params_list:
        _sql(statement, params)


def _trash_page(orgs) -> None:
    _workload(
        "SELECT id FROM models_core_ticket WHERE organization_id = %s AND deleted_at IS NOT NULL "
        "ORDER BY deleted_at DESC, id DESC LIMIT 50",
        [[org.pk] for org in orgs] * 3,
    )


def test_a_dropped_index_the_workload_needs_is_advised_exactly(tickets, without_index):
    without_index("idx_ticket_trash")
    # Its platform-wide twin (the same order without the organization) would serve this workload well enough.
    without_index("idx_ticket_trash_all")
    _trash_page(tickets)

    run = advisor_run()

    proven = list(IndexAdvice.objects.filter(run=run, proven=True))
    assert len(proven) == 1, [a.definition for a in IndexAdvice.objects.filter(run=run)]
    advice = proven[0]
    assert advice.proof == "hypopg"
    assert advice.definition.endswith(
        "ON models_core_ticket USING btree (organization_id, deleted_at DESC, id DESC) "
        "WHERE deleted_at IS NOT NULL"
    )
    assert advice.cost_after < advice.cost_before / 2
    assert advice.estimated_size_bytes > 0
    assert advice.model_label == "models_core.Ticket"
    assert "fields=['organization', '-deleted_at', '-id']" in advice.meta_entry
    assert "condition=models.Q(deleted_at__isnull=False)" in advice.meta_entry
    assert 'AddIndexConcurrently(model_name="ticket"' in advice.migration
    assert "atomic = False" in advice.migration
    assert advice.queries and all("$1" in q["statement"] for q in advice.queries)


def test_no_index_helps_no_advice(tickets):
    # Lookups by primary key and a whole-table count: existing indexes (or none) serve them best.
    _workload("SELECT subject FROM models_core_ticket WHERE id = %s", [[n] for n in range(1, 40)])
    _sql("SELECT count(*) FROM models_core_ticket")

    run = advisor_run()

    assert run.statements_examined >= 1
    assert not IndexAdvice.objects.filter(run=run).exists()


def test_a_trigram_search_without_its_index_gets_a_gin_advice_proven_by_a_rolled_back_build(
    tickets, without_index
):
    without_index("idx_ticket_search_gin")
    _workload(
        "SELECT id FROM models_core_ticket WHERE subject ILIKE %s AND deleted_at IS NULL",
        [[f"%{n}abc%"] for n in range(5)],
    )

    run = advisor_run()

    gin = [a for a in IndexAdvice.objects.filter(run=run) if a.method == "gin"]
    assert gin and gin[0].proven and gin[0].proof == "trial"
    assert "(subject gin_trgm_ops)" in gin[0].definition
    assert "opclasses=['gin_trgm_ops']" in gin[0].meta_entry
    # The trial index was rolled back.
    assert not _sql("SELECT 1 FROM pg_class WHERE relname LIKE 'custodian_advisor_trial_%%%%'")


def test_nothing_stored_holds_a_parameter_value(tickets, without_index):
    without_index("idx_ticket_trash")
    _trash_page(tickets)
    _sql("SELECT id FROM models_core_ticket WHERE subject = %s AND organization_id = %s", [SECRET, 1])

    run = advisor_run()

    stored = [str(a.queries) + a.definition for a in IndexAdvice.objects.filter(run=run)] + [str(run.notes)]
    assert not any(SECRET in text for text in stored)
    assert IndexAdvice.objects.filter(run=run).exists()


def test_without_hypopg_candidates_are_listed_unproven_and_the_page_says_how_to_install_it(
    tickets, without_index
):
    without_index("idx_ticket_trash")
    _trash_page(tickets)
    _sql("DROP EXTENSION hypopg")
    try:
        with advisor_connection() as conn:
            status = advisor_status(conn)
        run = advisor_run()
    finally:
        _sql("CREATE EXTENSION hypopg")

    assert not status.hypopg_available and "postgresql-15-hypopg" in status.hypopg_reason
    advice = list(IndexAdvice.objects.filter(run=run))
    assert advice and not any(a.proven for a in advice)
    assert all("HypoPG is not installed" in a.unproven_reason for a in advice if a.method == "btree")
    assert any("postgresql-15-hypopg" in note for note in run.notes)


@pytest.mark.django_db(transaction=False)
def test_candidates_from_a_plan_follow_equality_range_sort_and_constant_predicates():
    plan = {
        "Node Type": "Limit",
        "Total Cost": 100.0,
        "Plans": [
            {
                "Node Type": "Sort",
                "Total Cost": 99.0,
                "Sort Key": ["created_at DESC"],
                "Plans": [
                    {
                        "Node Type": "Seq Scan",
                        "Relation Name": "models_core_ticket",
                        "Alias": "models_core_ticket",
                        "Total Cost": 98.0,
                        "Filter": "((deleted_at IS NULL) AND (organization_id = $1) "
                        "AND ((status)::text = $2) AND ((subject)::text ~~* $3) AND (tags @> $4))",
                    }
                ],
            }
        ],
    }
    distinct = {"models_core_ticket": {"organization_id": 200.0, "status": 6.0}}

    candidates = plans.plan_read(plan, distinct).candidates

    assert candidates == [
        plans.Candidate(
            "models_core_ticket",
            "btree",
            ("organization_id", "status", "created_at DESC"),
            (),
            "deleted_at IS NULL",
        ),
        plans.Candidate("models_core_ticket", "gin", ("subject",), ("gin_trgm_ops",), "deleted_at IS NULL"),
        plans.Candidate("models_core_ticket", "gin", ("tags",), ("jsonb_path_ops",), "deleted_at IS NULL"),
    ]
