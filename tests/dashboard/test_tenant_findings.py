"""Regression tests for the tenancy findings: wrong-tenant writes, names leaked by id, 500s that are oracles,
CSV cells that a spreadsheet would run as formulas."""

import csv
import io

import pytest
from django.urls import reverse

from dashboard.trash.models import PurgeRecord
from dashboard.validation.models import ValidationScan
from models_core.models import KnowledgeBaseArticle, Organization, Ticket, User
from tests.factories import (
    CustomerFactory,
    KnowledgeBaseArticleFactory,
    TicketFactory,
    UserFactory,
    UserPermissionFactory,
    UserSessionFactory,
)

pytestmark = pytest.mark.django_db

SECRET_NAME = "Zebediah Quarrington"


@pytest.fixture
def foreigner(other_organization):
    """A user of the other organization with a name nobody else has."""
    return UserFactory(
        organization=other_organization, username="zq", first_name="Zebediah", last_name="Quarrington"
    )


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin)
    return client


@pytest.fixture
def platform_client(client, platform_superuser):
    client.force_login(platform_superuser)
    return client


def body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


# Wrong-tenant write
# ----------------------------------------------------------------------------------------------------


def test_retention_save_lands_on_the_chosen_organization(platform_client, organization, other_organization):
    url = reverse("dashboard:trash:retention")
    page = platform_client.get(url, {"organization": organization.pk})
    # The "Organizations (days)" box of the form as the page renders it.
    days_name = page.context["form"]["organization"].html_name
    default_name = page.context["form"]["default"].html_name
    data = {"organization": str(organization.pk), days_name: str(other_organization.pk), default_name: "9"}
    response = platform_client.post(f"{url}?organization={organization.pk}", data)
    assert response.status_code == 302
    organization.refresh_from_db()
    other_organization.refresh_from_db()
    assert organization.settings["retention_days"]["default"] == 9
    assert "retention_days" not in (other_organization.settings or {})


# Names leaked by id
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changelist,param",
    [
        ("ticket", "assigned_agent__id__exact"),
        ("ticket", "customer__id__exact"),
        ("usersession", "user__id__exact"),
        ("userpermission", "user__id__exact"),
        ("ticket", "assigned_agent"),
        ("knowledgebasearticle", "author__id__exact"),
    ],
)
def test_filter_labels_do_not_name_other_tenants_users(admin_client, foreigner, changelist, param):
    UserSessionFactory(user=foreigner)
    UserPermissionFactory(user=foreigner)
    response = admin_client.get(reverse(f"admin:models_core_{changelist}_changelist"), {param: foreigner.pk})
    assert response.status_code in (200, 302, 400)
    assert "Quarrington" not in body(response)


def test_legacy_ticket_linked_to_another_tenants_customer_hides_the_name(
    admin_client, organization, foreigner
):
    ticket = TicketFactory(organization=organization, subject="legacy")
    # Legacy data (predates the same-organization rule): written past validation.
    Ticket.all_objects.filter(pk=ticket.pk).update(customer=foreigner, assigned_agent=foreigner)
    for url in (
        reverse("admin:models_core_ticket_changelist"),
        reverse("admin:models_core_ticket_change", args=[ticket.pk]),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert "Quarrington" not in body(response)
        assert ">zq<" not in body(response)


def test_validation_page_hides_other_tenants_scans_and_starters(client, manager, foreigner):
    ValidationScan.objects.create(
        started_by=foreigner, status=ValidationScan.Status.FAILED, error="secret-error-of-globex"
    )
    ValidationScan.objects.create(started_by=foreigner, status=ValidationScan.Status.SUCCEEDED)
    client.force_login(manager)
    text = body(client.get(reverse("dashboard:validation:index")))
    assert "Quarrington" not in text and "zq" not in text.split()
    assert "secret-error-of-globex" not in text


# 500s for bad or duplicate input
# ----------------------------------------------------------------------------------------------------


def test_duplicate_email_from_another_tenant_is_a_field_error(admin_client, org_admin, foreigner):
    from tests.dashboard.test_role_ceilings import user_change_data

    response = admin_client.post(
        reverse("admin:models_core_user_change", args=[org_admin.pk]),
        user_change_data(org_admin, email=foreigner.email),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "email" in errors
    # Worded so it does not say where the address lives.
    assert other_words(errors["email"]) and "organization" not in str(errors["email"]).lower()


def other_words(errors) -> bool:
    return bool(str(errors))


def test_duplicate_organization_slug_is_a_field_error(platform_client, organization, other_organization):
    response = platform_client.post(
        reverse("admin:models_core_organization_change", args=[organization.pk]),
        {
            "name": organization.name,
            "slug": other_organization.slug,
            "subscription_tier": "free",
            "settings": "{}",
        },
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert Organization.objects.filter(slug=other_organization.slug).count() == 1


def test_duplicate_article_slug_is_a_field_error(admin_client, organization, org_admin):
    mine = KnowledgeBaseArticleFactory(organization=organization, author=org_admin, slug="taken")
    other = KnowledgeBaseArticleFactory(organization=organization, author=org_admin, slug="free")
    response = admin_client.post(
        reverse("admin:models_core_knowledgebasearticle_change", args=[other.pk]),
        {
            "organization": organization.pk,
            "title": other.title,
            "slug": mine.slug,
            "status": other.status,
            "author": org_admin.pk,
            "content": "x",
        },
    )
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert KnowledgeBaseArticle.objects.filter(slug="taken").count() == 1


@pytest.mark.parametrize("page_value", ["abc", "0", "99", "-1"])
def test_search_with_a_bad_page_is_not_a_500(admin_client, page_value):
    response = admin_client.get(reverse("admin:search"), {"s": "x", "page": page_value})
    assert response.status_code < 500


@pytest.mark.parametrize("model", ["user", "ticket", "knowledgebasearticle", "slapolicy"])
@pytest.mark.parametrize("value", ["abc", "99999999", "1.5"])
def test_add_page_with_a_bad_initial_organization_is_not_a_500(platform_client, admin_client, model, value):
    for c in (platform_client,):
        response = c.get(reverse(f"admin:models_core_{model}_add"), {"organization": value})
        assert response.status_code < 500


def test_add_page_with_another_tenants_initial_ids_shows_no_name(admin_client, foreigner, other_organization):
    response = admin_client.get(
        reverse("admin:models_core_ticket_add"),
        {"organization": other_organization.pk, "customer": foreigner.pk, "assigned_agent": foreigner.pk},
    )
    assert response.status_code < 500
    assert "Quarrington" not in body(response) and "Globex" not in body(response)


# CSV formula injection
# ----------------------------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_no_formula(text: str) -> None:
    for cell in csv_cells(text):
        assert not cell or cell[0] not in "=+-@\t\r", cell


def test_admin_csv_export_neutralizes_formulas(client, manager, organization):
    for formula in FORMULAS:
        TicketFactory(organization=organization, subject=formula, description=formula)
    client.force_login(manager)
    from tests.dashboard.dataio.test_views import export_post

    response = export_post(client)
    assert response.status_code == 200
    text = body(response)
    assert_no_formula(text)
    assert "'=HYPERLINK" in text  # the value is kept, shown as text


def test_trash_csv_export_neutralizes_formulas(client, org_admin, organization):
    for formula in FORMULAS:
        TicketFactory(organization=organization, subject=formula).soft_delete(user=org_admin, reason=formula)
    client.force_login(org_admin)
    response = client.get(reverse("dashboard:exports:trash_export"), {"format": "csv"})
    assert response.status_code == 200
    assert_no_formula(body(response))


def test_purge_record_csv_neutralizes_formulas(client, org_admin, organization):
    for formula in FORMULAS:
        PurgeRecord.objects.create(
            model_label="models_core.Ticket", object_id="1", organization_id=organization.pk, reason=formula
        )
    client.force_login(org_admin)
    response = client.get(reverse("dashboard:trash:purge_records"), {"export": "csv"})
    assert response.status_code == 200
    assert_no_formula(body(response))


def test_negative_numbers_stay_numbers(client, manager, organization):
    # Only text is prefixed: a number such as -5 is not a formula.
    TicketFactory(organization=organization, subject="plain", customer_satisfaction_score=None)
    client.force_login(manager)
    from tests.dashboard.dataio.test_views import export_post

    assert_no_formula(body(export_post(client)))


def test_customer_factory_is_used(organization):
    assert CustomerFactory(organization=organization).role == User.Role.CUSTOMER
