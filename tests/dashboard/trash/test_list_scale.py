"""The trash list at scale: every per-model query is a range read of one listing index (no join to reach the
organization, no walk past cascaded rows), a constant number of queries per page, capped batch counts."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.trash.listing import TrashFilters, _filtered, batch_sizes, trash_list, trash_order
from models_core.models import Ticket, TicketAttachment, TicketComment
from tests.factories import (
    OrganizationFactory,
    TicketAttachmentFactory,
    TicketCommentFactory,
    TicketFactory,
)
from tests.table_statistics import trash_indexes_drop_but

pytestmark = pytest.mark.django_db


def test_comments_and_attachments_carry_their_tickets_organization_whatever_writes_them(organization):
    other = OrganizationFactory()
    ticket = TicketFactory(organization=organization)
    # bulk_create skips save(): the database fills the column.
    [comment] = TicketComment.objects.bulk_create([TicketComment(ticket=ticket, content="x")])
    attachment = TicketAttachment.objects.create(ticket=ticket, file="a.txt", filename="a.txt")
    assert TicketComment.all_objects.get(pk=comment.pk).organization_id == organization.pk
    assert attachment.organization_id == organization.pk
    # A write naming another organization is overruled by the ticket's.
    TicketComment.all_objects.filter(pk=comment.pk).update(organization=other)
    assert TicketComment.all_objects.get(pk=comment.pk).organization_id == organization.pk
    # A ticket moved to another organization takes its comments and attachments along.
    Ticket.all_objects.filter(pk=ticket.pk).update(organization=other)
    assert TicketComment.all_objects.get(pk=comment.pk).organization_id == other.pk
    assert TicketAttachment.all_objects.get(pk=attachment.pk).organization_id == other.pk


def _explain(queryset, filters: TrashFilters) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
    return queryset.order_by(*trash_order(filters).fields)[:26].explain()


@pytest.mark.parametrize(
    ("who", "filters", "index"),
    [
        ("manager", TrashFilters(), "idx_comment_roots"),
        ("platform", TrashFilters(), "idx_comment_roots_all"),
        ("manager", TrashFilters(include_cascaded=True), "idx_comment_trash"),
        ("platform", TrashFilters(include_cascaded=True), "idx_comment_trash_all"),
        ("platform", TrashFilters(deleted_by=1), "idx_comment_roots_by"),
        # Purging soon lists in purge order, read from the purge-due indexes of the same four scopes.
        ("manager", TrashFilters(purging_soon=True), "idx_comment_roots_due"),
        ("platform", TrashFilters(purging_soon=True), "idx_comment_roots_due_all"),
        ("manager", TrashFilters(purging_soon=True, include_cascaded=True), "idx_comment_trash_due"),
        ("platform", TrashFilters(purging_soon=True, include_cascaded=True), "idx_comment_purge_due"),
    ],
)
def test_each_listing_is_an_ordered_read_of_one_index_without_a_join(
    who, filters, index, organization, manager, platform_superuser
):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(3, ticket=ticket)
    ticket.soft_delete()
    TicketCommentFactory(ticket=TicketFactory(organization=organization)).soft_delete()
    # On a few rows the planner may as well filter another listing index (idx_comment_trash_all for an
    # organization's list, seen in a soak) as the statistics earlier tests left say; with the others put
    # away, the one asserted must still serve the query: an ordered read, no sort, no join.
    trash_indexes_drop_but(TicketComment, index)
    user = manager if who == "manager" else platform_superuser
    rows = _filtered(TicketComment, user, filters)
    sql = str(rows.query)
    assert "models_core_ticket" not in sql.replace("models_core_ticketcomment", "")
    plan = _explain(rows, filters)
    assert f"{index} " in plan or plan.rstrip().endswith(index), plan
    assert "Sort" not in plan


def test_a_page_costs_the_same_queries_whatever_the_trash_holds(organization, manager):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page = trash_list(manager, TrashFilters(), page_size=5)
        assert page.rows
        return len(captured)

    TicketFactory(organization=organization).soft_delete()
    few = queries()
    for ticket in TicketFactory.create_batch(12, organization=organization):
        TicketCommentFactory.create_batch(2, ticket=ticket)
        ticket.soft_delete()
    # The page's keys (one UNION ALL over every model), the rows of each model on the page (tickets), the
    # batch sizes.
    assert queries() == few == 3


def test_batch_sizes_stop_counting_at_the_cap(organization):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(5, ticket=ticket)
    ticket.soft_delete()
    batch = Ticket.all_objects.get(pk=ticket.pk).deletion_batch
    sizes, capped = batch_sizes({batch}, cap=3)
    assert sizes[batch] == 1 + 3 and capped == {batch}
    sizes, capped = batch_sizes({batch})
    assert sizes[batch] == 6 and capped == set()


def test_day_filters_compare_the_column_not_a_cast(organization, manager):
    ticket = TicketFactory(organization=organization)
    ticket.soft_delete()
    today = timezone.localdate()
    rows = _filtered(Ticket, manager, TrashFilters(deleted_from=today, deleted_to=today))
    assert "::date" not in str(rows.query)
    assert list(rows) == [Ticket.all_objects.get(pk=ticket.pk)]
    yesterday = today - datetime.timedelta(days=1)
    assert not _filtered(Ticket, manager, TrashFilters(deleted_to=yesterday)).exists()


def test_the_page_renders_in_the_same_queries_for_few_or_many_rows(client, organization, manager):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/dashboard/trash/", {"include_cascaded": "on"})
        assert response.status_code == 200
        return len(captured)

    client.force_login(manager)
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory(ticket=ticket)
    TicketAttachmentFactory(ticket=ticket)
    ticket.soft_delete()
    few = queries()  # the same three models on the page either way: one query each loads their rows
    for ticket in TicketFactory.create_batch(10, organization=organization):
        TicketCommentFactory.create_batch(2, ticket=ticket)
        TicketAttachmentFactory(ticket=ticket)
        ticket.soft_delete()
    assert queries() == few
