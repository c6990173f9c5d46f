"""Role ceilings: nobody grants more than they hold, whatever the form or the replayed POST says.

An organization-bound user never sets or clears an organization, superuser, staff flag or group beyond
their own; never creates, trashes or purges an organization; never changes platform-wide state.
"""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from dashboard.hooks.models import HookStat
from dashboard.hooks.services import hook_stats_reset
from dashboard.trash import retention
from dashboard.trash import services as trash_services
from models_core.models import Organization, User
from tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def admin_url(model, action: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{action}", args=args)


def user_change_data(user: User, **overrides) -> dict:
    """What the user change form posts for `user` unchanged (the fields an org-bound Admin is shown)."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "organization": user.organization_id or "",
        "role": user.role,
        "availability_status": user.availability_status,
        "max_concurrent_tickets": user.max_concurrent_tickets,
        "customer_tier": user.customer_tier or "",
        "skills": "[]",
        "certifications": "[]",
        "is_active": "on",
        "last_active_at_0": "",
        "last_active_at_1": "",
        "date_joined_0": "2025-01-01",
        "date_joined_1": "00:00:00",
    }
    if user.is_staff:
        data["is_staff"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def colleague(organization):
    return UserFactory(organization=organization, username="colleague", is_staff=True)


@pytest.fixture
def admin_client(client, org_admin):
    client.force_login(org_admin)
    return client


# Users: organization, staff, superuser, groups
# ----------------------------------------------------------------------------------------------------


def test_org_admin_cannot_clear_a_users_organization(admin_client, colleague, organization):
    response = admin_client.post(
        admin_url(User, "change", colleague.pk), user_change_data(colleague, organization="")
    )
    assert response.status_code in (200, 302, 403)
    colleague.refresh_from_db()
    assert colleague.organization_id == organization.pk


def test_org_admin_cannot_clear_their_own_organization(admin_client, org_admin, organization):
    admin_client.post(admin_url(User, "change", org_admin.pk), user_change_data(org_admin, organization=""))
    org_admin.refresh_from_db()
    assert org_admin.organization_id == organization.pk


def test_org_admin_cannot_move_a_user_to_another_organization(admin_client, colleague, other_organization):
    admin_client.post(
        admin_url(User, "change", colleague.pk),
        user_change_data(colleague, organization=other_organization.pk),
    )
    colleague.refresh_from_db()
    assert colleague.organization_id != other_organization.pk


def test_org_admin_cannot_make_a_superuser_or_hand_out_staff(admin_client, organization):
    customer = UserFactory(organization=organization, username="cust", role=User.Role.CUSTOMER)
    admin_client.post(
        admin_url(User, "change", customer.pk),
        user_change_data(customer, is_superuser="on", is_staff="on"),
    )
    customer.refresh_from_db()
    assert not customer.is_superuser
    assert not customer.is_staff


def test_org_admin_cannot_clear_the_staff_flag_either(admin_client, colleague):
    data = user_change_data(colleague)
    del data["is_staff"]
    admin_client.post(admin_url(User, "change", colleague.pk), data)
    colleague.refresh_from_db()
    assert colleague.is_staff


def test_org_admin_grants_only_groups_they_hold(admin_client, colleague, staff_groups):
    dbas, admins = staff_groups["DBAs"], staff_groups["Admins"]
    admin_client.post(
        admin_url(User, "change", colleague.pk), user_change_data(colleague, groups=[dbas.pk, admins.pk])
    )
    assert set(colleague.groups.values_list("name", flat=True)) <= {"Admins"}
    assert not colleague.groups.filter(pk=dbas.pk).exists()


def test_org_admin_does_not_strip_groups_they_do_not_hold(admin_client, colleague, staff_groups):
    colleague.groups.add(staff_groups["DBAs"])
    admin_client.post(admin_url(User, "change", colleague.pk), user_change_data(colleague, groups=[]))
    assert colleague.groups.filter(name="DBAs").exists()


def test_org_admin_creates_users_only_in_their_organization(admin_client, organization, other_organization):
    for org_value in ("", other_organization.pk):
        name = f"new{org_value or 'none'}"
        admin_client.post(
            admin_url(User, "add"),
            {
                "username": name,
                "email": f"{name}@example.com",
                "organization": org_value,
                "role": User.Role.AGENT,
                "usable_password": "false",
            },
        )
        created = User.objects.filter(username=name).first()
        assert created is None or created.organization_id == organization.pk


def test_the_ceiling_holds_in_the_form_even_with_every_field_shown(rf, org_admin, colleague):
    # Hidden or read-only fields are not the rule: the form class itself, with every field in it, refuses.
    from django.contrib import admin

    request = rf.post("/")
    request.user = org_admin
    form_class = admin.site._registry[User].get_form(request, colleague, fields=None)
    form_class.base_fields.keys()
    full = type("Full", (form_class,), {})
    full._meta.fields = "__all__"
    form = full(user_change_data(colleague, organization="", is_superuser="on"), instance=colleague)
    if form.is_valid():
        saved = form.save()
        assert saved.organization_id == colleague.organization_id and not saved.is_superuser


# Organizations
# ----------------------------------------------------------------------------------------------------


def test_org_admin_cannot_create_an_organization(admin_client):
    page = admin_client.get(admin_url(Organization, "add"))
    assert page.status_code == 403
    admin_client.post(admin_url(Organization, "add"), {"name": "Evil Corp", "slug": "evil", "settings": "{}"})
    assert not Organization.all_objects.filter(slug="evil").exists()


def test_org_admin_cannot_trash_their_own_organization(admin_client, organization):
    url = admin_url(Organization, "delete", organization.pk)
    assert admin_client.get(url).status_code == 403
    admin_client.post(url, {"post": "yes", "reason": "bye"})
    organization.refresh_from_db()
    assert not organization.is_deleted
    # The bulk action is not offered nor accepted either.
    admin_client.post(
        admin_url(Organization, "changelist"),
        {"action": "delete_selected", "_selected_action": [organization.pk], "post": "yes", "reason": "x"},
    )
    organization.refresh_from_db()
    assert not organization.is_deleted


def test_the_trash_service_refuses_an_org_bound_soft_delete_of_an_organization(org_admin, organization):
    with pytest.raises(PermissionDenied):
        trash_services.trash_soft_delete(org_admin, Organization.objects.filter(pk=organization.pk), "bye")
    organization.refresh_from_db()
    assert not organization.is_deleted


def test_the_trash_service_refuses_an_org_bound_purge_of_an_organization(org_admin, platform_superuser):
    # Even an organization the service would otherwise reach (here: a trashed one, handed in directly).
    victim = OrganizationFactory(name="Victim")
    victim.soft_delete(user=platform_superuser, reason="test")
    with pytest.raises(PermissionDenied):
        trash_services.trash_purge(org_admin, [Organization.all_objects.get(pk=victim.pk)])
    assert Organization.all_objects.filter(pk=victim.pk).exists()


# Platform-wide state
# ----------------------------------------------------------------------------------------------------


@pytest.fixture
def hook_stat(db):
    return HookStat.objects.create(
        key="k", model_label="models_core.Ticket", hook_type="before_save", name="h", calls=7
    )


def test_org_admin_cannot_reset_hook_statistics(admin_client, org_admin, hook_stat):
    response = admin_client.post(reverse("dashboard:hooks:reset"), {"key": ""})
    assert response.status_code == 403
    hook_stat.refresh_from_db()
    assert hook_stat.calls == 7
    with pytest.raises(PermissionDenied):
        hook_stats_reset(org_admin, None)
    hook_stat.refresh_from_db()
    assert hook_stat.calls == 7


def test_platform_staff_still_reset_hook_statistics(client, dba, hook_stat):
    client.force_login(dba)
    assert client.post(reverse("dashboard:hooks:reset"), {"key": ""}).status_code == 302
    assert not HookStat.objects.filter(pk=hook_stat.pk, calls=7).exists()


def test_retention_service_refuses_another_organization(org_admin, other_organization):
    with pytest.raises(PermissionDenied):
        retention.retention_policy_update(org_admin, other_organization, {"default": 1})
    other_organization.refresh_from_db()
    assert "retention_days" not in (other_organization.settings or {})


def test_groups_admin_is_platform_only(admin_client, org_admin, staff_groups):
    # Editing a group's permissions is editing every holder's rights across tenants.
    assert admin_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_an_import_by_an_org_admin_hands_out_no_staff_access(org_admin, organization):
    from dashboard.dataio.resources import UserResource
    from dashboard.dataio.services import import_confirm
    from tests.dashboard.dataio.conftest import csv_bytes, dataset_of
    from tests.dashboard.dataio.test_resources import row_errors

    customer = UserFactory(organization=organization, username="cust", role=User.Role.CUSTOMER)
    data = csv_bytes(["id", "username", "is_staff"], [[customer.pk, "cust", "1"]])
    result = import_confirm(UserResource(user=org_admin), dataset_of(data))
    assert [(n, column) for n, column, _ in row_errors(result)] == [(1, "is_staff")]
    new = csv_bytes(["username", "is_staff"], [["newstaff", "1"]])
    result = import_confirm(UserResource(user=org_admin), dataset_of(new))
    assert [(n, column) for n, column, _ in row_errors(result)] == [(1, "is_staff")]
    customer.refresh_from_db()
    assert not customer.is_staff and not User.objects.filter(username="newstaff").exists()
