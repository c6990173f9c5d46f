"""The query a scan runs per rule: one parallel-capable pass over the data table, nothing read back for a rule
that finds nothing, and stored results equal to the rule's predicate run directly, across runs with new,
unchanged, resolved and waived violations."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.validation import services, sightings
from dashboard.validation.models import ScanResult, ValidationScan, Violation, Waiver
from dashboard.validation.selectors import live_rows
from models_core.models import Ticket
from models_core.tenancy import organization_path
from models_core.validation import validator
from tests.table_statistics import STATES, statistics_make_stale

pytestmark = pytest.mark.django_db

TICKETS = Ticket._meta.db_table
PARALLEL_AS_ON_A_BIG_TABLE = [
    "parallel_setup_cost = 0",
    "parallel_tuple_cost = 0",
    "min_parallel_table_scan_size = 0",
    "max_parallel_workers_per_gather = 2",
    # Workers share a scan's CPU, never its page reads: on a small table full of dead row versions (what
    # rolled-back tests leave) the reads outweigh the CPU and both plans cost the same within the planner's
    # 1% margin. Reads made free, the plans differ by the CPU the workers share.
    "seq_page_cost = 0",
    "enable_indexscan = off",
    "enable_bitmapscan = off",
    "enable_indexonlyscan = off",
]


def rule_queries(model, rule_name: str) -> list[str]:
    """The SQL of one rule's run in a new scan."""
    scan = services.validation_scan_create(None)
    with CaptureQueriesContext(connection) as captured:
        services._rule_scan(scan, model, validator.get_rule(model, rule_name))
    ValidationScan.objects.filter(pk=scan.pk).update(status=ValidationScan.Status.SUCCEEDED)
    return [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("statistics", STATES)
def test_a_query_rule_reads_its_table_once_in_a_statement_that_may_run_in_parallel(legacy_rows, statistics):
    """PostgreSQL 15 never gives the SELECT of an INSERT ... SELECT parallel workers; the scan collects the
    failing keys with CREATE TABLE AS, which may have them (a count beside it read the table twice)."""
    statistics_make_stale(table=TICKETS, state=statistics)
    reads = [sql for sql in rule_queries(Ticket, "subject_required") if f'"{TICKETS}"' in sql]
    assert len(reads) == 1, reads
    assert reads[0].startswith("CREATE TEMPORARY TABLE"), reads[0]

    # Parallelism made cheap and the indexes put away, as for a pass over a big table: the statement's plan
    # gathers from workers. The settings go with the savepoint. The table's size is counted now: the one an
    # earlier test or autovacuum left may be no live tuple at all (nothing to share among workers); this
    # test's uncommitted rows count, and the ANALYZE's lock keeps autovacuum off the table until the EXPLAIN.
    sid = transaction.savepoint()
    with connection.cursor() as cursor:
        for setting in PARALLEL_AS_ON_A_BIG_TABLE:
            cursor.execute(f"SET LOCAL {setting}")
        cursor.execute(f"ANALYZE {TICKETS}")
        cursor.execute("EXPLAIN " + reads[0])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    transaction.savepoint_rollback(sid)
    assert "Gather" in plan and "Parallel Seq Scan" in plan, plan


def test_a_rule_that_finds_nothing_again_reads_nothing_back(legacy_rows, django_assert_num_queries):
    """Its one pass (create and drop of the key table), the look for current violations it resolves (none),
    its result; the savepoint pair is the test's transaction. No counts of the violation table, no sample."""
    rule_queries(Ticket, "status_choice")
    scan = services.validation_scan_create(None)
    with django_assert_num_queries(6):
        r = services._rule_scan(scan, Ticket, validator.get_rule(Ticket, "status_choice"))
    assert (r.violations, r.new, r.resolved, r.sample_ids) == (0, 0, 0, [])


def test_the_key_table_is_gone_after_each_rule_and_after_a_rule_that_raises(legacy_rows, monkeypatch):
    rule_queries(Ticket, "subject_required")
    rule_queries(Ticket, "subject_required")  # the name is free again for the next rule

    # Recording fails after the key table was created: the rule's savepoint takes the table with it.
    def broken(*args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT nonsense FROM {sightings.FAILING_TABLE}")

    monkeypatch.setattr(sightings, "violations_record", broken)
    scan = services.validation_scan_create(None)
    r = services._rule_scan(scan, Ticket, validator.get_rule(Ticket, "subject_required"))
    assert r.errored
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [sightings.FAILING_TABLE])
        assert cursor.fetchone()[0] is None


def expected(scan: ValidationScan, previous: dict) -> dict:
    """Per query rule, what the scan must store, from the rule's predicate and the waivers in force."""
    waived = set(
        Waiver.objects.filter(expires_at__gt=timezone.now()).values_list(
            "model_label", "rule_name", "object_id"
        )
    )
    out = {}
    for model in validator.models():
        label = model._meta.label_lower
        org = organization_path(model)
        for rule in validator.rules_for(model):
            q = rule.violation_q()
            if q is None:
                continue
            rows = live_rows(model).filter(q)
            failing = dict(
                rows.values_list("pk", org)
                if org
                else ((pk, None) for pk in rows.values_list("pk", flat=True))
            )
            before = previous.get((label, rule.name), {})
            per_org: dict = {}
            for pk, org_id in failing.items():
                c = per_org.setdefault(org_id, [0, 0, 0, 0])
                c[1 if (label, rule.name, pk) in waived else 0] += 1
                c[2] += pk not in before
            for pk, org_id in before.items():
                if pk not in failing:
                    per_org.setdefault(org_id, [0, 0, 0, 0])[3] += 1
            out[(label, rule.name)] = {
                "failing": failing,
                "totals": tuple(sum(c[i] for c in per_org.values()) for i in range(4)),
                "per_org": {k: tuple(v) for k, v in per_org.items()},
                "sample": sorted(failing)[:1000],
            }
    return out


def stored(scan: ValidationScan) -> dict:
    out = {}
    for r in ScanResult.objects.filter(scan=scan, has_query=True).prefetch_related("organization_counts"):
        assert not r.errored, r.error_message
        rows = Violation.objects.filter(model_label=r.model_label, rule_name=r.rule_name, resolved_scan=None)
        out[(r.model_label, r.rule_name)] = {
            "failing": dict(rows.values_list("object_id", "organization_id")),
            "totals": (r.violations, r.waived, r.new, r.resolved),
            "per_org": {
                c.organization_id: (c.violations, c.waived, c.new, c.resolved)
                for c in r.organization_counts.all()
            },
            "sample": r.sample_ids,
        }
    return out


def test_stored_results_equal_the_rules_run_directly_across_runs(legacy_rows, org_admin):
    def scan_and_compare(previous: dict) -> tuple[ValidationScan, dict]:
        scan = services.validation_scan_run(services.validation_scan_create(None).pk)
        want = expected(scan, previous)
        assert stored(scan) == want
        return scan, {key: value["failing"] for key, value in want.items()}

    first, failing = scan_and_compare({})
    assert failing[("models_core.ticket", "agent_same_organization")]

    # New (a ticket blanked, one resolved without a time), unchanged, resolved (a blank fixed, the foreign
    # agent replaced: that rule now finds nothing), waived (a blank accepted).
    blank, kept = legacy_rows["blank"]
    Ticket.objects.filter(pk=blank.pk).update(subject="Fixed")
    Ticket.objects.filter(pk=legacy_rows["fine"].pk).update(subject="")
    Ticket.objects.filter(pk=legacy_rows["foreign_agent"].pk).update(assigned_agent=None)
    Ticket.objects.filter(pk=legacy_rows["other_blank"].pk).update(status="resolved", resolved_at=None)
    services.waiver_accept(
        user=org_admin,
        model=Ticket,
        rule=validator.get_rule(Ticket, "subject_required"),
        instance=kept,
        reason="Legacy import",
        expires_at=timezone.now() + datetime.timedelta(days=30),
    )
    second, failing = scan_and_compare(failing)
    subject = ScanResult.objects.get(scan=second, rule_name="subject_required")
    assert (subject.violations, subject.waived, subject.new, subject.resolved) == (2, 1, 1, 1)
    agent = ScanResult.objects.get(scan=second, rule_name="agent_same_organization")
    assert (agent.violations, agent.resolved) == (0, 1)
    assert ScanResult.objects.get(scan=second, rule_name="resolution_recorded").new == 1
    # A resolved violation says which run resolved it; an unchanged one keeps its first sighting.
    assert (
        Violation.objects.get(rule_name="subject_required", object_id=blank.pk).resolved_scan_id == second.pk
    )
    assert Violation.objects.filter(
        rule_name="subject_required", object_id=kept.pk, first_seen_scan=first, resolved_scan=None
    ).exists()

    # Nothing changed: everything unchanged, nothing new or resolved, the agent rule's resolution not again.
    third, _ = scan_and_compare(failing)
    assert not ScanResult.objects.filter(scan=third, has_query=True).exclude(new=0, resolved=0).exists()


def _row_versions(rule_name: str) -> dict[int, tuple[str, str]]:
    """Each violation's row version (xmin, ctid): both change whenever a statement rewrites the row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_id, xmin::text, ctid::text FROM validation_violation WHERE rule_name = %s",
            [rule_name],
        )
        return {object_id: (xmin, ctid) for object_id, xmin, ctid in cursor.fetchall()}


def test_a_scan_writes_only_the_violations_that_changed(legacy_rows, other_organization):
    """What keeps failing is not written again (rewriting every failing row was most of a scan's cost at
    scale); new, resolved and moved rows are."""
    run = lambda: services.validation_scan_run(services.validation_scan_create(None).pk)  # noqa: E731
    first = run()
    blank, kept = legacy_rows["blank"]
    before = _row_versions("subject_required")
    assert set(before) == {blank.pk, kept.pk, legacy_rows["other_blank"].pk}

    second = run()  # nothing changed
    assert _row_versions("subject_required") == before
    assert ScanResult.objects.get(scan=second, rule_name="subject_required").new == 0

    Ticket.objects.filter(pk=blank.pk).update(subject="Fixed")
    Ticket.objects.filter(pk=legacy_rows["fine"].pk).update(subject="")
    # The record keeps failing but moved: only its organization changes, its first sighting stays.
    Ticket.objects.filter(pk=kept.pk).update(organization=other_organization)
    third = run()
    after = _row_versions("subject_required")
    assert after[legacy_rows["other_blank"].pk] == before[legacy_rows["other_blank"].pk]
    assert after[blank.pk] != before[blank.pk] and after[kept.pk] != before[kept.pk]
    moved = Violation.objects.get(rule_name="subject_required", object_id=kept.pk)
    assert (moved.organization_id, moved.first_seen_scan_id, moved.resolved_scan_id) == (
        other_organization.pk,
        first.pk,
        None,
    )
    assert (
        Violation.objects.get(rule_name="subject_required", object_id=blank.pk).resolved_scan_id == third.pk
    )
    subject = ScanResult.objects.get(scan=third, rule_name="subject_required")
    assert (subject.violations, subject.new, subject.resolved) == (3, 1, 1)
    per_org = {c.organization_id: c.violations for c in subject.organization_counts.all()}
    assert per_org == {legacy_rows["fine"].organization_id: 1, other_organization.pk: 2}
