"""The resources' row rules: round trips, full_clean, trashed ids, other organizations, scoped exports."""

import pytest

from dashboard import formats
from dashboard.dataio.resources import (
    KnowledgeBaseArticleResource,
    OrganizationResource,
    TicketCommentResource,
    TicketResource,
    UserResource,
)
from dashboard.dataio.services import import_confirm
from models_core.models import KnowledgeBaseArticle, Organization, Ticket, TicketComment, User
from tests.dashboard.dataio.conftest import csv_bytes, dataset_of, json_bytes
from tests.factories import CustomerFactory, TicketFactory

pytestmark = pytest.mark.django_db

RESOURCES = {
    "organization": (OrganizationResource, Organization),
    "user": (UserResource, User),
    "ticket": (TicketResource, Ticket),
    "comment": (TicketCommentResource, TicketComment),
    "article": (KnowledgeBaseArticleResource, KnowledgeBaseArticle),
}


def snapshot(model):
    return sorted(model.all_objects.values_list(), key=lambda row: row[0])


def row_errors(result) -> list[tuple[int, str, str]]:
    """(row number, column, message) of every validation error of an import result."""
    errors = []
    for row in result.invalid_rows:
        for field, messages in row.error_dict.items():
            errors.extend((row.number, field, message) for message in messages)
    return errors


@pytest.mark.parametrize(
    "file_format", [formats.CSV, formats.XLSX, formats.JSON], ids=["csv", "xlsx", "json"]
)
@pytest.mark.parametrize("key", list(RESOURCES))
def test_round_trip_changes_nothing(key, file_format, tenant, org_admin):
    resource_class, model = RESOURCES[key]
    before = snapshot(model)
    exported = resource_class(user=org_admin).export(queryset=model.objects.all())
    assert len(exported) >= 1
    data = file_format().export_data(exported)

    result = import_confirm(resource_class(user=org_admin), dataset_of(data, file_format))

    assert not result.has_errors() and not result.has_validation_errors(), row_errors(result)
    assert result.totals["new"] == 0 and result.totals["update"] == 0
    assert result.totals["skip"] == len(exported)
    assert snapshot(model) == before


def test_export_values_are_exact(tenant, org_admin):
    dataset = TicketResource(user=org_admin).export(queryset=Ticket.objects.all())
    row = dict(zip(dataset.headers, dataset[0], strict=True))
    ticket = tenant["ticket"]
    assert str(row["id"]) == str(ticket.pk)
    assert str(row["organization"]) == str(ticket.organization_id)
    assert str(row["customer"]) == str(ticket.customer_id)
    assert row["tags"] == '["printer", "fire"]'
    assert row["created_at"] == ticket.created_at.isoformat(sep=" ")
    for column in ("deleted_at", "deletion_batch", "is_active", "auto_delete_at"):
        assert column not in dataset.headers


def test_new_rows_are_created_and_validated(tenant, org_admin):
    customer = tenant["customer"]
    data = csv_bytes(
        ["subject", "customer", "priority", "customer_satisfaction_score"],
        [["Printer jam", customer.pk, "high", ""], ["Bad score", customer.pk, "low", "9"]],
    )
    result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

    assert row_errors(result) == [
        (2, "customer_satisfaction_score", "Ensure this value is less than or equal to 5.")
    ]
    assert not Ticket.objects.filter(subject="Printer jam").exists()  # one bad row: nothing written


def test_valid_file_is_written_with_defaults(tenant, org_admin):
    customer = tenant["customer"]
    data = csv_bytes(["subject", "customer"], [["Printer jam", customer.pk]])
    result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

    assert result.totals["new"] == 1, row_errors(result)
    ticket = Ticket.objects.get(subject="Printer jam")
    assert ticket.organization == tenant["organization"]  # the org-bound user's organization by default
    assert ticket.ticket_number == tenant["ticket"].ticket_number + 1  # from the counter, as in the admin


def test_choice_and_constraint_errors_name_row_and_column(tenant, org_admin):
    ticket = tenant["ticket"]
    data = csv_bytes(
        ["id", "status", "priority"], [[ticket.pk, "open", "urgent"], [ticket.pk, "melted", "low"]]
    )
    result = import_confirm(TicketResource(user=org_admin), dataset_of(data))
    assert row_errors(result) == [(2, "status", "Value 'melted' is not a valid choice.")]
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW  # row 1 was valid but the file was not


def test_unique_clash_inside_one_file_is_a_row_error(tenant, org_admin):
    data = csv_bytes(["title", "slug"], [["One", "same-slug"], ["Two", "same-slug"]])
    result = import_confirm(KnowledgeBaseArticleResource(user=org_admin), dataset_of(data))
    assert row_errors(result) == [(2, "slug", "This organization already has an article with this slug.")]
    assert not KnowledgeBaseArticle.objects.filter(slug="same-slug").exists()


def test_bad_values_are_row_errors_not_crashes(tenant, org_admin):
    ticket = tenant["ticket"]
    data = csv_bytes(
        ["id", "customer", "tags", "resolved_at"],
        [["abc", "", "", ""], [ticket.pk, "x1", "[oops", "yesterday"]],
    )
    result = import_confirm(TicketResource(user=org_admin), dataset_of(data))
    assert not result.has_errors()
    errors = row_errors(result)
    assert (1, "id", "“abc” is not an id (a whole number).") in errors
    assert {(n, f) for n, f, _ in errors} >= {(2, "customer"), (2, "tags"), (2, "resolved_at")}


class TestTrashedIds:
    def test_update_of_trashed_record_is_refused(self, tenant, org_admin):
        ticket = tenant["ticket"]
        ticket.soft_delete(user=org_admin, reason="duplicate")
        data = csv_bytes(["id", "subject"], [[ticket.pk, "Revived?"]])

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert row_errors(result) == [
            (
                1,
                "id",
                f"Ticket {ticket.pk} is in the trash: restore it first. "
                "An import never brings records back from the trash.",
            )
        ]
        ticket.refresh_from_db()
        assert ticket.is_deleted and ticket.subject != "Revived?"

    def test_full_row_with_trashed_id_neither_revives_nor_collides(self, tenant, org_admin):
        exported = TicketResource(user=org_admin).export(queryset=Ticket.objects.all())
        tenant["ticket"].soft_delete(user=org_admin)
        data = formats.CSV().export_data(exported).encode()

        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))

        assert [(n, f) for n, f, _ in row_errors(result)] == [(1, "id")]
        assert Ticket.objects.count() == 0
        assert Ticket.all_objects.count() == 1

    def test_foreign_key_to_trashed_record(self, tenant, org_admin):
        other_customer = CustomerFactory(organization=tenant["organization"])
        other_customer.soft_delete(user=org_admin)
        data = csv_bytes(["id", "customer"], [[tenant["ticket"].pk, other_customer.pk]])
        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))
        assert row_errors(result) == [
            (1, "customer", f"User {other_customer.pk} is in the trash: restore it first.")
        ]

    def test_unchanged_foreign_key_to_trashed_record_round_trips(self, tenant, org_admin):
        exported = TicketResource(user=org_admin).export(queryset=Ticket.objects.all())
        tenant["customer"].soft_delete(user=org_admin)
        result = import_confirm(
            TicketResource(user=org_admin), dataset_of(formats.CSV().export_data(exported).encode())
        )
        assert not result.has_validation_errors(), row_errors(result)
        assert result.totals["skip"] == 1


class TestOrganizations:
    def test_rows_naming_another_organization_are_refused(self, tenant, org_admin, other_organization):
        data = csv_bytes(
            ["organization", "subject", "customer"],
            [[other_organization.pk, "Not yours", tenant["customer"].pk]],
        )
        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))
        assert row_errors(result) == [
            (
                1,
                "organization",
                f"Organization {other_organization.pk} is not yours: you may import rows of “Acme Support” "
                f"(id {tenant['organization'].pk}) only.",
            )
        ]
        assert not Ticket.objects.filter(subject="Not yours").exists()

    def test_ids_of_another_organizations_records_are_refused(self, tenant, org_admin, other_organization):
        foreign = TicketFactory(organization=other_organization)
        data = csv_bytes(["id", "subject"], [[foreign.pk, "Hijacked"]])
        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))
        assert row_errors(result) == [
            (1, "id", f"No ticket with id {foreign.pk} in Acme Support. Leave id empty to create a new one.")
        ]
        foreign.refresh_from_db()
        assert foreign.subject != "Hijacked"

    def test_foreign_keys_resolve_within_the_organization(self, tenant, org_admin, other_organization):
        stranger = CustomerFactory(organization=other_organization)
        data = csv_bytes(["subject", "customer"], [["Cross-tenant", stranger.pk]])
        result = import_confirm(TicketResource(user=org_admin), dataset_of(data))
        assert row_errors(result) == [(1, "customer", f"No user with id {stranger.pk} in Acme Support.")]

    def test_comment_on_another_organizations_ticket_is_refused(self, tenant, org_admin, other_organization):
        foreign = TicketFactory(organization=other_organization)
        data = csv_bytes(["ticket", "content"], [[foreign.pk, "Hello from Acme"]])
        result = import_confirm(TicketCommentResource(user=org_admin), dataset_of(data))
        assert [(n, f) for n, f, _ in row_errors(result)] == [(1, "ticket")]

    def test_bound_users_cannot_create_organizations(self, tenant, org_admin):
        data = csv_bytes(["name", "slug"], [["Initech", "initech"]])
        result = import_confirm(OrganizationResource(user=org_admin), dataset_of(data))
        assert [(n, f) for n, f, _ in row_errors(result)] == [(1, "__all__")]
        assert not Organization.objects.filter(slug="initech").exists()

    def test_platform_staff_import_across_organizations(self, tenant, platform_superuser, other_organization):
        stranger = CustomerFactory(organization=other_organization)
        data = json_bytes(
            [{"organization": other_organization.pk, "subject": "Globex's", "customer": stranger.pk}]
        )
        result = import_confirm(TicketResource(user=platform_superuser), dataset_of(data, formats.JSON))
        assert result.totals["new"] == 1, row_errors(result)
        assert Ticket.objects.get(subject="Globex's").organization == other_organization

    def test_user_import_keeps_bound_users_in_their_organization(self, tenant, org_admin):
        data = csv_bytes(["username", "organization", "role"], [["new.agent", "", "agent"]])
        result = import_confirm(UserResource(user=org_admin), dataset_of(data))
        assert result.totals["new"] == 1, row_errors(result)
        user = User.objects.get(username="new.agent")
        assert user.organization == tenant["organization"]
        assert not user.has_usable_password()


class TestExportScope:
    def test_export_is_scoped_and_live_even_when_handed_everything(
        self, tenant, org_admin, other_organization
    ):
        TicketFactory(organization=other_organization)
        trashed = TicketFactory(organization=tenant["organization"], customer=tenant["customer"])
        trashed.soft_delete(user=org_admin)
        dataset = TicketResource(user=org_admin).export(queryset=Ticket.all_objects.all())
        assert [row[0] for row in dataset] == [str(tenant["ticket"].pk)]

    def test_no_user_exports_nothing(self, tenant):
        assert len(TicketResource().export(queryset=Ticket.objects.all())) == 0

    def test_export_query_count_does_not_grow_with_rows(
        self, tenant, org_admin, django_assert_max_num_queries
    ):
        for _ in range(20):
            TicketFactory(organization=tenant["organization"], customer=tenant["customer"])
        with django_assert_max_num_queries(2):
            dataset = TicketResource(user=org_admin).export(queryset=Ticket.objects.all())
        assert len(dataset) == 21
