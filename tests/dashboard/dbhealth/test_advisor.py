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
from tests.dashboard.dbhealth.advisor_data import sql as _sql
from tests.dashboard.dbhealth.advisor_data import vacuum_all_visible
from tests.dashboard.dbhealth.advisor_data import workload as _workload
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "advisor-secret-value-7731"


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


def test_a_top_n_page_the_generic_plan_hides_is_advised_from_a_custom_plan(without_index):
    # Forty organizations, each with a tenth of its tickets in the trash. The generic plan (LIMIT $2 as a
    # tenth of the rows) walks the platform-wide idx_ticket_trash_all and filters: no sort, no candidate.
    # The custom plan (a typical organization from pg_stats, LIMIT as many rows as the calls returned)
    # must read the organization's trash and sort it: the candidate shows.
    orgs = [OrganizationFactory() for _ in range(40)]
    customer = UserFactory(organization=orgs[0])
    # A table as autovacuum leaves it (pages all-visible: an index-only scan reads no heap). VACUUM can
    # mark them only once the rows' commit is on disk, and the private cluster commits asynchronously; and
    # only once no older snapshot is held (vacuum_all_visible waits for one to end).
    _sql("SET synchronous_commit = on")
    _sql(
        """
        INSERT INTO models_core_ticket (is_active, deleted_at, delete_reason, deletion_metadata,
            can_be_restored, ticket_number, subject, description, status, priority, tags, custom_fields,
            sla_breach, created_at, updated_at, customer_id, organization_id)
        SELECT (g / 40) %% 10 <> 0, CASE WHEN (g / 40) %% 10 = 0 THEN now() - g * interval '1 minute' END,
            '', '{}', true, g, 'Subject', '', 'open', 'low', '[]', '{}', false, now(), now(), %s,
            (%s::bigint[])[1 + g %% 40]
        FROM generate_series(1, 16000) AS g
        """,
        [customer.pk, [o.pk for o in orgs]],
    )
    vacuum_all_visible("models_core_ticket")
    _sql("RESET synchronous_commit")
    without_index("idx_ticket_trash")
    _trash_page(orgs)

    run = advisor_run()

    proven = list(IndexAdvice.objects.filter(run=run, proven=True))
    assert [a.definition.split(" ON ")[1] for a in proven] == [
        "models_core_ticket USING btree (organization_id, deleted_at DESC, id DESC) "
        "WHERE deleted_at IS NOT NULL"
    ], [a.definition for a in IndexAdvice.objects.filter(run=run)]


def test_the_estimate_is_in_server_time_above_what_any_call_costs(tickets, without_index):
    without_index("idx_ticket_trash")
    without_index("idx_ticket_trash_all")
    _trash_page(tickets)

    advice = IndexAdvice.objects.get(run=advisor_run(), proven=True)

    # Every call pays a floor the planner's costs leave out: the time gain is below the cost gain.
    assert advice.time_gain is not None and 1 < advice.time_gain < advice.gain
    for query in advice.queries:
        assert 0 < query["ms_after"] < query["mean_ms"]


def test_no_value_drawn_from_the_statistics_is_stored(tickets, without_index):
    # The trashed tickets' delete reason is the column's most common value: a custom plan uses it as its
    # constant, and nothing kept may hold it.
    _sql("UPDATE models_core_ticket SET delete_reason = %s WHERE deleted_at IS NOT NULL", [SECRET])
    _sql("ANALYZE models_core_ticket")
    without_index("idx_ticket_trash")
    without_index("idx_ticket_trash_all")
    _workload(
        "SELECT id FROM models_core_ticket WHERE organization_id = %s AND delete_reason = %s "
        "AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT 20",
        [[org.pk, "other"] for org in tickets] * 2,
    )

    run = advisor_run()

    advice = list(IndexAdvice.objects.filter(run=run))
    assert advice
    stored = [str(a.queries) + a.definition + a.meta_entry + a.unproven_reason for a in advice]
    assert not any(SECRET in text for text in [*stored, str(run.notes), run.error])


@pytest.mark.django_db(transaction=False)
def test_custom_arguments_come_from_the_statistics_and_the_rows_per_call():
    from dashboard.dbhealth.advisor import values
    from dashboard.dbhealth.advisor.workload import Statement

    text = "SELECT id FROM t WHERE org = $1 AND n > $2 LIMIT $3 OFFSET $4"
    statement = Statement(1, text, 3, 1.0, 0.3, 150)
    plan = {
        "Node Type": "Seq Scan",
        "Relation Name": "t",
        "Alias": "t",
        "Filter": "((org = $1) AND (n > $2))",
    }
    cache = values.StatisticsCache({("t", "org"): (["7", "8"], "9"), ("t", "n"): (["1"], "42")})

    with connection.cursor() as cursor:
        arguments = values.custom_arguments(
            cursor.connection, statement, plan, ["bigint", "integer", "bigint", "bigint"], cache
        )
        # A placeholder the statistics cannot explain (a search pattern): the generic plan stands.
        searched = Statement(2, "SELECT id FROM t WHERE s ~~* $1", 1, 1.0, 1.0, 1)
        search_plan = {**plan, "Filter": "((s)::text ~~* $1)"}
        assert values.custom_arguments(cursor.connection, searched, search_plan, ["text"], cache) is None

    assert arguments == "'7'::bigint, '42'::integer, '50'::bigint, '0'::bigint"
