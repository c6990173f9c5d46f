"""The set-based purge (models_core.cascade) against Django's Collector on the same data: same counts, same
end state, same refusals; queries that do not grow with the rows; files removed only after the commit."""

import json
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import RESTRICT
from django.test.utils import CaptureQueriesContext

from dashboard.trash import plans, services
from dashboard.trash.models import PurgeRecord
from dashboard.trash.services import trash_batch_purge
from models_core import cascade_paths, purge
from models_core.cascade import Unsupported, cascade_plan
from models_core.hooks import registry
from models_core.models import (
    KnowledgeBaseArticle,
    Organization,
    PendingFileRemoval,
    SLAPolicy,
    Ticket,
    TicketAttachment,
    TicketComment,
    User,
    UserPermission,
    UserSession,
)
from tests.factories import TicketCommentFactory, TicketFactory, build_tenant

pytestmark = pytest.mark.django_db

SNAPSHOT_MODELS = (
    Organization,
    User,
    Ticket,
    TicketComment,
    TicketAttachment,
    KnowledgeBaseArticle,
    SLAPolicy,
    UserSession,
    UserPermission,
)


class _Rollback(Exception):
    pass


def fresh(obj: Any) -> Any:
    return type(obj).all_objects.get(pk=obj.pk) if hasattr(type(obj), "all_objects") else obj


def snapshot() -> dict[str, list[tuple]]:
    """Every row of the helpdesk tables, FKs included (what SET_NULL changed shows)."""
    return {
        m._meta.label: sorted(
            m._base_manager.order_by().values_list(*[f.attname for f in m._meta.concrete_fields])
        )
        for m in SNAPSHOT_MODELS
    }


def purge_both_ways(root: Any, user: Any) -> tuple[Any, Any]:
    """Purge `root` with the Collector, roll back, purge it set-based: (counts, end state) of each."""
    results = []
    for strategy in ("collector", "set"):
        try:
            with transaction.atomic():
                row = fresh(root)
                [(_, counts)] = trash_batch_purge(
                    [row], user=user, trigger="manual", reason="test", strategy=strategy
                )
                record = PurgeRecord.objects.get(object_id=str(root.pk))
                assert record.counts == counts and record.total == sum(counts.values())
                results.append((counts, snapshot()))
                raise _Rollback
        except _Rollback:
            pass
    return results[0], results[1]


@pytest.mark.parametrize("array_max", [cascade_paths.ARRAY_MAX, 1], ids=["few parents", "many parents"])
def test_an_organization_purge_is_the_same_both_ways(org_admin, array_max, monkeypatch):
    monkeypatch.setattr(cascade_paths, "ARRAY_MAX", array_max)  # 1: every path to the tickets is a semi-join
    org = build_tenant(tickets=3, comments_per_ticket=2)
    other = build_tenant(tickets=2)  # untouched either way
    org.soft_delete(user=User.all_objects.filter(organization=org).first())
    (collector_counts, collector_rows), (set_counts, set_rows) = purge_both_ways(org, org_admin)
    assert set_counts == collector_counts
    assert set_counts["models_core.TicketComment"] == 6 and set_counts["models_core.TicketAttachment"] == 6
    assert set_rows == collector_rows
    assert Organization.all_objects.filter(pk=other.pk).exists()


def test_an_agent_purge_nulls_the_same_keys_both_ways(org_admin):
    org = build_tenant(tickets=2)
    agent = User.all_objects.get(organization=org, role=User.Role.AGENT)
    agent.soft_delete()
    (collector_counts, collector_rows), (set_counts, set_rows) = purge_both_ways(agent, org_admin)
    assert set_counts == collector_counts and set_counts["models_core.UserSession"] == 1
    assert set_rows == collector_rows
    agent_column = [f.attname for f in Ticket._meta.concrete_fields].index("assigned_agent_id")
    assert all(row[agent_column] is None for row in set_rows["models_core.Ticket"])  # unassigned, not gone
    assert len(set_rows["models_core.Ticket"]) == 2


@pytest.mark.parametrize("strategy", ["collector", "set"])
def test_restrict_refuses_with_the_same_message(organization, org_admin, strategy):
    customer = TicketFactory(organization=organization).customer
    customer.soft_delete()  # their ticket is live: RESTRICT stops the purge
    with pytest.raises(ValidationError) as error:
        trash_batch_purge([fresh(customer)], user=org_admin, trigger="manual", reason="", strategy=strategy)
    assert error.value.messages == [
        f"Cannot purge User “{customer}”: 1 record(s) still refer to it "
        f"(Ticket #{Ticket.objects.get(customer=customer).ticket_number})."
    ]
    assert User.all_objects.filter(pk=customer.pk).exists() and not PurgeRecord.objects.exists()


@pytest.mark.parametrize("strategy", ["collector", "set"])
def test_live_rows_refuse_with_the_same_message(organization, org_admin, strategy):
    ticket = TicketFactory(organization=organization)
    ticket.soft_delete()
    TicketCommentFactory.create_batch(2, ticket=fresh(ticket))  # live comments on a trashed ticket
    with pytest.raises(ValidationError, match="it would also remove 2 live record"):
        trash_batch_purge([fresh(ticket)], user=org_admin, trigger="manual", reason="", strategy=strategy)
    assert Ticket.all_objects.filter(pk=ticket.pk).exists()


def test_files_go_only_after_the_commit_recorded_in_chunks(
    platform_superuser, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(purge, "FILE_CHUNK", 4)  # the files are removed in two chunks
    org = build_tenant(tickets=3)
    names = list(TicketAttachment.all_objects.filter(ticket__organization=org).values_list("file", flat=True))
    assert len(names) == 6 and all(default_storage.exists(n) for n in names)
    org.soft_delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        [outcome] = services.trash_purge(platform_superuser, [fresh(org)], "closing", strategy="set")
    assert outcome.ok, outcome.message
    assert all(default_storage.exists(n) for n in names)
    assert sorted(PendingFileRemoval.objects.values_list("name", flat=True)) == sorted(names)
    for callback in callbacks:
        callback()
    assert not any(default_storage.exists(n) for n in names)
    assert not PendingFileRemoval.objects.exists()


def _org_with(tickets: int) -> Organization:
    org = build_tenant(tickets=tickets, comments_per_ticket=2)
    org.soft_delete()
    return fresh(org)


def test_set_based_queries_do_not_grow_with_the_rows(org_admin):
    # A first purge fills the process-wide caches (content types for the admin log) whatever ran before.
    trash_batch_purge([_org_with(1)], user=org_admin, trigger="manual", reason="", strategy="set")
    counts = []
    for tickets in (5, 50):
        org = _org_with(tickets)
        with CaptureQueriesContext(connection) as queries:
            [(_, removed)] = trash_batch_purge(
                [org], user=org_admin, trigger="manual", reason="", strategy="set"
            )
        assert removed["models_core.TicketComment"] == 2 * tickets
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("tickets", [5, 50])
def test_set_based_purge_stays_under_a_fixed_query_budget(org_admin, tickets, django_assert_max_num_queries):
    org = _org_with(tickets)
    # About 60 for an organization: a few per model and key of the on_delete graph (and bounded counts of
    # the parents, which say how to look children up), none per row.
    with django_assert_max_num_queries(70):
        [(_, removed)] = trash_batch_purge([org], user=org_admin, trigger="manual", reason="", strategy="set")
    assert removed["models_core.TicketAttachment"] == 2 * tickets


def test_delete_hooks_keep_the_collector(organization, org_admin):
    seen = []

    def remember(instance: Any, **context: Any) -> None:
        seen.append(instance.pk)

    hook = registry.register_hook("before_delete", TicketComment, remember, on_error="raise")
    try:
        ticket = TicketFactory(organization=organization)
        comments = TicketCommentFactory.create_batch(3, ticket=ticket)
        ticket.soft_delete()
        with pytest.raises(Unsupported):
            cascade_plan(Ticket, [ticket.pk], "default")
        [outcome] = services.trash_purge(org_admin, [fresh(ticket)])  # "auto" falls back
        assert outcome.ok and sorted(seen) == sorted(c.pk for c in comments)
    finally:
        registry.unregister(hook)


def test_preview_counts_are_the_same_both_ways(monkeypatch):
    org = build_tenant(tickets=4, comments_per_ticket=3)
    org.soft_delete()
    org = fresh(org)
    nested = plans._preview_nested(org)
    plan = cascade_plan(Organization, [org.pk], "default")
    set_based = plans._preview_set_based(org, plan)
    assert set_based.counts == nested.counts and set_based.total == nested.total
    assert set_based.problems == nested.problems == []
    monkeypatch.setattr(plans, "PREVIEW_SAMPLE", 2)
    monkeypatch.setattr(plans, "PREVIEW_NESTED_MAX", 5)
    [preview] = plans.trash_purge_preview(None, [org])
    assert preview.counts == nested.counts and preview.truncated
    listed = preview.nested[1]
    assert "12 Ticket comments" in listed and all(len(sample) <= 2 for sample in listed[1::2])


def test_preview_problems_set_based(organization, monkeypatch):
    customer = TicketFactory(organization=organization).customer
    customer.soft_delete()
    ticket = Ticket.objects.get(customer=customer)
    nested = plans._preview_nested(fresh(customer))
    set_based = plans._preview_set_based(fresh(customer), cascade_plan(User, [customer.pk], "default"))
    assert set_based.counts == nested.counts
    assert set_based.problems == nested.problems == [f"Protected: Ticket: #{ticket.ticket_number} (live)"]


def _explained_without_seqscan(rows: Any) -> str:
    """EXPLAIN of counting `rows` with sequential scans priced out (on a few rows they always win)."""
    sql, params = rows.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT count(*) FROM ({sql}) s", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("model", [TicketAttachment, TicketComment])
def test_a_row_reached_by_several_paths_is_read_through_indexes(model, organization):
    # An attachment is reached through its ticket and through its comment. ORing `ticket_id IN (...)` and
    # `comment_id IN (...)` left PostgreSQL no plan but a scan of every attachment (a hashed subplan per
    # row): 239 ms for one ticket's purge preview at 10M. With sequential scans priced out, every table of
    # the plan is still read through an index, whatever statistics the table has.
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(2, ticket=ticket)
    explained = _explained_without_seqscan(cascade_plan(Ticket, [ticket.pk], "default").rows[model])
    assert "Seq Scan" not in explained, explained


@pytest.mark.parametrize("model", [TicketAttachment, TicketComment])
def test_an_organization_reaches_its_comments_and_attachments_through_an_index(model):
    # They copy their ticket's organization, and the purge of an organization reaches them by it (its
    # CASCADE). Only partial indexes (trash, live list) led with it, which a reach over live and trashed
    # rows cannot use: at 1M tickets each statement of a 2,000-ticket organization's purge read all 3M
    # comments (4.2 s for the purge, 0.6 s after). With sequential scans priced out, a whole-index walk
    # with a filter is what was left; now the organization is the index's condition.
    org = build_tenant(tickets=2)
    explained = _explained_without_seqscan(cascade_plan(Organization, [org.pk], "default").rows[model])
    index = f"idx_{'attachment' if model is TicketAttachment else 'comment'}_org"
    assert f"Index Scan on {index}" in explained or f"Index Scan using {index}" in explained, explained


def test_an_organization_purge_writes_no_row_it_deletes_and_looks_referencing_rows_up_by_key(org_admin):
    # SET_NULL keys to the organization's users ran as `key IN (users)` over every row before the rows
    # themselves went: each of the organization's tickets, comments and attachments was written once more
    # (a new version in every index) to be deleted a moment later, and the semi-join, estimated from the
    # average organization's users, read every ticket at 1M (0.2-0.4 s a key). The RESTRICT check fetched
    # an example with ORDER BY pk LIMIT 1 even when nothing blocked: a walk of the tickets' primary key.
    org = build_tenant(tickets=3, comments_per_ticket=2)
    org.soft_delete(user=User.all_objects.filter(organization=org).first())
    updates: list[tuple[str, int]] = []
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        statements.append(sql)
        if sql.startswith("UPDATE"):
            updates.append((sql, context["cursor"].rowcount))
        return result

    with connection.execute_wrapper(record):
        [(_, counts)] = purge.purge_roots([fresh(org)], strategy="set")
    assert counts["models_core.Ticket"] == 3 and counts["models_core.TicketComment"] == 6
    set_null = [sql for sql, _ in updates if "= NULL" in sql]
    assert len(set_null) == len(cascade_plan(Organization, [org.pk], "default").set_null)
    assert [(sql, n) for sql, n in updates if n] == []
    # By key: among the parent rows (an array read first) or, for a key to the organization, its id.
    assert all(re.search(r'"\w+_id" (= ANY\(ARRAY\(SELECT|IN \(%s\))', sql) for sql in set_null), set_null
    assert not [sql for sql in statements if re.search(r"ORDER BY .* LIMIT 1\b", sql)]


def _rows_read(plan: dict, table: str) -> int:
    """Rows the plan's scans of `table` returned or filtered out (the DELETE itself not counted)."""
    read = 0
    if plan.get("Relation Name") == table and plan["Node Type"] != "ModifyTable":
        read += plan["Actual Loops"] * (
            plan["Actual Rows"]
            + plan.get("Rows Removed by Filter", 0)
            + plan.get("Rows Removed by Index Recheck", 0)
        )
    return read + sum(_rows_read(child, table) for child in plan.get("Plans", ()))


def test_an_organization_purge_finds_each_row_once_and_keeps_file_names_in_sql():
    # Each model's rows were `pk IN (a UNION of one semi-join per path)` and the DELETE `pk IN (SELECT pk
    # ... WHERE that)`: a comment was found through its organization and its ticket, then twice more by
    # primary key; an attachment through its organization, ticket and comment. The file names were read
    # into Python and written back. At 1M tickets a 2,000-ticket organization's purge took 4.8x its raw
    # DELETEs; now 1.7x. The ids of the organization purged are constants of the plan (PostgreSQL counts
    # its tickets from the statistics instead of pricing ten organizations' and JIT-compiling).
    org = build_tenant(tickets=3, comments_per_ticket=2)
    org.soft_delete()
    names = sorted(TicketAttachment.all_objects.filter(organization=org).values_list("file", flat=True))
    statements: list[str] = []
    read: dict[str, tuple[int, str]] = {}

    def record(execute, sql, params, many, context):
        statements.append(sql)
        if sql.startswith("WITH gone AS (DELETE"):
            table = re.match(r'WITH gone AS \(DELETE FROM "(\w+)"', sql)[1]
            raw = context["cursor"].cursor  # below the wrappers: EXPLAIN ANALYZE the delete, then undo it
            raw.execute("SAVEPOINT explained")
            raw.execute("SET LOCAL enable_seqscan = off")  # on a few rows they always win
            raw.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", params)
            [[plan]] = raw.fetchone()
            raw.execute("ROLLBACK TO SAVEPOINT explained")
            read[table] = (_rows_read(plan["Plan"], table), json.dumps(plan))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        [(_, counts)] = purge.purge_roots([fresh(org)], strategy="set")
    assert counts["models_core.TicketComment"] == 6 and counts["models_core.TicketAttachment"] == 6
    for model in (Ticket, TicketComment, TicketAttachment):
        n, plan = read[model._meta.db_table]
        assert n == counts[model._meta.label], plan
    assert f"(organization_id = {org.pk})" in read[Ticket._meta.db_table][1]
    assert sorted(PendingFileRemoval.objects.values_list("name", flat=True)) == names
    assert not [sql for sql in statements if sql.startswith("SELECT") and '"file"' in sql]


def _purged_recording(org: Organization) -> tuple[dict[str, int], list[tuple[str, Any]]]:
    """Purge `org` set-based: (its counts, every statement it ran with its parameters)."""
    statements: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        [(_, counts)] = purge.purge_roots([fresh(org)], strategy="set")
    return counts, statements


def test_rows_the_cascade_keeps_are_told_apart_by_an_anti_join():
    # A SET_NULL update and a RESTRICT count leave out the rows the cascade deletes. As `pk NOT IN (those
    # rows)` PostgreSQL hashes the ids only while they fit in work_mem; beyond (an organization of 1M tickets
    # at 10M) it scans them once per row tested: the count of that organization's customers' tickets ran
    # for minutes without an end. NOT EXISTS is an anti-join, linear whatever the rows.
    org = build_tenant(tickets=3, comments_per_ticket=2)
    org.soft_delete()
    _, statements = _purged_recording(org)
    leaving_out = [
        (sql, p) for sql, p in statements if sql.startswith(("UPDATE", "SELECT COUNT")) and "NOT" in sql
    ]
    assert leaving_out  # the users' tickets (RESTRICT) and the agents' tickets and comments (SET_NULL)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '64kB'")
        for sql, params in leaving_out:
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "SubPlan" not in plan, plan


def test_rows_are_never_tested_against_an_array_of_many_parents(monkeypatch):
    # An array of parents (`key = ANY(ARRAY(...))`) is searched element by element whenever a row is tested
    # against it rather than looked up by it: in a sequential scan, which PostgreSQL picks once another
    # path of the model reaches many rows, or in a lossy bitmap's recheck. An organization of 1M tickets at
    # 10M had its 30M comments tested against the array of its 1M tickets and the purge never finished.
    # Past ARRAY_MAX parents (1 here, 3 tickets), the paths are semi-joins, which hash.
    monkeypatch.setattr(cascade_paths, "ARRAY_MAX", 1)
    org = build_tenant(tickets=3, comments_per_ticket=2)
    org.soft_delete()
    counts, statements = _purged_recording(org)
    assert counts["models_core.TicketComment"] == 6 and counts["models_core.TicketAttachment"] == 6
    arrays = [
        sql
        for sql, _ in statements
        if re.search(r"ANY\(ARRAY\(SELECT \S+ AS \S+ FROM \S+(ticket|ticketcomment)\"", sql)
    ]
    assert arrays == []


def test_an_organization_reaches_comments_and_attachments_by_their_copy_of_it_not_again_by_ticket():
    # A comment's and an attachment's organization is their ticket's (kept by triggers). Reached again
    # through the organization's tickets, each was found twice: with many tickets a UNION of 3M comments at
    # 10M, read once more by every statement naming the comments (the attachments', their file names').
    org = build_tenant(tickets=2)
    assert not cascade_plan(Organization, [org.pk], "default").trusted  # unless the caller checks them
    plan = cascade_plan(Organization, [org.pk], "default", trust_copies=True)
    assert {(e.child, e.field.name) for e in plan.trusted} == {
        (TicketComment, "ticket"),
        (TicketAttachment, "ticket"),
    }
    for model in (TicketComment, TicketAttachment):
        sql, _ = plan.rows[model].values("pk").query.sql_with_params()
        assert '"ticket_id"' not in sql, sql
    # A ticket's own purge has no such shortcut: its comments are reached by it.
    ticket = Ticket.objects.filter(organization=org).first()
    assert not cascade_plan(Ticket, [ticket.pk], "default", trust_copies=True).trusted


def _copy_broken(row: TicketComment | TicketAttachment, organization: Organization) -> None:
    """Give `row` another organization than its ticket's, past the triggers that keep the copy (as a restore
    with triggers disabled or hand-written SQL under session_replication_role could)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            f"UPDATE {type(row)._meta.db_table} SET organization_id = %s WHERE id = %s",
            [organization.pk, row.pk],
        )
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.parametrize("array_max", [cascade_paths.ARRAY_MAX, 1], ids=["few parents", "many parents"])
def test_a_copy_written_past_the_triggers_is_purged_the_same_as_by_the_collector(
    org_admin, array_max, monkeypatch
):
    # A restore with triggers disabled (or hand-written SQL under session_replication_role) can leave a
    # comment claiming another organization than its ticket's. The organization's purge does not reach it by
    # the copy; its ticket's foreign key, checked at once, says so, and the purge follows every path.
    monkeypatch.setattr(cascade_paths, "ARRAY_MAX", array_max)
    org = build_tenant(tickets=2, comments_per_ticket=2)
    other = build_tenant(tickets=1)
    stray = TicketComment.objects.filter(organization=org).first()
    _copy_broken(stray, other)
    org.soft_delete()
    (collector_counts, collector_rows), (set_counts, set_rows) = purge_both_ways(org, org_admin)
    assert set_counts == collector_counts and set_counts["models_core.TicketComment"] == 4
    assert set_rows == collector_rows
    [(_, counts)] = purge.purge_roots([fresh(org)], strategy="set")
    assert counts == collector_counts and not TicketComment.all_objects.filter(pk=stray.pk).exists()
    assert Organization.all_objects.filter(pk=other.pk).exists()


def test_the_purge_preview_counts_a_broken_copy_as_the_purge_removes_it(monkeypatch):
    # The preview reads the plan's counts and never deletes, so nothing could tell it a copy was broken: a
    # plan that trusted the copies showed one comment fewer than the purge then removed.
    org = build_tenant(tickets=2, comments_per_ticket=2)
    _copy_broken(TicketComment.objects.filter(organization=org).first(), build_tenant(tickets=1))
    org.soft_delete()
    org = fresh(org)
    monkeypatch.setattr(plans, "PREVIEW_NESTED_MAX", 0)  # set-based, whatever the size
    [preview] = plans.trash_purge_preview(None, [org])
    nested = plans._preview_nested(org)
    assert preview.counts == nested.counts and preview.total == nested.total
    # It asks first whether the copies hold, by counting: an exists() (LIMIT 1) was planned for a row soon
    # found and walked an index of every comment when none was missing (80 s at 1M, against 1 s).
    plan = cascade_plan(Organization, [org.pk], "default", trust_copies=True)
    with CaptureQueriesContext(connection) as queries:
        assert not plan.copies_hold()
    assert queries and not [q["sql"] for q in queries if q["sql"].rstrip().endswith("LIMIT 1")]


def test_a_restrict_key_below_a_copied_key_is_decided_on_every_path(org_admin, monkeypatch):
    # Were an attachment's comment a RESTRICT key, an attachment a broken copy hides from the organization's
    # purge would be "kept" and block the deletion of its comment, a refusal raised before the copies are
    # checked. The Collector deletes it through its ticket, which lifts the restriction.
    org = build_tenant(tickets=2, comments_per_ticket=2)
    stray = TicketAttachment.objects.filter(organization=org, comment__isnull=False).first()
    _copy_broken(stray, build_tenant(tickets=1))
    org.soft_delete()
    monkeypatch.setattr(TicketAttachment._meta.get_field("comment").remote_field, "on_delete", RESTRICT)
    assert (TicketAttachment, "ticket") not in {
        (e.child, e.field.name)
        for e in cascade_plan(Organization, [org.pk], "default", trust_copies=True).trusted
    }
    (collector_counts, collector_rows), (set_counts, set_rows) = purge_both_ways(org, org_admin)
    assert set_counts == collector_counts and set_rows == collector_rows
    assert set_counts["models_core.TicketAttachment"] == 4
