"""Restore right after a big delete: plan shapes that do not depend on statistics for a fresh batch, and a
restore POST that hands off to the background before it plans anything."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.jobs.models import JobRun
from dashboard.trash.selectors import trash_item_value
from models_core.models import Organization, Ticket, TicketAttachment, TicketComment
from models_core.restore import BatchPlan, restore_conflict_list, restore_plan_for_root
from tests.factories import (
    OrganizationFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

RESTORE = "/dashboard/trash/restore/"


def fresh(obj):
    return type(obj).all_objects.get(pk=obj.pk)


def test_the_only_root_of_its_batch_restores_the_batch_by_its_id_alone(platform_superuser):
    org = OrganizationFactory()
    for ticket in TicketFactory.create_batch(2, organization=org):
        TicketCommentFactory.create_batch(2, ticket=ticket)
    org.soft_delete()
    plan = restore_plan_for_root(fresh(org))
    assert isinstance(plan, BatchPlan)
    for rows in plan.values():
        sql = str(rows.query)
        assert "IN (SELECT" not in sql and "deletion_batch" in sql
    with CaptureQueriesContext(connection) as captured:
        assert restore_conflict_list(plan) == []
    assert not [q["sql"] for q in captured if "NOT (" in q["sql"] and "IN (SELECT" in q["sql"]]
    fresh(org).restore()
    assert TicketComment.objects.filter(organization=org).count() == 4


def test_a_batch_of_several_roots_restores_only_the_chosen_roots_part(organization):
    first, second = TicketFactory.create_batch(2, organization=organization)
    TicketCommentFactory(ticket=first)
    TicketCommentFactory(ticket=second)
    Ticket.objects.filter(pk__in=[first.pk, second.pk]).delete()  # one batch, two roots
    plan = restore_plan_for_root(fresh(first))
    assert not isinstance(plan, BatchPlan)
    fresh(first).restore()
    assert not fresh(first).is_deleted and fresh(second).is_deleted
    assert TicketComment.objects.filter(ticket=first).count() == 1
    assert TicketComment.all_objects.get(ticket=second).is_deleted


def test_a_cascaded_row_restores_alone_not_its_whole_batch(organization):
    ticket = TicketFactory(organization=organization)
    comment = TicketCommentFactory(ticket=ticket)
    ticket.soft_delete()
    plan = restore_plan_for_root(fresh(comment))
    assert not isinstance(plan, BatchPlan)
    assert [c.kind for c in restore_conflict_list(plan)] == ["parent_in_trash"]


def test_a_batch_plan_still_finds_a_parent_left_in_the_trash(organization):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory(ticket=ticket)
    TicketCommentFactory(ticket=ticket).soft_delete()  # its own batch, its only root
    ticket.soft_delete()
    lone = TicketComment.all_objects.filter(ticket=ticket, deletion_metadata__cascaded=False).get()
    plan = restore_plan_for_root(lone)
    assert isinstance(plan, BatchPlan)
    [conflict] = restore_conflict_list(plan)
    assert conflict.kind == "parent_in_trash" and conflict.parent_pk == ticket.pk


def test_a_big_restore_goes_to_the_background_before_any_plan_is_made(client, manager, monkeypatch):
    ticket = TicketFactory(organization=manager.organization)
    TicketCommentFactory.create_batch(3, ticket=ticket)
    ticket.soft_delete()
    monkeypatch.setattr("dashboard.trash.selectors.BACKGROUND_THRESHOLD", 2)
    monkeypatch.setattr("dashboard.trash.tasks.trash_restore_task.defer", lambda **kwargs: 1)

    def no_planning(*args, **kwargs):
        raise AssertionError("planned in the request")

    monkeypatch.setattr("dashboard.trash.plans.trash_restore_plan", no_planning)
    monkeypatch.setattr("dashboard.trash.services.trash_restore", no_planning)
    client.force_login(manager)
    with CaptureQueriesContext(connection) as captured:
        response = client.post(RESTORE, {"items": trash_item_value(fresh(ticket))})
    assert response.status_code == 302 and JobRun.objects.count() == 1
    assert len(captured) < 20
    assert fresh(ticket).is_deleted
    assert Organization.objects.filter(pk=manager.organization_id).exists()


def _batch_reads(captured, table: str, batch) -> list[str]:
    """The captured statements that read all of `table`'s rows of `batch` (FROM it, or joined to it); not
    the look for another root of the batch (one row at most, on the roots-only index)."""
    needle = f'"{table}"."deletion_batch" = \'{batch.hex}\''
    return [q["sql"] for q in captured if needle in q["sql"] and '"cascaded": true' not in q["sql"]]


def test_the_plan_page_of_a_deleted_organization_reads_each_table_of_its_batch_once(
    client, platform_superuser
):
    """Right after a big delete the batch has no statistics: every check that joins the batch's rows to their
    parents runs as nested loops over all of them. Rows that went to the trash with their parent (the delete
    wrote through which relation) need no parent check, and the count, the restore veto and the checks are
    one pass over each table's rows of the batch."""
    org = OrganizationFactory()
    for ticket in TicketFactory.create_batch(3, organization=org):
        TicketCommentFactory.create_batch(2, ticket=ticket)
    org.soft_delete()
    batch = fresh(org).deletion_batch
    client.force_login(platform_superuser)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(RESTORE, {"items": trash_item_value(fresh(org))})
    assert response.status_code == 200
    assert b"3 tickets" in response.content and b"6 ticket comments" in response.content
    for table in ("models_core_ticket", "models_core_ticketcomment", "models_core_ticketattachment"):
        reads = _batch_reads(captured, table, batch)
        assert len(reads) == 1, (table, reads)
        assert " JOIN " not in reads[0]
    small = len(captured)
    for ticket in TicketFactory.create_batch(2, organization=OrganizationFactory()):
        TicketCommentFactory.create_batch(3, ticket=ticket)
    bigger = OrganizationFactory()
    for ticket in TicketFactory.create_batch(6, organization=bigger):
        TicketCommentFactory.create_batch(4, ticket=ticket)
    bigger.soft_delete()
    with CaptureQueriesContext(connection) as captured:
        client.get(RESTORE, {"items": trash_item_value(fresh(bigger))})
    assert len(captured) == small


def test_a_row_taken_along_by_one_parent_is_still_checked_for_its_other_parent(organization):
    """An attachment goes to the trash with its ticket; the comment it hangs on (of another ticket) went to
    the trash separately afterwards: restoring the ticket's batch is refused with that comment named."""
    ticket, other = TicketFactory.create_batch(2, organization=organization)
    comment = TicketCommentFactory(ticket=other)
    attachment = TicketAttachmentFactory(ticket=ticket, comment=comment)
    ticket.soft_delete()
    assert fresh(attachment).deletion_batch == fresh(ticket).deletion_batch
    fresh(comment).soft_delete()
    plan = restore_plan_for_root(fresh(ticket))
    assert isinstance(plan, BatchPlan)
    [conflict] = restore_conflict_list(plan)
    assert conflict.kind == "parent_in_trash"
    assert (conflict.model, conflict.pk, conflict.parent_pk) == (TicketAttachment, attachment.pk, comment.pk)


def test_a_batch_restore_brings_back_exactly_its_rows(organization):
    org = OrganizationFactory()
    kept = TicketFactory(organization=org)
    TicketCommentFactory(ticket=kept)
    separately = TicketFactory(organization=org)
    separately.soft_delete()
    org.soft_delete()
    batch = fresh(org).deletion_batch
    fresh(org).restore()
    assert not fresh(kept).is_deleted and TicketComment.objects.filter(ticket=kept).count() == 1
    assert fresh(separately).is_deleted and fresh(separately).deletion_batch != batch
