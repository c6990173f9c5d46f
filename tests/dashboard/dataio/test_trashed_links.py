"""Import rows of records whose people are in the trash (issue 12, finding 1, for import-export rows).

A user soft delete leaves their tickets, comments and articles pointing at them by design. An import row that
edits another column of such a record leaves the link as stored and writes only what it changed; a row that
newly points a link at a trashed user, or at another organization's, is refused with a message on its row.

Peer: django-safedelete's `test_foreignkey.py` (a soft-deleted related object stays reachable through the
foreign key) and django-import-export's `skip_unchanged` (a field left as it was is not written back).
"""

import re

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard import formats
from dashboard.dataio.resources import KnowledgeBaseArticleResource, TicketCommentResource, TicketResource
from dashboard.dataio.services import import_confirm
from models_core.models import KnowledgeBaseArticle, Ticket, TicketComment
from tests.dashboard.dataio.conftest import csv_bytes, dataset_of
from tests.dashboard.dataio.test_views import PROCESS_URL, confirm_data, upload
from tests.factories import CustomerFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


def row_errors(result) -> list[tuple[int, str, str]]:
    errors = []
    for row in result.invalid_rows:
        for field, messages in row.error_dict.items():
            errors.extend((row.number, field, message) for message in messages)
    return errors


def update_sql(queries, table: str) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith(f'UPDATE "{table}"')]


def set_clause(sql: str) -> str:
    return sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]


def exported_with(resource, queryset, **changes) -> bytes:
    """The export of `queryset` as CSV, with some cells of every row edited, as a spreadsheet user would."""
    dataset = resource.export(queryset=queryset)
    for column, value in changes.items():
        index = dataset.headers.index(column)
        rows = [list(row) for row in dataset]
        for row in rows:
            row[index] = value
        dataset = type(dataset)(*rows, headers=dataset.headers)
    return formats.CSV().export_data(dataset).encode()


@pytest.fixture
def trashed_people(tenant, org_admin):
    """Acme's ticket, comment and article, whose agent (author) and customer are now in the trash."""
    tenant["agent"].soft_delete(user=org_admin, reason="left")
    tenant["customer"].soft_delete(user=org_admin, reason="gdpr")
    for key in ("ticket", "comment", "article"):
        tenant[key].refresh_from_db()
    return tenant


class TestUntouchedTrashedLinks:
    def test_editing_a_column_of_a_ticket_whose_agent_and_customer_are_trashed(
        self, trashed_people, org_admin
    ):
        ticket = trashed_people["ticket"]
        data = csv_bytes(["id", "subject"], [[ticket.pk, "Printer fixed"]])

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [] and result.totals["update"] == 1
        ticket = Ticket.objects.get(pk=ticket.pk)
        assert ticket.subject == "Printer fixed"
        assert ticket.assigned_agent_id == trashed_people["agent"].pk
        assert ticket.customer_id == trashed_people["customer"].pk

    def test_a_full_exported_row_with_one_cell_edited(self, trashed_people, org_admin):
        """The trashed links come back as they were exported: left alone, not looked up again."""
        data = exported_with(TicketResource(user=org_admin), Ticket.objects.all(), priority="urgent")

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [] and result.totals["update"] == 1
        ticket = Ticket.objects.get(pk=trashed_people["ticket"].pk)
        assert ticket.priority == "urgent"
        assert (ticket.assigned_agent_id, ticket.customer_id) == (
            trashed_people["agent"].pk,
            trashed_people["customer"].pk,
        )

    @pytest.mark.parametrize("people", ["tenant", "trashed_people"])
    def test_only_the_changed_columns_are_written(self, people, org_admin, request):
        """The row's UPDATE names what it changed (and what saving stamps), so the columns it left alone are
        not written back from the copy loaded when the file was read."""
        ticket = request.getfixturevalue(people)["ticket"]
        data = csv_bytes(
            ["id", "subject", "assigned_agent"], [[ticket.pk, "Printer fixed", ticket.assigned_agent_id]]
        )

        with CaptureQueriesContext(connection) as queries:
            result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == []
        [update] = update_sql(queries, "models_core_ticket")
        written = set_clause(update)
        assert '"subject"' in written and '"updated_at"' in written
        for column in (
            "assigned_agent_id",
            "customer_id",
            "description",
            "status",
            "tags",
            "organization_id",
        ):
            assert f'"{column}"' not in written, written

    def test_editing_a_comment_of_a_trashed_author(self, trashed_people, org_admin):
        comment = trashed_people["comment"]
        data = exported_with(
            TicketCommentResource(user=org_admin), TicketComment.objects.all(), content="Edited"
        )

        result = import_confirm(TicketCommentResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [] and result.totals["update"] == 1
        comment = TicketComment.objects.get(pk=comment.pk)
        assert (comment.content, comment.author_id) == ("Edited", trashed_people["agent"].pk)

    def test_editing_an_article_of_a_trashed_author(self, trashed_people, org_admin):
        article = trashed_people["article"]
        data = csv_bytes(
            ["id", "title", "author"], [[article.pk, "Printer fires, revised", article.author_id]]
        )

        result = import_confirm(KnowledgeBaseArticleResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [] and result.totals["update"] == 1
        article = KnowledgeBaseArticle.objects.get(pk=article.pk)
        assert (article.title, article.author_id) == ("Printer fires, revised", trashed_people["agent"].pk)

    def test_a_second_row_of_the_same_file_is_checked_on_its_own(
        self, trashed_people, org_admin, organization
    ):
        """Left alone is per row: the same trashed agent newly set on another ticket is refused."""
        agent = trashed_people["agent"]
        other = TicketFactory(organization=organization, customer=CustomerFactory(organization=organization))
        data = csv_bytes(
            ["id", "subject", "assigned_agent"],
            [[trashed_people["ticket"].pk, "Kept", agent.pk], [other.pk, "Taken over", agent.pk]],
        )

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [
            (2, "assigned_agent", f"User {agent.pk} is in the trash: restore it first.")
        ]
        assert Ticket.objects.get(pk=other.pk).assigned_agent_id is None


class TestLinksBeingSet:
    def test_pointing_a_ticket_at_a_trashed_agent_is_refused(self, tenant, org_admin, organization):
        gone = UserFactory(organization=organization, role="agent")
        gone.soft_delete(user=org_admin)
        data = csv_bytes(["id", "assigned_agent"], [[tenant["ticket"].pk, gone.pk]])

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [
            (1, "assigned_agent", f"User {gone.pk} is in the trash: restore it first.")
        ]
        assert Ticket.objects.get(pk=tenant["ticket"].pk).assigned_agent_id == tenant["agent"].pk

    def test_pointing_a_ticket_at_another_organizations_agent_is_refused(
        self, trashed_people, org_admin, other_organization
    ):
        stranger = UserFactory(organization=other_organization, role="agent")
        data = csv_bytes(["id", "assigned_agent"], [[trashed_people["ticket"].pk, stranger.pk]])

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [
            (1, "assigned_agent", f"No user with id {stranger.pk} in Acme Support.")
        ]
        assert (
            Ticket.objects.get(pk=trashed_people["ticket"].pk).assigned_agent_id == trashed_people["agent"].pk
        )

    def test_moving_a_ticket_whose_agent_is_trashed_to_another_organization_is_refused(
        self, trashed_people, platform_superuser, other_organization
    ):
        """The agent rule reads the organization: a changed organization checks the kept agent again."""
        ticket = trashed_people["ticket"]
        customer = CustomerFactory(organization=other_organization)
        data = csv_bytes(
            ["id", "organization", "customer"], [[ticket.pk, other_organization.pk, customer.pk]]
        )

        result = import_confirm(TicketResource(user=platform_superuser), dataset_of(data))

        assert [(n, f) for n, f, _ in row_errors(result)] == [(1, "assigned_agent")]
        assert Ticket.objects.get(pk=ticket.pk).organization_id == trashed_people["organization"].pk

    def test_changing_the_customer_of_a_ticket_whose_agent_is_trashed(
        self, trashed_people, org_admin, organization
    ):
        """The agent rule does not read the customer: a new customer leaves the trashed agent alone."""
        ticket = trashed_people["ticket"]
        customer = CustomerFactory(organization=organization)
        data = csv_bytes(["id", "customer"], [[ticket.pk, customer.pk]])

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [] and result.totals["update"] == 1
        ticket = Ticket.objects.get(pk=ticket.pk)
        assert (ticket.customer_id, ticket.assigned_agent_id) == (customer.pk, trashed_people["agent"].pk)

    def test_an_internal_note_by_a_trashed_customer_is_refused(self, trashed_people, org_admin):
        """The internal-note rule reads the comment type: changing it checks the (trashed) author's role."""
        comment = trashed_people["comment"]
        comment.author_id = trashed_people["customer"].pk
        TicketComment.all_objects.filter(pk=comment.pk).update(author_id=comment.author_id)
        data = csv_bytes(["id", "comment_type"], [[comment.pk, "internal"]])

        result = import_confirm(TicketCommentResource(user=org_admin), dataset_of(data))

        assert [(n, f) for n, f, _ in row_errors(result)] == [(1, "comment_type")]
        assert TicketComment.objects.get(pk=comment.pk).comment_type == "public"


class TestThroughTheAdmin:
    def test_preview_and_confirm_of_a_ticket_whose_agent_is_trashed(self, client, org_admin, trashed_people):
        """The page flow a person uses: a preview without errors, then a confirm that writes and logs."""
        ticket = trashed_people["ticket"]
        client.force_login(org_admin)
        preview = upload(client, csv_bytes(["id", "subject"], [[ticket.pk, "Printer fixed"]]))
        assert preview.status_code == 200 and "confirm_form" in preview.context, preview.content.decode()[
            -2000:
        ]

        done = client.post(PROCESS_URL, confirm_data(preview))

        assert done.status_code == 302
        ticket = Ticket.objects.get(pk=ticket.pk)
        assert (ticket.subject, ticket.assigned_agent_id) == ("Printer fixed", trashed_people["agent"].pk)
        assert LogEntry.objects.filter(object_id=str(ticket.pk), action_flag=CHANGE).exists()

    def test_a_row_setting_a_trashed_agent_is_listed_with_its_message(
        self, client, org_admin, trashed_people
    ):
        agent = trashed_people["agent"]
        other = TicketFactory(
            organization=trashed_people["organization"],
            customer=CustomerFactory(organization=trashed_people["organization"]),
        )
        client.force_login(org_admin)
        response = upload(client, csv_bytes(["id", "assigned_agent"], [[other.pk, agent.pk]]))
        assert response.status_code == 200 and "confirm_form" not in response.context
        listed = re.findall(r'data-testid="import-row-error">(.*?)</li>', response.content.decode(), re.S)
        assert [" ".join(re.sub(r"<[^>]+>", "", item).split()) for item in listed] == [
            f"Row 1 · assigned_agent: User {agent.pk} is in the trash: restore it first."
        ]
