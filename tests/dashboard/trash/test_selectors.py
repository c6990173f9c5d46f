"""Trash reads: the merged keyset list, scope, filters, batch sizes, plans; indexes used (EXPLAIN)."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from dashboard.trash.listing import (
    NEWEST_DELETED,
    SOONEST_PURGED,
    TrashCursor,
    TrashFilters,
    trash_list,
    trash_order,
)
from dashboard.trash.plans import trash_restore_plan
from dashboard.trash.selectors import trash_items_get, trash_queryset
from models_core.models import KnowledgeBaseArticle, Ticket, TicketComment
from tests.factories import KnowledgeBaseArticleFactory, TicketCommentFactory, TicketFactory

pytestmark = pytest.mark.django_db


def walk(user, filters=None, page_size=3):
    """Every row of the trash, page by page through the keyset cursor."""
    seen, cursor, filters = [], None, filters or TrashFilters()
    while True:
        page = trash_list(user, filters, cursor, page_size=page_size)
        seen.extend((r.model, r.obj.pk) for r in page.rows)
        if not page.next_cursor:
            return seen
        cursor = TrashCursor.decode(page.next_cursor, trash_order(filters))


def test_pages_cover_every_model_once_newest_first_even_with_equal_times(organization, manager):
    now = timezone.now()
    tickets = [TicketFactory(organization=organization) for _ in range(4)]
    articles = [KnowledgeBaseArticleFactory(organization=organization) for _ in range(3)]
    for ticket in tickets:
        ticket.soft_delete()
    for article in articles:
        article.soft_delete()
    # Ties on deleted_at across models and within one: the cursor's (model, pk) part must break them.
    Ticket.all_objects.filter(pk__in=[t.pk for t in tickets[:2]]).update(deleted_at=now)
    KnowledgeBaseArticle.all_objects.filter(pk=articles[0].pk).update(deleted_at=now)
    seen = walk(manager)
    assert sorted(seen, key=str) == sorted(
        [(Ticket, t.pk) for t in tickets] + [(KnowledgeBaseArticle, a.pk) for a in articles], key=str
    )
    assert len(seen) == len(set(seen)) == 7


def test_purging_soon_lists_soonest_purge_first_across_models_page_by_page(organization, manager):
    now = timezone.now()
    tickets = [TicketFactory(organization=organization) for _ in range(5)]
    articles = [KnowledgeBaseArticleFactory(organization=organization) for _ in range(3)]
    for row in [*tickets, *articles]:
        row.soft_delete()
    late = TicketFactory(organization=organization)  # due in 20 days: not purging soon
    late.soft_delete()
    # Purge times that run against deletion order, with ties inside a model and across models.
    due = {
        (Ticket, tickets[0].pk): 6,
        (Ticket, tickets[1].pk): 1,
        (Ticket, tickets[2].pk): 1,
        (Ticket, tickets[3].pk): 3,
        (Ticket, tickets[4].pk): 0,
        (KnowledgeBaseArticle, articles[0].pk): 1,
        (KnowledgeBaseArticle, articles[1].pk): 5,
        (KnowledgeBaseArticle, articles[2].pk): 2,
    }
    for (model, pk), days in due.items():
        model.all_objects.filter(pk=pk).update(
            auto_delete_at=now + datetime.timedelta(days=days),
            deleted_at=now - datetime.timedelta(days=days),  # the soonest purge is the newest deletion
        )
    Ticket.all_objects.filter(pk=late.pk).update(auto_delete_at=now + datetime.timedelta(days=20))
    filters = TrashFilters(purging_soon=True)
    assert trash_order(filters) is SOONEST_PURGED and trash_order(TrashFilters()) is NEWEST_DELETED
    for page_size in (1, 2, 3, 25):
        seen = walk(manager, filters, page_size=page_size)
        assert len(seen) == len(set(seen)) == len(due)
        assert [due[key] for key in seen] == sorted(due.values()), page_size
    # Within one purge time: by model label, then pk (the cursor's tie-breakers).
    ties = [key for key in walk(manager, filters, page_size=2) if due[key] == 1]
    assert ties == [(KnowledgeBaseArticle, articles[0].pk), (Ticket, tickets[1].pk), (Ticket, tickets[2].pk)]


def test_a_page_link_of_one_order_is_refused_by_the_other(organization, manager):
    for _ in range(3):
        TicketFactory(organization=organization).soft_delete()
    Ticket.all_objects.update(auto_delete_at=timezone.now() + datetime.timedelta(days=1))
    purge_link = trash_list(manager, TrashFilters(purging_soon=True), page_size=1).next_cursor
    newest_link = trash_list(manager, TrashFilters(), page_size=1).next_cursor
    assert purge_link and newest_link and purge_link != newest_link
    assert TrashCursor.decode(purge_link, SOONEST_PURGED).order is SOONEST_PURGED
    for link, order in ((purge_link, NEWEST_DELETED), (newest_link, SOONEST_PURGED)):
        with pytest.raises(ValidationError, match="page link is damaged"):
            TrashCursor.decode(link, order)
    with pytest.raises(ValueError):
        trash_list(manager, TrashFilters(), TrashCursor.decode(purge_link, SOONEST_PURGED))


def test_roots_only_by_default_with_batch_sizes(organization, manager):
    ticket = TicketFactory(organization=organization)
    TicketCommentFactory.create_batch(3, ticket=ticket)
    ticket.soft_delete()
    [row] = trash_list(manager, TrashFilters()).rows
    assert row.obj == ticket and row.batch_size == 4 and row.taken_along == 3
    rows = trash_list(manager, TrashFilters(include_cascaded=True)).rows
    assert {r.model for r in rows} == {Ticket, TicketComment} and len(rows) == 4


def test_filters(organization, manager, org_admin):
    old = TicketFactory(organization=organization)
    old.soft_delete(user=org_admin, reason="spam wave")
    Ticket.all_objects.filter(pk=old.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=40), auto_delete_at=timezone.now()
    )
    new = KnowledgeBaseArticleFactory(organization=organization)
    new.soft_delete(user=manager, reason="outdated")

    def keys(**kwargs):
        return {(r.model, r.obj.pk) for r in trash_list(manager, TrashFilters(**kwargs)).rows}

    assert keys(model="models_core.ticket") == {(Ticket, old.pk)}
    assert keys(deleted_by=manager.pk) == {(KnowledgeBaseArticle, new.pk)}
    assert keys(reason="SPAM") == {(Ticket, old.pk)}
    assert keys(purging_soon=True) == {(Ticket, old.pk)}
    assert keys(deleted_from=timezone.now().date()) == {(KnowledgeBaseArticle, new.pk)}


def test_selection_is_scoped_and_validated(organization, other_organization, manager):
    mine = TicketFactory(organization=organization)
    mine.soft_delete()
    theirs = TicketFactory(organization=other_organization)
    theirs.soft_delete()
    assert trash_items_get(manager, [f"models_core.ticket:{mine.pk}"] * 2) == [
        Ticket.all_objects.get(pk=mine.pk)
    ]
    with pytest.raises(Http404):
        trash_items_get(manager, [f"models_core.ticket:{theirs.pk}"])


def test_the_plan_lists_conflicts_and_offers_the_parents_batch(organization, manager):
    ticket = TicketFactory(organization=organization)
    comment = TicketCommentFactory(ticket=ticket)
    comment.soft_delete()
    ticket.soft_delete()
    [item] = trash_restore_plan(manager, [TicketComment.all_objects.get(pk=comment.pk)])
    assert [c.kind for c in item.conflicts] == ["parent_in_trash"]
    [offer] = item.offers
    assert offer.batch_id == Ticket.all_objects.get(pk=ticket.pk).deletion_batch and offer.in_scope
    assert item.blocking({offer.batch_id}) == [] and item.blocking(set()) == item.conflicts


def test_the_listing_and_batch_queries_use_the_partial_indexes(organization, manager):
    ticket = TicketFactory(organization=organization)
    ticket.soft_delete()
    # Other batches in the trash, and fresh statistics, so the batch index is the selective one (with a
    # single trashed row every partial trash index costs the same and the planner may pick any).
    for other in TicketFactory.create_batch(30, organization=organization):
        other.soft_delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE models_core_ticket")
        # Small tables: make the planner show its index choice. With sorting off too, the listing's plan must
        # deliver the keyset order straight from an index, which only idx_ticket_trash can.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    listing = trash_queryset(Ticket, manager).order_by("-deleted_at", "-pk")[:26].explain()
    assert "idx_ticket_trash" in listing
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = on")  # the batch query has no order to keep
    batch = Ticket.all_objects.filter(
        deletion_batch__in=[Ticket.all_objects.get(pk=ticket.pk).deletion_batch], deleted_at__isnull=False
    ).explain()
    assert "idx_ticket_batch" in batch
