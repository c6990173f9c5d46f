"""Searching the trash by record, within the viewer's organization, and the filter boxes that search as the
user types (organizations, deleters) instead of listing every one."""

import pytest
from django.db import connection

from dashboard.trash.listing import TrashFilters, _filtered, trash_list
from models_core.models import Ticket, TicketComment, User
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    OrganizationFactory,
    TicketCommentFactory,
    TicketFactory,
    UserFactory,
)
from tests.table_statistics import STATES, statistics_make_stale, trash_indexes_drop_but

pytestmark = pytest.mark.django_db

LIST = "/dashboard/trash/"


def found(user, term, **filters) -> set:
    return {(r.model, r.obj.pk) for r in trash_list(user, TrashFilters(search=term, **filters)).rows}


def test_search_by_number_subject_email_name_title_within_the_organization(
    organization, other_organization, manager
):
    ticket = TicketFactory(organization=organization, subject="Printer on fire")
    comment = TicketCommentFactory(ticket=ticket)
    ticket.soft_delete()
    customer = CustomerFactory(organization=organization, email="ann@example.com", first_name="Annabel")
    customer.soft_delete()
    article = KnowledgeBaseArticleFactory(organization=organization, title="Resetting passwords")
    article.soft_delete()
    foreign = TicketFactory(organization=other_organization, subject="Printer on fire")
    foreign.soft_delete()
    foreign_user = CustomerFactory(organization=other_organization, email="ann@example.org")
    foreign_user.soft_delete()

    number = Ticket.all_objects.get(pk=ticket.pk).ticket_number
    assert found(manager, f"#{number}") == {(Ticket, ticket.pk)}
    # The ticket's comments went along with it: found by the number too once cascaded rows are shown.
    assert found(manager, str(number), include_cascaded=True) >= {
        (Ticket, ticket.pk),
        (TicketComment, comment.pk),
    }
    assert found(manager, "printer ON") == {(Ticket, ticket.pk)}
    assert found(manager, "ann@example") == {(User, customer.pk)}
    assert found(manager, "annab") == {(User, customer.pk)}
    assert {m for m, _ in found(manager, "passwords")} == {type(article)}
    assert found(manager, "no such thing") == set()
    # Wildcards are text, not patterns.
    assert found(manager, "%%%") == set()


def test_a_platform_user_finds_an_organization_by_name(platform_superuser):
    org = OrganizationFactory(name="Initech Europe")
    org.soft_delete()
    assert (type(org), org.pk) in found(platform_superuser, "initech")


@pytest.mark.parametrize("statistics", STATES)
def test_text_search_uses_trigram_indexes_with_ilike(organization, manager, statistics):
    TicketFactory(organization=organization, subject="Printer on fire").soft_delete()
    statistics_make_stale(table=Ticket._meta.db_table, state=statistics)
    rows = _filtered(Ticket, manager, TrashFilters(search="printer"))
    sql = str(rows.query)
    assert "ILIKE" in sql and "UPPER(" not in sql
    # The search's own predicate (in the trash, subject ILIKE) is what the partial trigram index answers.
    trash_indexes_drop_but(Ticket, "idx_ticket_trash_search")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    subject_only = Ticket.all_objects.filter(deleted_at__isnull=False, subject__ilike="printer").order_by()
    assert "idx_ticket_trash_search" in subject_only.explain()


def test_the_list_page_searches(client, organization, manager):
    ticket = TicketFactory(organization=organization, subject="Printer on fire")
    ticket.soft_delete()
    TicketFactory(organization=organization, subject="Coffee machine").soft_delete()
    client.force_login(manager)
    body = client.get(LIST, {"q": "printer"}).content.decode()
    assert "Printer on fire" in body and "Coffee machine" not in body
    assert client.get(LIST, {"q": "x" * 101}).status_code == 400


def test_the_filter_boxes_render_only_the_chosen_value(client, platform_superuser, make_staff):
    orgs = [OrganizationFactory(name=f"Tenant {i:03}") for i in range(30)]
    chosen = orgs[7]
    client.force_login(platform_superuser)
    body = client.get(LIST, {"organization": chosen.pk}).content.decode()
    assert "Tenant 007" in body and "Tenant 008" not in body
    assert 'data-ajax--url="/dashboard/trash/choices/organizations/"' in body
    assert client.get(LIST, {"organization": "999999999"}).status_code == 400
    assert client.get(LIST, {"organization": "abc"}).status_code == 400


def test_organization_choices_search_and_are_platform_only(client, platform_superuser, manager):
    OrganizationFactory(name="Initech Europe")
    OrganizationFactory(name="Umbrella")
    client.force_login(platform_superuser)
    data = client.get("/dashboard/trash/choices/organizations/", {"term": "inite"}).json()
    assert [r["text"] for r in data["results"]] == ["Initech Europe"]
    client.force_login(manager)
    data = client.get("/dashboard/trash/choices/organizations/", {"term": "inite"}).json()
    assert data["results"] == []


def test_deleter_choices_are_the_viewers_organizations_staff(
    client, organization, other_organization, manager
):
    mine = UserFactory(organization=organization, is_staff=True, username="mine-agent")
    UserFactory(organization=other_organization, is_staff=True, username="their-agent")
    client.force_login(manager)
    data = client.get("/dashboard/trash/choices/deleters/", {"term": "agent"}).json()
    assert [r["id"] for r in data["results"]] == [mine.pk]
    # Another organization's staff cannot be chosen by id either.
    their = User.objects.get(username="their-agent")
    assert client.get(LIST, {"deleted_by": their.pk}).status_code == 400
    assert client.get(LIST, {"deleted_by": mine.pk}).status_code == 200


def reason_found(user, reason: str) -> set:
    return {r.obj.pk for r in trash_list(user, TrashFilters(reason=reason)).rows}


def test_reason_filter_is_case_insensitive_literal_and_within_the_organization(
    organization, other_organization, manager
):
    def trashed(reason: str, org=organization) -> int:
        ticket = TicketFactory(organization=org)
        ticket.soft_delete(reason=reason)
        return ticket.pk

    spam = trashed("Spam reported by the customer")
    percent = trashed("100% duplicate")
    number = trashed("1000 duplicates")
    underscore = trashed("see ticket_42")
    letter = trashed("see ticketx42")
    foreign = trashed("spam again", org=other_organization)

    assert reason_found(manager, "SPAM") == {spam}
    # % and _ in the text are characters, not wildcards.
    assert reason_found(manager, "100%") == {percent}
    assert reason_found(manager, "0% d") == {percent}
    assert reason_found(manager, "ticket_4") == {underscore}
    assert reason_found(manager, "duplicate") == {percent, number}
    assert letter not in reason_found(manager, "_")
    assert foreign not in reason_found(manager, "spam")


@pytest.mark.parametrize("statistics", STATES)
@pytest.mark.parametrize(
    ("model", "index"),
    [
        (Ticket, "idx_ticket_trash_reason"),
        (TicketComment, "idx_comment_trash_reason"),
        (User, "idx_user_trash_reason"),
    ],
)
def test_reason_filter_is_answered_by_the_partial_trigram_index(
    model, index, statistics, organization, platform_superuser
):
    ticket = TicketFactory(organization=organization)
    comment = TicketCommentFactory(ticket=TicketFactory(organization=organization))
    for row in [ticket, comment, CustomerFactory(organization=organization)]:
        row.soft_delete(reason="Spam reported")
    statistics_make_stale(table=model._meta.db_table, state=statistics)
    rows = _filtered(model, platform_superuser, TrashFilters(reason="spam"))
    sql = str(rows.query)
    assert "ILIKE" in sql and "UPPER(" not in sql
    # The other indexes of the trash and the table lose to it on a big trash where few rows carry the
    # reason (bench: `make bench BENCH_ARGS="--only trash"`). Platform staff: no organization index to
    # combine it with.
    trash_indexes_drop_but(model, index)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = rows.order_by("-deleted_at", "-pk")[:26].explain()
    assert index in plan, plan
