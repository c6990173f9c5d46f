"""Trash pages: the permission matrix, organization scoping, CSRF, bad input as 4xx, no writes on GET."""

import datetime
import re
from urllib.parse import unquote

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.jobs.models import JobRun
from dashboard.trash.models import PurgeRecord
from dashboard.trash.selectors import trash_item_value
from models_core.models import Ticket, TicketComment
from tests.factories import TicketCommentFactory, TicketFactory

pytestmark = pytest.mark.django_db

LIST = reverse("dashboard:trash:list")
RESTORE = reverse("dashboard:trash:restore")
PURGE = reverse("dashboard:trash:purge")
RECORDS = reverse("dashboard:trash:purge_records")
RETENTION = reverse("dashboard:trash:retention")


def fresh(obj):
    return type(obj).all_objects.get(pk=obj.pk)


@pytest.fixture
def trashed(organization):
    ticket = TicketFactory(organization=organization, subject="Broken printer")
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(reason="duplicate")
    return fresh(ticket)


@pytest.fixture
def foreign(other_organization):
    ticket = TicketFactory(organization=other_organization, subject="Globex secret")
    ticket.soft_delete(reason="theirs")
    return fresh(ticket)


def detail(obj) -> str:
    return reverse("dashboard:trash:detail", args=[f"models_core.{obj._meta.model_name}", obj.pk])


# Who may do what
# ----------------------------------------------------------------------------------------------------

MATRIX = {
    # group: (list, restore plan, purge preview, retention)
    "Support managers": (200, 200, 403, 403),
    "Admins": (200, 200, 200, 200),
    "DBAs": (403, 403, 403, 403),
    None: (403, 403, 403, 403),
}


@pytest.mark.parametrize("group", list(MATRIX))
def test_permission_matrix(client, make_staff, trashed, group):
    client.force_login(make_staff(group))
    item = {"items": trash_item_value(trashed)}
    got = (
        client.get(LIST).status_code,
        client.get(RESTORE, item).status_code,
        client.get(PURGE, item).status_code,
        client.get(RETENTION).status_code,
    )
    assert got == MATRIX[group]
    assert client.get(detail(trashed)).status_code == MATRIX[group][0]
    assert client.get(RECORDS).status_code == MATRIX[group][0]


def test_anonymous_users_are_sent_to_sign_in(client, trashed):
    for url in (LIST, detail(trashed), RESTORE, PURGE, RECORDS, RETENTION):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_manager_cannot_purge_by_post_either(client, manager, trashed):
    client.force_login(manager)
    response = client.post(PURGE, {"items": trash_item_value(trashed)})
    assert response.status_code == 403
    assert Ticket.all_objects.filter(pk=trashed.pk).exists()


def test_the_sidebar_offers_the_trash_by_permission(client, manager, dba):
    client.force_login(manager)
    assert LIST in client.get(reverse("admin:index")).content.decode()
    client.force_login(dba)
    assert LIST not in client.get(reverse("admin:index")).content.decode()


# Scope
# ----------------------------------------------------------------------------------------------------


def test_the_list_shows_only_the_viewers_organization(client, manager, trashed, foreign):
    client.force_login(manager)
    body = client.get(LIST).content.decode()
    assert "Broken printer" in body and "Globex secret" not in body
    # Roots only by default; the comments it took along are counted.
    assert body.count('data-testid="trash-row"') == 1


def test_platform_staff_see_every_organization_and_can_filter(client, platform_superuser, trashed, foreign):
    client.force_login(platform_superuser)
    body = client.get(LIST).content.decode()
    assert "Broken printer" in body and "Globex secret" in body
    body = client.get(LIST, {"organization": foreign.organization_id}).content.decode()
    assert "Broken printer" not in body and "Globex secret" in body


def test_purging_soon_pages_in_purge_order_and_refuses_the_other_orders_links(client, manager, organization):
    now = timezone.now()
    tickets = TicketFactory.create_batch(28, organization=organization)
    for ticket in tickets:
        ticket.soft_delete()
    # The first deleted goes first; the last one is not due within 7 days.
    for quarter_days, ticket in enumerate(tickets):
        due = now + datetime.timedelta(hours=6 * quarter_days + 1)
        Ticket.all_objects.filter(pk=ticket.pk).update(auto_delete_at=due)
    Ticket.all_objects.filter(pk=tickets[-1].pk).update(auto_delete_at=now + datetime.timedelta(days=20))
    client.force_login(manager)

    def page(query):
        response = client.get(LIST, query)
        assert response.status_code == 200
        body = response.content.decode()
        shown = [int(pk) for pk in re.findall(r'value="models_core\.ticket:(\d+)"', body)]
        after = re.search(r'href="\?[^"]*after=([^"&]+)', body)
        return body, shown, after and unquote(after.group(1))

    body, first, after = page({"purging_soon": "on"})
    assert 'data-testid="trash-order">Soonest purge first' in body and "Later »" in body
    assert first == [t.pk for t in tickets[:25]]
    _, second, last = page({"purging_soon": "on", "after": after})
    assert second == [tickets[25].pk, tickets[26].pk] and last is None
    body, newest, newest_after = page({})
    assert 'data-testid="trash-order">Newest deletion first' in body and newest[0] == tickets[-1].pk
    # A link of one order given to the other: a 400 saying so, not a wrong page.
    for query in ({"after": after}, {"purging_soon": "on", "after": newest_after}):
        response = client.get(LIST, query)
        assert response.status_code == 400 and b"page link is damaged" in response.content


def test_other_organizations_ids_are_404(client, org_admin, foreign):
    client.force_login(org_admin)
    assert client.get(detail(foreign)).status_code == 404
    assert client.get(RESTORE, {"items": trash_item_value(foreign)}).status_code == 404
    assert client.post(RESTORE, {"items": trash_item_value(foreign)}).status_code == 404
    assert client.post(PURGE, {"items": trash_item_value(foreign), "reason": ""}).status_code == 404
    assert fresh(foreign).is_deleted


@pytest.mark.parametrize(
    "url",
    [
        reverse("dashboard:trash:detail", args=["models_core.ticket", "abc"]),
        reverse("dashboard:trash:detail", args=["models_core.nothing", "1"]),
        reverse("dashboard:trash:detail", args=["auth.group", "1"]),
        reverse("dashboard:trash:detail", args=["models_core.ticket", "99999999999999999999999"]),
    ],
)
def test_malformed_detail_urls_are_404(client, manager, url):
    client.force_login(manager)
    assert client.get(url).status_code == 404


def test_a_live_record_has_no_trash_page(client, manager, organization):
    client.force_login(manager)
    assert client.get(detail(TicketFactory(organization=organization))).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        {"model": "auth.group"},
        {"deleted_from": "yesterday"},
        {"deleted_from": "2025-02-01", "deleted_to": "2025-01-01"},
        {"deleted_by": "x"},
        {"organization": "1"},  # not a filter an organization's manager has... but unknown values fail too
        {"after": "garbage"},
        {"after": "2025-01-01T00:00:00|models_core.Ticket|1"},  # naive time: not a cursor we made
        {"purging_soon": "on", "after": "purge|garbage"},
        {"purging_soon": "on", "after": "purge|2025-01-01T00:00:00+00:00|models_core.Ticket|-1"},
        {"job": "abc"},
    ],
)
def test_malformed_filters_are_4xx(client, org_admin, query):
    client.force_login(org_admin)
    status = client.get(LIST, query).status_code
    if query == {"organization": "1"}:
        assert status == 200  # the field does not exist for them: ignored, still their own scope
    else:
        assert status in (400, 404)


@pytest.mark.parametrize(
    "items",
    [
        [],
        ["models_core.ticket"],
        ["models_core.ticket:abc"],
        ["nope:1"],
        ["models_core.ticket:1"] * 0 + ["x:y:z"],
    ],
)
def test_malformed_selections_are_400(client, org_admin, items):
    client.force_login(org_admin)
    assert client.get(RESTORE, {"items": items}).status_code == 400
    assert client.post(RESTORE, {"items": items}).status_code == 400
    assert client.post(PURGE, {"items": items}).status_code == 400


def test_too_many_items_are_400(client, org_admin, trashed):
    client.force_login(org_admin)
    items = [f"models_core.ticket:{n}" for n in range(1, 150)]
    assert client.get(RESTORE, {"items": items}).status_code == 400


# GET never changes anything; POST needs CSRF
# ----------------------------------------------------------------------------------------------------


def test_plan_and_preview_pages_change_nothing(client, org_admin, trashed):
    client.force_login(org_admin)
    item = {"items": trash_item_value(trashed)}
    plan = client.get(RESTORE, item)
    preview = client.get(PURGE, item)
    assert plan.status_code == preview.status_code == 200
    assert "2 ticket comments" in plan.content.decode()
    assert "Ticket comment: " in preview.content.decode()
    assert fresh(trashed).is_deleted and not PurgeRecord.objects.exists() and not LogEntry.objects.exists()


def test_posts_need_csrf(org_admin, trashed):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org_admin)
    item = {"items": trash_item_value(trashed)}
    assert client.post(RESTORE, item).status_code == 403
    assert client.post(PURGE, {**item, "reason": ""}).status_code == 403
    assert client.post(RETENTION, {"default": "3"}).status_code == 403
    assert fresh(trashed).is_deleted


# Flows
# ----------------------------------------------------------------------------------------------------


def test_restore_brings_the_ticket_back_with_its_comments(client, manager, trashed):
    client.force_login(manager)
    response = client.post(RESTORE, {"items": trash_item_value(trashed)}, follow=True)
    assert response.status_code == 200
    assert not fresh(trashed).is_deleted
    assert TicketComment.objects.filter(ticket=trashed).count() == 2
    assert "Restored 1 of 1" in response.content.decode()


def test_a_restore_conflict_is_a_message(client, manager, trashed):
    comment = TicketComment.all_objects.filter(ticket=trashed).first()
    client.force_login(manager)
    response = client.post(RESTORE, {"items": trash_item_value(comment)}, follow=True)
    assert response.status_code == 200
    assert "Left in the trash" in response.content.decode()
    assert fresh(comment).is_deleted


def test_the_plan_offers_the_parents_batch_and_restoring_it_works(client, manager, trashed):
    comment = TicketComment.all_objects.filter(ticket=trashed).first()
    client.force_login(manager)
    plan = client.get(RESTORE, {"items": trash_item_value(comment)}).content.decode()
    assert f'value="{trashed.deletion_batch}"' in plan
    client.post(RESTORE, {"items": trash_item_value(comment), "parent_batches": str(trashed.deletion_batch)})
    assert not fresh(trashed).is_deleted and not fresh(comment).is_deleted
    assert client.post(RESTORE, {"items": "models_core.ticket:1", "parent_batches": "nope"}).status_code in (
        400,
        404,
    )


def test_bulk_purge_needs_the_typed_confirmation(client, org_admin, trashed, organization):
    other = TicketFactory(organization=organization)
    other.soft_delete()
    client.force_login(org_admin)
    items = {"items": [trash_item_value(trashed), trash_item_value(fresh(other))]}
    response = client.post(PURGE, {**items, "confirmation": "purge"})
    assert response.status_code == 400 and "Type PURGE" in response.content.decode()
    assert Ticket.all_objects.filter(pk=trashed.pk).exists()
    client.post(PURGE, {**items, "confirmation": "PURGE", "reason": "cleanup"})
    assert not Ticket.all_objects.filter(pk__in=[trashed.pk, other.pk]).exists()
    assert PurgeRecord.objects.count() == 2
    assert LogEntry.objects.filter(action_flag=3).count() == 2


def test_big_restores_run_as_a_background_job(client, manager, trashed, monkeypatch):
    monkeypatch.setattr("dashboard.trash.selectors.BACKGROUND_THRESHOLD", 2)
    deferred = []
    monkeypatch.setattr(
        "dashboard.trash.tasks.trash_restore_task.defer", lambda **kwargs: deferred.append(kwargs) or 1
    )
    client.force_login(manager)
    response = client.post(RESTORE, {"items": trash_item_value(trashed)})
    job = JobRun.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"?job={job.pk}")
    # The job names the row and the deletion it is in, so a late retry cannot restore a later deletion.
    assert deferred[0]["items"] == [[trash_item_value(trashed), str(fresh(trashed).deletion_batch)]]
    assert fresh(trashed).is_deleted  # the worker does it
    page = client.get(response["Location"]).content.decode()
    assert f"/jobs/{job.pk}/status/" in page


def test_retention_form_saves_and_rejects_bad_days(client, org_admin, organization):
    client.force_login(org_admin)
    assert client.post(RETENTION, {"days-default": "-1"}).status_code == 400
    assert client.post(RETENTION, {"days-default": "abc"}).status_code == 400
    response = client.post(RETENTION, {"days-default": "45", "days-ticket": "10"})
    assert response.status_code == 302
    assert fresh(organization).settings["retention_days"] == {"default": 45, "ticket": 10}


def test_purge_records_list_and_csv_export_are_scoped(client, org_admin, platform_superuser):
    PurgeRecord.objects.create(
        model_label="models_core.Ticket", object_id="1", organization_id=org_admin.organization_id
    )
    PurgeRecord.objects.create(model_label="models_core.Ticket", object_id="2", organization_id=-5)
    client.force_login(org_admin)
    assert client.get(RECORDS).content.decode().count('data-testid="purge-record"') == 1
    csv_lines = (
        b"".join(client.get(RECORDS, {"export": "csv"}).streaming_content).decode().strip().splitlines()
    )
    assert len(csv_lines) == 2 and csv_lines[0].startswith("id,model,object_id")
    assert client.get(RECORDS, {"before": "x"}).status_code == 400
    client.force_login(platform_superuser)
    assert client.get(RECORDS).content.decode().count('data-testid="purge-record"') == 2


# Scale: the list's query count does not grow with the trash
# ----------------------------------------------------------------------------------------------------


def test_the_list_query_count_is_bounded(client, org_admin, organization, django_assert_max_num_queries):
    for _ in range(30):
        ticket = TicketFactory(organization=organization)
        TicketCommentFactory(ticket=ticket)
        ticket.soft_delete()
    client.force_login(org_admin)
    # session + user + 7 models listed + 7 batch counts + filter choices + permissions
    with django_assert_max_num_queries(24):
        response = client.get(LIST)
    body = response.content.decode()
    assert body.count('data-testid="trash-row"') == 25 and "Older" in body


def test_a_restore_says_what_it_did_in_one_message(client, manager, trashed):
    from django.contrib.messages import get_messages

    client.force_login(manager)
    response = client.post(RESTORE, {"items": trash_item_value(trashed)}, follow=True)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(said) == 1, said
    assert said[0].startswith("Restored 1 of 1: ")
    assert "2 ticket comments" in said[0]


def test_purge_records_read_in_words(client, org_admin, organization):
    PurgeRecord.objects.create(
        model_label="models_core.Ticket",
        object_id="7",
        organization_id=organization.pk,
        counts={"models_core.Ticket": 1, "models_core.TicketComment": 2},
        total=3,
    )
    client.force_login(org_admin)
    page = client.get(RECORDS).content.decode()
    assert ">Ticket #7<" in page
    assert ">1 ticket and 2 ticket comments<" in page
    assert f">{organization.name}<" in page
    assert "models_core." not in page.split('data-testid="purge-records"')[1]


def test_retention_page_keeps_operator_text_from_support_admins(client, org_admin, platform_superuser):
    client.force_login(org_admin)
    page = client.get(RETENTION).content.decode()
    assert "manage.py" not in page and "CUSTODIAN_DEFAULT_RETENTION_DAYS" not in page
    client.force_login(platform_superuser)
    assert "CUSTODIAN_DEFAULT_RETENTION_DAYS" in client.get(RETENTION).content.decode()


def test_platform_staff_find_the_organization_by_name(
    client, platform_superuser, organization, other_organization
):
    client.force_login(platform_superuser)
    page = client.get(RETENTION, {"q": "glob"}).content.decode()
    matches = page.split('data-testid="organization-matches"')[1].split("</ul>")[0]
    assert "Globex" in matches and "Acme Support" not in matches
    assert f"organization={other_organization.pk}" in matches


def test_trash_record_page_reads_like_a_record_not_a_repr(client, manager, organization):
    manager.first_name, manager.last_name = "Ada", "Lovelace"
    manager.save()
    ticket = TicketFactory(organization=organization, subject="Broken printer", tags=["printer", "urgent"])
    TicketCommentFactory.create_batch(2, ticket=ticket)
    ticket.soft_delete(user=manager, reason="duplicate")
    client.force_login(manager)
    page = client.get(detail(ticket)).content.decode()
    fields = page.split('data-testid="trash-fields"')[1].split("</dl>")[0]
    assert "{'" not in fields and "models_core." not in fields  # no Python reprs
    assert "Is active" not in fields and "Deletion metadata" not in fields  # bookkeeping has its own card
    assert "printer, urgent" in fields
    assert f'href="/models_core/organization/{organization.pk}/change/"' in fields  # related records linked
    assert not re.search(r"\d\d:\d\d:\d\d\.\d+", page)  # no microseconds
    summary = page.split('data-testid="trash-summary"')[1].split("</dl>")[0]
    assert "Ada Lovelace (manager)" in summary  # one form for people everywhere

    comment = TicketComment.all_objects.filter(ticket=ticket).first()
    page = client.get(detail(comment)).content.decode()
    assert "with the deletion of its ticket" in page
    batch = page.split('data-testid="trash-batch"')[1]
    assert batch.index('data-depth="0"') < batch.index('data-depth="1"')  # root first, its comments below
